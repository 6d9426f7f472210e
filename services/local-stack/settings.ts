import * as path from 'node:path';
import { repoRoot } from '../core/config/repo-root';
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
  /** Opt-in SASL/SCRAM listener (DG_STACK_KAFKA_SASL_PORT) beside the plaintext one, with one SCRAM user. */
  kafkaSasl?: KafkaSaslListener;
}

export interface KafkaSaslListener {
  port: number;
  username: string;
  /** Letters, digits, `._-` only (it goes through kafka-configs' `[password=…]` syntax). */
  password: string;
}

export const DEFAULT_PORTS: StackPorts = {
  kafka: 9092,
  kafkaController: 9093,
  schemaRegistry: 8081,
  clickhouseHttp: 8123,
  clickhouseTcp: 9000,
};

/** Environment variables understood by `dg stack`, with what each one overrides. */
export const STACK_ENV_VARS = {
  DG_STACK_DIR: 'state, data, logs and pid files (default <repo>/.dg/stack; relative to the repo)',
  DG_CACHE_DIR: 'installed Kafka jars and Apicurio bundle (default <repo>/.dg/cache)',
  DG_STACK_JAVA_HOME: 'Java 17 home (default /usr/lib/jvm/java-17-openjdk-amd64)',
  DG_STACK_START_TIMEOUT_S: 'readiness deadline of `up` (default 120)',
  DG_STACK_STOP_TIMEOUT_S: 'SIGTERM grace period of `down` (default 30)',
  KAFKA_PORT: 'Kafka broker listener (default 9092)',
  KAFKA_CONTROLLER_PORT: 'KRaft controller listener (default 9093)',
  SCHEMA_REGISTRY_PORT: 'Apicurio HTTP port (default 8081)',
  CLICKHOUSE_HTTP_PORT: 'ClickHouse HTTP port (default 8123)',
  CLICKHOUSE_TCP_PORT: 'ClickHouse native port (default 9000)',
  DG_STACK_KAFKA_SASL_PORT: 'opt-in SASL_PLAINTEXT listener with SCRAM-SHA-256/512 (default none)',
  DG_STACK_KAFKA_SASL_USERNAME: 'SCRAM user the stack creates for that listener (default dg)',
  DG_STACK_KAFKA_SASL_PASSWORD: 'its password (required with DG_STACK_KAFKA_SASL_PORT; letters, digits, ._-)',
} as const;

type StackEnv = Partial<Record<keyof typeof STACK_ENV_VARS, string>>;

function port(env: StackEnv, name: keyof StackEnv, fallback: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 1 || value > 65535) {
    throw new StackError(`${name} must be a port number (1-65535), got "${raw}"`);
  }
  return value;
}

function seconds(env: StackEnv, name: keyof StackEnv, fallback: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback * 1000;
  const value = Number(raw);
  if (!Number.isFinite(value) || value <= 0) {
    throw new StackError(`${name} must be a positive number of seconds, got "${raw}"`);
  }
  return value * 1000;
}

/** Builds the stack settings from an environment given by the caller (the CLI passes process.env). */
export function stackSettingsFromEnv(env: StackEnv, projectRoot: string = repoRoot()): StackSettings {
  const ports: StackPorts = {
    kafka: port(env, 'KAFKA_PORT', DEFAULT_PORTS.kafka),
    kafkaController: port(env, 'KAFKA_CONTROLLER_PORT', DEFAULT_PORTS.kafkaController),
    schemaRegistry: port(env, 'SCHEMA_REGISTRY_PORT', DEFAULT_PORTS.schemaRegistry),
    clickhouseHttp: port(env, 'CLICKHOUSE_HTTP_PORT', DEFAULT_PORTS.clickhouseHttp),
    clickhouseTcp: port(env, 'CLICKHOUSE_TCP_PORT', DEFAULT_PORTS.clickhouseTcp),
  };
  const kafkaSasl = saslListener(env);
  const seen = new Map<number, string>(kafkaSasl ? [[kafkaSasl.port, 'kafkaSasl']] : []);
  for (const [name, value] of Object.entries(ports)) {
    const other = seen.get(value);
    if (other) throw new StackError(`ports of ${other} and ${name} are both ${value}`);
    seen.set(value, name);
  }
  return {
    stackDir: path.resolve(projectRoot, env.DG_STACK_DIR || path.join('.dg', 'stack')),
    cacheDir: path.resolve(projectRoot, env.DG_CACHE_DIR || path.join('.dg', 'cache')),
    ports,
    javaHome: env.DG_STACK_JAVA_HOME || '/usr/lib/jvm/java-17-openjdk-amd64',
    startTimeoutMs: seconds(env, 'DG_STACK_START_TIMEOUT_S', 120),
    stopTimeoutMs: seconds(env, 'DG_STACK_STOP_TIMEOUT_S', 30),
    ...(kafkaSasl ? { kafkaSasl } : {}),
  };
}

function saslListener(env: StackEnv): KafkaSaslListener | undefined {
  if (!env.DG_STACK_KAFKA_SASL_PORT) return undefined;
  const saslPort = port(env, 'DG_STACK_KAFKA_SASL_PORT', 0);
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
