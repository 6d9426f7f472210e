import { loadConfig } from '../core/config';
import { DEFAULT_PORTS, STACK_ENV_VARS, stackAddresses, stackSettingsFromEnv } from './settings';
import { brokerJvmFlags } from './components/kafka';
import { commandLineSafeToken } from './components/kafka-tls';

describe('stackSettingsFromEnv', () => {
  const root = '/repo';

  it('defaults to the project-local folders and the documented ports', () => {
    const settings = stackSettingsFromEnv({}, root);
    expect(settings.stackDir).toBe('/repo/.dg/stack');
    expect(settings.cacheDir).toBe('/repo/.dg/cache');
    expect(settings.ports).toEqual(DEFAULT_PORTS);
    expect(stackAddresses(settings)).toEqual({
      kafkaBrokers: '127.0.0.1:9092',
      schemaRegistryUrl: 'http://127.0.0.1:8081/apis/ccompat/v7',
      clickhouseUrl: 'http://127.0.0.1:8123',
    });
  });

  it('takes folders and ports from the environment', () => {
    const settings = stackSettingsFromEnv({ DG_STACK_DIR: '/tmp/s', KAFKA_PORT: '19092', SCHEMA_REGISTRY_PORT: '18081', DG_STACK_START_TIMEOUT_S: '5' }, root);
    expect(settings.stackDir).toBe('/tmp/s');
    expect(settings.ports.kafka).toBe(19092);
    expect(settings.startTimeoutMs).toBe(5000);
    expect(stackAddresses(settings).schemaRegistryUrl).toBe('http://127.0.0.1:18081/apis/ccompat/v7');
  });

  it("runs the broker's JIT stopped at C1 unless DG_STACK_KAFKA_JIT=full asks for the JVM's tiered default, and names a bad value", () => {
    expect(stackSettingsFromEnv({}, root).kafkaJit).toBe('quick');
    expect(brokerJvmFlags(stackSettingsFromEnv({}, root).kafkaJit)).toContain('-XX:TieredStopAtLevel=1');
    const full = brokerJvmFlags(stackSettingsFromEnv({ DG_STACK_KAFKA_JIT: 'full' }, root).kafkaJit);
    expect(full.some((flag) => flag.startsWith('-XX:TieredStopAtLevel'))).toBe(false);
    expect(full).toContain('-Xmx512m');
    expect(() => stackSettingsFromEnv({ DG_STACK_KAFKA_JIT: 'c2' }, root)).toThrow(/DG_STACK_KAFKA_JIT/);
  });

  it('draws cluster ids and store passwords that a tool cannot take for an option (no leading -), 16 bytes as base64url', () => {
    // Plain base64url starts with '-' once in 64 draws: 2,000 draws would almost surely show one.
    const tokens = Array.from({ length: 2_000 }, () => commandLineSafeToken(16));
    expect(tokens.filter((t) => t.startsWith('-'))).toEqual([]);
    for (const token of tokens.slice(0, 50)) expect(Buffer.from(token, 'base64url')).toHaveLength(16);
    expect(new Set(tokens).size).toBe(tokens.length);
  });

  it('names the variable of a bad port', () => {
    expect(() => stackSettingsFromEnv({ CLICKHOUSE_HTTP_PORT: 'http' }, root)).toThrow(/CLICKHOUSE_HTTP_PORT/);
    expect(() => stackSettingsFromEnv({ KAFKA_PORT: '70000' }, root)).toThrow(/KAFKA_PORT/);
  });

  it('refuses two components on one port', () => {
    expect(() => stackSettingsFromEnv({ CLICKHOUSE_TCP_PORT: '9092' }, root)).toThrow(/kafka and clickhouseTcp are both 9092/);
  });

  // Issue 6, defect 7: `KAFKA_PORT=19092 dg start` started a stack its roles never reached.
  it('gives the roles the addresses of a stack started on non-default ports, from the same environment', () => {
    const env = {
      KAFKA_PORT: '19092',
      KAFKA_CONTROLLER_PORT: '19093',
      SCHEMA_REGISTRY_PORT: '18081',
      CLICKHOUSE_HTTP_PORT: '18123',
      CLICKHOUSE_TCP_PORT: '19000',
    };
    const stack = stackAddresses(stackSettingsFromEnv(env, root));
    const roles = loadConfig(env);
    expect(roles.kafka.brokers).toEqual([stack.kafkaBrokers]);
    expect(roles.schemaRegistry.url).toBe(stack.schemaRegistryUrl);
    expect(roles.clickhouse.url).toBe(stack.clickhouseUrl);
    expect(stack).toEqual({
      kafkaBrokers: '127.0.0.1:19092',
      schemaRegistryUrl: 'http://127.0.0.1:18081/apis/ccompat/v7',
      clickhouseUrl: 'http://127.0.0.1:18123',
    });
  });

  it('lets explicit addresses win over the stack ports', () => {
    const roles = loadConfig({ KAFKA_PORT: '19092', KAFKA_BROKERS: 'kafka-0:9092' });
    expect(roles.kafka.brokers).toEqual(['kafka-0:9092']);
  });

  it('opens the TLS listeners only when asked, SASL_SSL only with the SCRAM user and the TLS listener', () => {
    expect(stackSettingsFromEnv({}, root).kafkaTls).toBeUndefined();
    expect(stackSettingsFromEnv({ DG_STACK_KAFKA_SSL_PORT: '19094' }, root).kafkaTls).toEqual({ port: 19094 });
    const sasl = { DG_STACK_KAFKA_SASL_PORT: '19095', DG_STACK_KAFKA_SASL_PASSWORD: 'password-1' };
    expect(stackSettingsFromEnv({ ...sasl, DG_STACK_KAFKA_SSL_PORT: '19094', DG_STACK_KAFKA_SASL_SSL_PORT: '19096' }, root).kafkaTls).toEqual({
      port: 19094,
      saslPort: 19096,
    });
    expect(() => stackSettingsFromEnv({ DG_STACK_KAFKA_SSL_PORT: '19094', DG_STACK_KAFKA_SASL_SSL_PORT: '19096' }, root)).toThrow(
      /DG_STACK_KAFKA_SASL_SSL_PORT needs .*DG_STACK_KAFKA_SASL_PORT/,
    );
    expect(() => stackSettingsFromEnv({ ...sasl, DG_STACK_KAFKA_SASL_SSL_PORT: '19096' }, root)).toThrow(
      /DG_STACK_KAFKA_SASL_SSL_PORT needs DG_STACK_KAFKA_SSL_PORT/,
    );
    expect(() => stackSettingsFromEnv({ DG_STACK_KAFKA_SSL_PORT: 'tls' }, root)).toThrow(/DG_STACK_KAFKA_SSL_PORT must be a port number/);
    expect(() => stackSettingsFromEnv({ DG_STACK_KAFKA_SSL_PORT: '9092' }, root)).toThrow(/kafkaSsl and kafka are both 9092/);
    expect(() => stackSettingsFromEnv({ ...sasl, DG_STACK_KAFKA_SSL_PORT: '19095' }, root)).toThrow(/kafkaSasl and kafkaSsl are both 19095/);
  });

  it('documents each variable with the default from the config table', () => {
    expect(STACK_ENV_VARS.KAFKA_PORT).toMatch(/default 9092\)$/);
    expect(STACK_ENV_VARS.DG_STACK_START_TIMEOUT_S).toMatch(/default 120\)$/);
  });
});
