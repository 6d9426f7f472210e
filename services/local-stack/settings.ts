import * as path from 'node:path';
import { loadStackConfig, rawVariable, STACK_VARIABLES, type DeepReadonly, type StackConfig } from '../core/config/config';
import { repoRoot } from '../core/config/repo-root';
import { ConfigError } from '../core/errors';
import { StackError } from './stack-error';

/** Versions pinned for the local stack. docker-compose.yml pins the same ones. */
export const KAFKA_VERSION = '3.9.1';
export const KAFKA_SCALA_VERSION = '2.13';
export const APICURIO_VERSION = '2.6.13.Final';

export interface StackPorts {
  kafka: number;
  kafkaController: number;
  schemaRegistry: number;
  clickhouseHttp: number;
  clickhouseTcp: number;
}

export interface StackSettings {
  /** Holds per-component config, data, logs and pid files. */
  stackDir: string;
  /** Holds installed runtimes (Kafka jars, Apicurio bundle); shared between stacks. */
  cacheDir: string;
  ports: StackPorts;
  /** Java 17 runs both Kafka 3.9 and Apicurio 2.6. */
  javaHome: string;
  /** How long `up` waits for every component to answer. */
  startTimeoutMs: number;
  /** How long `down` waits after SIGTERM before SIGKILL. */
  stopTimeoutMs: number;
  /** The broker's JIT: 'quick' stops at C1 (cheap start-up for tests), 'full' is the JVM's default tiered C2. */
  kafkaJit?: 'quick' | 'full';
  /** Opt-in SASL/SCRAM listener (DG_STACK_KAFKA_SASL_PORT) beside the plaintext one, with one SCRAM user. */
  kafkaSasl?: KafkaSaslListener;
  /** Opt-in TLS listeners (DG_STACK_KAFKA_SSL_PORT, DG_STACK_KAFKA_SASL_SSL_PORT) with a CA the stack makes. */
  kafkaTls?: KafkaTlsListener;
}

export interface KafkaTlsListener {
  /** SSL listener (TLS, no authentication). */
  port: number;
  /** SASL_SSL listener (TLS + the SCRAM user of the SASL listener); needs DG_STACK_KAFKA_SASL_PORT. */
  saslPort?: number;
}

export interface KafkaSaslListener {
  port: number;
  username: string;
  /** Letters, digits, `._-` only (it goes through kafka-configs' `[password=…]` syntax). */
  password: string;
}

/** The opt-in SASL listener's variables: stack-only, read from the environment `dg stack` is given. */
const SASL_VARIABLE_HELP = {
  DG_STACK_KAFKA_SASL_PORT: 'opt-in SASL_PLAINTEXT listener with SCRAM-SHA-256/512 (default none)',
  DG_STACK_KAFKA_SASL_USERNAME: 'SCRAM user the stack creates for that listener (default dg)',
  DG_STACK_KAFKA_SASL_PASSWORD: 'its password (required with DG_STACK_KAFKA_SASL_PORT; letters, digits, ._-)',
  DG_STACK_KAFKA_SSL_PORT: 'opt-in SSL (TLS) listener; the stack makes a CA and writes its PEM to <DG_STACK_DIR>/kafka/tls/ca.pem (default none)',
  DG_STACK_KAFKA_SASL_SSL_PORT: 'opt-in SASL_SSL listener (TLS + the SCRAM user; needs DG_STACK_KAFKA_SASL_PORT and DG_STACK_KAFKA_SSL_PORT) (default none)',
} as const;

/** The documented ports, from the config module's one table of defaults. */
export const DEFAULT_PORTS: StackPorts = { ...loadStackConfig({}).ports };

const STACK_VARIABLE_HELP: Record<(typeof STACK_VARIABLES)[number], string> = {
  DG_STACK_DIR: 'state, data, logs and pid files (relative to the repo)',
  DG_CACHE_DIR: 'installed Kafka jars and Apicurio bundle (relative to the repo)',
  DG_STACK_JAVA_HOME: 'Java 17 home',
  DG_STACK_START_TIMEOUT_S: 'readiness deadline of `up`, seconds',
  DG_STACK_STOP_TIMEOUT_S: 'SIGTERM grace period of `down`, seconds',
  DG_STACK_KAFKA_JIT: "broker JIT: quick (C1 only, cheap start-up for tests) or full (tiered C2 as in Kafka's image; for benchmarks)",
  KAFKA_PORT: 'Kafka broker listener (also the default of KAFKA_BROKERS)',
  KAFKA_CONTROLLER_PORT: 'KRaft controller listener',
  SCHEMA_REGISTRY_PORT: 'Apicurio HTTP port (also the default of SCHEMA_REGISTRY_URL)',
  CLICKHOUSE_HTTP_PORT: 'ClickHouse HTTP port (also the default of CLICKHOUSE_URL)',
  CLICKHOUSE_TCP_PORT: 'ClickHouse native port',
};

/** Environment variables understood by `dg stack`, with what each one sets and its default. */
export const STACK_ENV_VARS = {
  ...(Object.fromEntries(STACK_VARIABLES.map((name) => [name, `${STACK_VARIABLE_HELP[name]} (default ${rawVariable(name, {})})`])) as Record<
    (typeof STACK_VARIABLES)[number],
    string
  >),
  ...SASL_VARIABLE_HELP,
};

/**
 * Builds the stack settings from an environment given by the caller (the CLI passes process.env),
 * parsed by the config module: the same variables, defaults and messages as every role's config,
 * so the addresses the roles default to are the ports the stack is started on.
 */
export function stackSettingsFromEnv(env: NodeJS.ProcessEnv, projectRoot: string = repoRoot()): StackSettings {
  let stack: DeepReadonly<StackConfig>;
  try {
    stack = loadStackConfig(env);
  } catch (err) {
    if (err instanceof ConfigError) throw new StackError(err.message, { cause: err });
    throw err;
  }
  const ports: StackPorts = { ...stack.ports };
  const kafkaSasl = saslListener(env);
  const kafkaTls = tlsListener(env, kafkaSasl !== undefined);
  const seen = new Map<number, string>(kafkaSasl ? [[kafkaSasl.port, 'kafkaSasl']] : []);
  for (const [name, value] of [
    ['kafkaSsl', kafkaTls?.port],
    ['kafkaSaslSsl', kafkaTls?.saslPort],
  ] as const) {
    if (value === undefined) continue;
    const other = seen.get(value);
    if (other) throw new StackError(`ports of ${other} and ${name} are both ${value}`);
    seen.set(value, name);
  }
  for (const [name, value] of Object.entries(ports)) {
    const other = seen.get(value);
    if (other) throw new StackError(`ports of ${other} and ${name} are both ${value}`);
    seen.set(value, name);
  }
  return {
    stackDir: path.resolve(projectRoot, stack.dir),
    cacheDir: path.resolve(projectRoot, stack.cacheDir),
    ports,
    javaHome: stack.javaHome,
    startTimeoutMs: stack.startTimeoutMs,
    stopTimeoutMs: stack.stopTimeoutMs,
    kafkaJit: stack.kafkaJit,
    ...(kafkaSasl ? { kafkaSasl } : {}),
    ...(kafkaTls ? { kafkaTls } : {}),
  };
}

function listenerPort(env: NodeJS.ProcessEnv, name: string): number | undefined {
  const raw = env[name];
  if (!raw) return undefined;
  const port = Number(raw);
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new StackError(`${name} must be a port number (1-65535), got "${raw}"`);
  return port;
}

function tlsListener(env: NodeJS.ProcessEnv, withSasl: boolean): KafkaTlsListener | undefined {
  const port = listenerPort(env, 'DG_STACK_KAFKA_SSL_PORT');
  const saslPort = listenerPort(env, 'DG_STACK_KAFKA_SASL_SSL_PORT');
  if (saslPort !== undefined && (port === undefined || !withSasl)) {
    throw new StackError(
      'DG_STACK_KAFKA_SASL_SSL_PORT needs DG_STACK_KAFKA_SSL_PORT (the TLS material) and DG_STACK_KAFKA_SASL_PORT with its password (the SCRAM user)',
    );
  }
  if (port === undefined) return undefined;
  return saslPort === undefined ? { port } : { port, saslPort };
}

function saslListener(env: NodeJS.ProcessEnv): KafkaSaslListener | undefined {
  const rawPort = env.DG_STACK_KAFKA_SASL_PORT;
  if (!rawPort) return undefined;
  const saslPort = Number(rawPort);
  if (!Number.isInteger(saslPort) || saslPort < 1 || saslPort > 65535) {
    throw new StackError(`DG_STACK_KAFKA_SASL_PORT must be a port number (1-65535), got "${rawPort}"`);
  }
  const username = env.DG_STACK_KAFKA_SASL_USERNAME || 'dg';
  const password = env.DG_STACK_KAFKA_SASL_PASSWORD ?? '';
  if (!/^[A-Za-z0-9._-]{8,}$/.test(password)) {
    throw new StackError('DG_STACK_KAFKA_SASL_PASSWORD must be at least 8 of letters, digits, . _ - when DG_STACK_KAFKA_SASL_PORT is set');
  }
  if (!/^[A-Za-z0-9._-]+$/.test(username)) throw new StackError(`DG_STACK_KAFKA_SASL_USERNAME must be letters, digits, . _ -, got "${username}"`);
  return { port: saslPort, username, password };
}

/** Client-side addresses of a stack, in the form the project's config expects. */
export interface StackAddresses {
  kafkaBrokers: string;
  schemaRegistryUrl: string;
  clickhouseUrl: string;
}

export function stackAddresses(settings: StackSettings): StackAddresses {
  return {
    kafkaBrokers: `127.0.0.1:${settings.ports.kafka}`,
    schemaRegistryUrl: `http://127.0.0.1:${settings.ports.schemaRegistry}/apis/ccompat/v7`,
    clickhouseUrl: `http://127.0.0.1:${settings.ports.clickhouseHttp}`,
  };
}
