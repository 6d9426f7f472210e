import * as fs from 'node:fs';
import * as path from 'node:path';
import type { StackComponent } from '../component';
import { ensureJavaAndMaven, installDirectoryOnce, mavenCopyDependencies, runCommand } from '../installers';
import { kafkaAnswers } from '../probes';
import { commandLineSafeToken, ensureKafkaTlsMaterial, kafkaTlsProperties } from './kafka-tls';
import { StackError } from '../stack-error';
import { KAFKA_SCALA_VERSION, KAFKA_VERSION, type StackSettings } from '../settings';

/** JVM flags that keep start-up cheap on a 2-core machine. */
export const SMALL_JVM_FLAGS = ['-Xmx512m', '-XX:+UseSerialGC', '-XX:TieredStopAtLevel=1', '-Djava.awt.headless=true'];

/**
 * The broker's flags. 'quick' stops the JIT at C1: start-up is cheap, but the broker then spends
 * about 1.5x the CPU per request of C2 code (bound bench: 0.25-0.28 against 0.15-0.20 cores over a run).
 * 'full' keeps the JVM's tiered default, as Kafka's own image runs it: for benchmarks.
 */
export function brokerJvmFlags(jit: StackSettings['kafkaJit']): string[] {
  return jit === 'full' ? SMALL_JVM_FLAGS.filter((flag) => !flag.startsWith('-XX:TieredStopAtLevel')) : [...SMALL_JVM_FLAGS];
}

/** Apache Kafka in KRaft mode, one process acting as broker and controller. */
export function kafkaComponent(settings: StackSettings): StackComponent {
  const { kafka: port, kafkaController: controllerPort } = settings.ports;
  const homeDir = path.join(settings.stackDir, 'kafka');
  const installDir = path.join(settings.cacheDir, `kafka_${KAFKA_SCALA_VERSION}-${KAFKA_VERSION}`);
  const libsDir = path.join(installDir, 'libs');
  const dataDir = path.join(homeDir, 'data');
  const logsDir = path.join(homeDir, 'logs');
  const configFile = path.join(homeDir, 'server.properties');
  const log4jFile = path.join(homeDir, 'log4j.properties');
  const java = path.join(settings.javaHome, 'bin', 'java');
  const address = `127.0.0.1:${port}`;
  const sasl = settings.kafkaSasl;
  // Opt-in SASL/SCRAM listener: clients authenticate there; the stack's own tools keep the plaintext one.
  const tls = settings.kafkaTls;
  // Opt-in TLS listeners (SSL, and SASL_SSL with the same SCRAM user); their keystores are made at launch.
  const tlsListeners = tls ? `,SSL://127.0.0.1:${tls.port}${tls.saslPort ? `,SASL_SSL://127.0.0.1:${tls.saslPort}` : ''}` : '';
  const extraListeners = (sasl ? `,SASL_PLAINTEXT://127.0.0.1:${sasl.port}` : '') + tlsListeners;
  const saslProperties = sasl
    ? `sasl.enabled.mechanisms=SCRAM-SHA-256,SCRAM-SHA-512
listener.name.sasl_plaintext.scram-sha-256.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required;
listener.name.sasl_plaintext.scram-sha-512.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required;
`
    : '';

  const serverProperties = `# Written by dg stack up on every start; edit services/local-stack/components/kafka.ts instead.
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:${controllerPort}
listeners=PLAINTEXT://127.0.0.1:${port},CONTROLLER://127.0.0.1:${controllerPort}${extraListeners}
advertised.listeners=PLAINTEXT://127.0.0.1:${port}${extraListeners}
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT${sasl ? ',SASL_PLAINTEXT:SASL_PLAINTEXT' : ''}${tls ? `,SSL:SSL${tls.saslPort ? ',SASL_SSL:SASL_SSL' : ''}` : ''}
${saslProperties}log.dirs=${dataDir}
num.partitions=1
default.replication.factor=1
min.insync.replicas=1
offsets.topic.replication.factor=1
offsets.topic.num.partitions=4
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
transaction.state.log.num.partitions=4
group.initial.rebalance.delay.ms=0
auto.create.topics.enable=false
delete.topic.enable=true
log.retention.hours=168
log.segment.bytes=67108864
`;

  const log4jProperties = `log4j.rootLogger=INFO, server
log4j.appender.server=org.apache.log4j.RollingFileAppender
log4j.appender.server.File=${path.join(logsDir, 'server.log')}
log4j.appender.server.MaxFileSize=20MB
log4j.appender.server.MaxBackupIndex=2
log4j.appender.server.layout=org.apache.log4j.PatternLayout
log4j.appender.server.layout.ConversionPattern=[%d] %p %m (%c)%n
log4j.logger.kafka.request.logger=WARN
log4j.logger.org.apache.kafka.controller=INFO
log4j.logger.state.change.logger=WARN
`;

  const classpath = `${libsDir}/*`;

  async function formatStorageOnce(log: (line: string) => void): Promise<void> {
    if (fs.existsSync(path.join(dataDir, 'meta.properties'))) return;
    const clusterId = commandLineSafeToken(16);
    log(`kafka: formatting storage (cluster id ${clusterId})`);
    const result = await runCommand(java, [
      ...SMALL_JVM_FLAGS,
      `-Dlog4j.configuration=file:${log4jFile}`,
      '-cp',
      classpath,
      'kafka.tools.StorageTool',
      'format',
      '-t',
      clusterId,
      '-c',
      configFile,
    ]);
    if (result.code !== 0) throw new StackError(`kafka storage format failed:\n${result.output.trimEnd()}`);
  }

  return {
    name: 'kafka',
    address,
    ports: [port, controllerPort, ...(sasl ? [sasl.port] : []), ...(tls ? [tls.port, ...(tls.saslPort ? [tls.saslPort] : [])] : [])],
    homeDir,
    logFiles: [path.join(logsDir, 'server.log'), path.join(logsDir, 'kafka.out')],
    async install(log) {
      if (fs.existsSync(libsDir)) return;
      await ensureJavaAndMaven(settings.javaHome, log);
      const installed = await installDirectoryOnce(installDir, async (scratch) => {
        log(`kafka: downloading kafka_${KAFKA_SCALA_VERSION} ${KAFKA_VERSION} jars with Maven`);
        await mavenCopyDependencies(
          scratch,
          [
            { groupId: 'org.apache.kafka', artifactId: `kafka_${KAFKA_SCALA_VERSION}`, version: KAFKA_VERSION },
            // The broker POM carries no logging backend; 3.9.x logs through slf4j + reload4j.
            { groupId: 'ch.qos.reload4j', artifactId: 'reload4j', version: '1.2.25' },
            { groupId: 'org.slf4j', artifactId: 'slf4j-reload4j', version: '1.7.36' },
          ],
          path.join(scratch, 'libs'),
        );
      });
      if (installed) log(`kafka: installed into ${installDir}`);
    },
    async prepareLaunch(log) {
      fs.mkdirSync(dataDir, { recursive: true });
      fs.mkdirSync(logsDir, { recursive: true });
      const tlsProperties = tls ? kafkaTlsProperties(await ensureKafkaTlsMaterial(settings, log), tls.saslPort !== undefined) : '';
      fs.writeFileSync(configFile, serverProperties + tlsProperties);
      fs.writeFileSync(log4jFile, log4jProperties);
      await formatStorageOnce(log);
      return {
        command: java,
        args: [
          ...brokerJvmFlags(settings.kafkaJit),
          `-Dlog4j.configuration=file:${log4jFile}`,
          `-Dkafka.logs.dir=${logsDir}`,
          '-cp',
          classpath,
          'kafka.Kafka',
          configFile,
        ],
        cwd: homeDir,
        outFile: path.join(logsDir, 'kafka.out'),
      };
    },
    isReady: () => kafkaAnswers(address),
  };
}

/**
 * Creates (or updates) the SCRAM-SHA-256 and -512 credentials of the SASL listener's user through the
 * plaintext listener (kafka-configs; KRaft stores them in the metadata log). Idempotent. The password
 * is on the tool's command line for the moment it runs (local stack only) and never in its output.
 */
export async function ensureScramUser(settings: StackSettings, log: (line: string) => void): Promise<void> {
  const sasl = settings.kafkaSasl;
  if (!sasl) return;
  const installDir = path.join(settings.cacheDir, `kafka_${KAFKA_SCALA_VERSION}-${KAFKA_VERSION}`);
  const java = path.join(settings.javaHome, 'bin', 'java');
  // One mechanism per request: Kafka 3.9 rejects two credentials of one user in one request.
  for (const credential of [`SCRAM-SHA-256=[iterations=4096,password=${sasl.password}]`, `SCRAM-SHA-512=[password=${sasl.password}]`]) {
    const result = await runCommand(java, [
      ...SMALL_JVM_FLAGS,
      '-Dlog4j.configuration=file:/dev/null',
      '-cp',
      `${path.join(installDir, 'libs')}/*`,
      'kafka.admin.ConfigCommand',
      '--bootstrap-server',
      `127.0.0.1:${settings.ports.kafka}`,
      '--alter',
      '--add-config',
      credential,
      '--entity-type',
      'users',
      '--entity-name',
      sasl.username,
    ]);
    const output = result.output.split(sasl.password).join('<redacted>');
    if (result.code !== 0) throw new StackError(`kafka: creating SCRAM user ${sasl.username} failed:\n${output.trimEnd()}`);
  }
  log(`kafka: SCRAM user ${sasl.username} ready on SASL_PLAINTEXT 127.0.0.1:${sasl.port}`);
}
