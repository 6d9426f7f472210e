import { accessSync, constants as fsConstants } from 'node:fs';
import { isAbsolute, join, resolve } from 'node:path';
import { z } from 'zod';
import { ConfigError, ConfigIssue } from '../errors/errors';
import { registerSecrets } from '../logging/redact';
import { repoRoot } from './repo-root';

/**
 * The only place that reads the environment. Parsed once at boot; every variable is validated
 * and all problems are reported together, each by its environment variable name, so a bad
 * deployment stops before it connects to anything.
 *
 * To add a setting: one entry in VARIABLES (name, schema, default) and one line in buildConfig.
 */

const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'silent'] as const;
const LOG_FORMATS = ['json', 'pretty'] as const;

function integer(min: number, max = Number.MAX_SAFE_INTEGER) {
  const bound = max === Number.MAX_SAFE_INTEGER ? `>= ${min}` : `between ${min} and ${max}`;
  return z
    .string()
    .trim()
    .regex(/^-?\d+$/, { error: `expected an integer ${bound}` })
    .transform(Number)
    .pipe(
      z
        .number()
        .min(min, { error: `expected an integer ${bound}` })
        .max(max, { error: `expected an integer ${bound}` }),
    );
}

function decimal(min: number, max: number) {
  const message = `expected a number between ${min} and ${max}`;
  return z
    .string()
    .trim()
    .regex(/^-?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/, { error: message })
    .transform(Number)
    .pipe(z.number().min(min, { error: message }).max(max, { error: message }));
}

function optionalDecimal(min: number, max: number) {
  return z.union([z.literal('').transform(() => null), decimal(min, max)], { error: `expected a number between ${min} and ${max}, or empty` });
}

function optionalInteger(min: number) {
  return z.union([z.literal('').transform(() => null), integer(min)], { error: `expected an integer >= ${min}, or empty` });
}

function oneOf<const T extends readonly [string, ...string[]]>(values: T) {
  return z
    .string()
    .trim()
    .toLowerCase()
    .pipe(z.enum(values, { error: `expected one of ${values.join(', ')}` }));
}

const httpUrl = z
  .string()
  .trim()
  .refine(
    (value) => {
      try {
        const url = new URL(value);
        return url.protocol === 'http:' || url.protocol === 'https:';
      } catch {
        return false;
      }
    },
    { error: 'expected an http(s) URL' },
  )
  .transform((value) => value.replace(/\/+$/, ''));

const HOST_PORT = /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?):(\d{1,5})$/;
const brokerList = z
  .string()
  .refine(
    (value) => {
      const parts = value.split(',').map((p) => p.trim());
      return parts.length > 0 && parts.every((p) => HOST_PORT.test(p) && Number(HOST_PORT.exec(p)?.[3]) <= 65535 && Number(HOST_PORT.exec(p)?.[3]) > 0);
    },
    { error: 'expected host:port list' },
  )
  .transform((value) => value.split(',').map((p) => p.trim()));

const nonEmpty = z.string().trim().min(1, { error: 'expected a non-empty string' });
const anyString = z.string();
const identifier = z
  .string()
  .trim()
  .regex(/^[A-Za-z_][A-Za-z0-9_]*$/, { error: 'expected an identifier (letters, digits, _)' });
const topicPrefix = z.string().regex(/^[A-Za-z0-9._-]{0,100}$/, { error: 'expected up to 100 of A-Z a-z 0-9 . _ -' });
const host = z
  .string()
  .trim()
  .regex(/^[A-Za-z0-9.:[\]-]+$/, { error: 'expected a host name or IP address' });
const directory = nonEmpty.transform((value) => (isAbsolute(value) ? value : resolve(value)));
const KAFKA_SASL_MECHANISMS = ['none', 'plain', 'scram-sha-256', 'scram-sha-512'] as const;
const flag = oneOf(['true', 'false', '1', '0', 'yes', 'no'] as const).transform((value) => value === 'true' || value === '1' || value === 'yes');
/** A readable file (checked at boot), or empty for none. */
const optionalFile = z
  .string()
  .trim()
  .transform((value, ctx) => {
    if (value === '') return null;
    const file = isAbsolute(value) ? value : resolve(value);
    try {
      accessSync(file, fsConstants.R_OK);
    } catch {
      ctx.addIssue({ code: 'custom', message: `file ${file} is not readable` });
      return z.NEVER;
    }
    return file;
  });

/** Simulated latency: `<ms>` (fixed) or `mean:<ms>,jitter:<ms>` (either key optional). */
export interface LatencySpec {
  meanMs: number;
  jitterMs: number;
}

export function parseLatencySpec(value: string): LatencySpec | undefined {
  const text = value.trim();
  if (/^\d+$/.test(text)) return { meanMs: Number(text), jitterMs: 0 };
  const spec: LatencySpec = { meanMs: 0, jitterMs: 0 };
  const seen = new Set<string>();
  for (const part of text.split(',')) {
    const match = /^\s*(mean|jitter)\s*:\s*(\d+)\s*$/.exec(part);
    if (!match || seen.has(match[1])) return undefined;
    seen.add(match[1]);
    if (match[1] === 'mean') spec.meanMs = Number(match[2]);
    else spec.jitterMs = Number(match[2]);
  }
  return spec;
}

const latency = z.string().transform((value, ctx) => {
  const spec = parseLatencySpec(value);
  if (!spec) {
    ctx.addIssue({ code: 'custom', message: 'expected <ms> or mean:<ms>,jitter:<ms>' });
    return z.NEVER;
  }
  return spec;
});

/** The raw string a variable resolves to (flag, environment or default), for defaults derived from others. */
type RawLookup = (name: string) => string;
/** `off` (no metrics server) or a port, 0 = any free port. */
const metricsPort = z.union([z.literal('off').transform(() => null), integer(0, 65535)], { error: 'expected a port 0-65535 (0 = any free port) or off' });

interface Variable<T> {
  schema: z.ZodType<T, string>;
  /** Default as the string a user would write; a function when it depends on the machine or on other variables. */
  default: string | ((raw: RawLookup) => string);
}

function variable<T>(schema: z.ZodType<T, string>, defaultValue: string | ((raw: RawLookup) => string)): Variable<T> {
  return { schema, default: defaultValue };
}

const port = integer(1, 65535);
const positiveSeconds = decimal(0.001, 86_400);

const VARIABLES = {
  // Client addresses default to the local stack's ports (below): `KAFKA_PORT=19092 dg start` reaches its stack.
  KAFKA_BROKERS: variable(brokerList, (raw) => `127.0.0.1:${raw('KAFKA_PORT')}`),
  KAFKA_CLIENT_ID: variable(nonEmpty, 'dialog-games'),
  KAFKA_SESSION_TIMEOUT_MS: variable(integer(1000), '30000'),
  KAFKA_REBALANCE_TIMEOUT_MS: variable(integer(1000), '60000'),
  KAFKA_HEARTBEAT_INTERVAL_MS: variable(integer(100), '3000'),
  KAFKA_SASL_MECHANISM: variable(oneOf(KAFKA_SASL_MECHANISMS), 'none'),
  KAFKA_SASL_USERNAME: variable(anyString, ''),
  KAFKA_SASL_PASSWORD: variable(anyString, ''),
  KAFKA_SSL: variable(flag, 'false'),
  KAFKA_SSL_CA_FILE: variable(optionalFile, ''),
  KAFKA_SSL_CERT_FILE: variable(optionalFile, ''),
  KAFKA_SSL_KEY_FILE: variable(optionalFile, ''),
  KAFKA_SSL_REJECT_UNAUTHORIZED: variable(flag, 'true'),
  SCHEMA_REGISTRY_URL: variable(httpUrl, (raw) => `http://127.0.0.1:${raw('SCHEMA_REGISTRY_PORT')}/apis/ccompat/v7`),
  CLICKHOUSE_URL: variable(httpUrl, (raw) => `http://127.0.0.1:${raw('CLICKHOUSE_HTTP_PORT')}`),
  CLICKHOUSE_DATABASE: variable(identifier, 'dialog_games'),
  CLICKHOUSE_USER: variable(nonEmpty, 'default'),
  CLICKHOUSE_PASSWORD: variable(anyString, ''),
  DG_TOPIC_PREFIX: variable(topicPrefix, 'dg.'),
  DG_MAX_IN_FLIGHT: variable(integer(1, 10_000), '16'),
  DG_SHUTDOWN_TIMEOUT_MS: variable(integer(0), '15000'),
  DG_RETRY_MAX_ATTEMPTS: variable(integer(1, 1000), '5'),
  DG_RETRY_INITIAL_MS: variable(integer(0), '100'),
  DG_RETRY_MAX_MS: variable(integer(0), '10000'),
  DG_LOG_LEVEL: variable(oneOf(LOG_LEVELS), 'info'),
  DG_LOG_FORMAT: variable(oneOf(LOG_FORMATS), 'json'),
  DG_DATA_DIR: variable(directory, () => join(repoRoot(), '.dg', 'data')),
  DG_DATASETS_DIR: variable(directory, () => join(repoRoot(), '.dg', 'datasets')),
  DG_GAME_DEADLINE_MS: variable(integer(1000), '600000'),
  DG_JOURNAL_GRACE_MS: variable(integer(0), '600000'),
  DG_JOURNAL_HOLD_IN_FULL_MS: variable(integer(0), '120000'),
  DG_JOURNAL_READ_WAIT_MS: variable(integer(0, 10_000), '250'),
  // 5000: a backlog of 256+ games (~11 rows each) drains in few inserts (sink bench: 0.09 -> 0.61 of one raw insert).
  DG_SINK_BATCH_SIZE: variable(integer(1, 1_000_000), '5000'),
  // 1000: at ~80 games/s, 4x fewer and larger inserts than 250 ms (ClickHouse merges each small part into the partition's big one).
  DG_SINK_FLUSH_INTERVAL_MS: variable(integer(10), '1000'),
  // Images sent to the models (services/role-runtime/image-url-resolver.ts).
  DG_IMAGE_MAX_SIDE_PX: variable(integer(16, 16_384), '768'),
  DG_IMAGE_MAX_BYTES: variable(integer(1024), '4000000'),
  DG_IMAGE_HTTP: variable(oneOf(['pass', 'inline'] as const), 'pass'),
  DG_IMAGE_FETCH_ALLOW_HOSTS: variable(anyString, ''),
  DG_IMAGE_FETCH_ALLOW_PRIVATE: variable(oneOf(['true', 'false'] as const), 'false'),
  DG_IMAGE_FETCH_TIMEOUT_MS: variable(integer(100), '10000'),
  DG_IMAGE_FETCH_MAX_BYTES: variable(integer(1024), '20000000'),

  QUESTIONER_BASE_URL: variable(httpUrl, 'http://127.0.0.1:8000/v1'),
  QUESTIONER_MODEL: variable(nonEmpty, 'sim-vlm'),
  QUESTIONER_API_KEY: variable(anyString, 'sim-local'),
  QUESTIONER_TEMPERATURE: variable(decimal(0, 2), '0.7'),
  QUESTIONER_TOP_P: variable(optionalDecimal(0, 1), ''),
  QUESTIONER_MAX_TOKENS: variable(integer(1, 1_000_000), '256'),
  QUESTIONER_CONCURRENCY: variable(integer(1, 10_000), '8'),
  QUESTIONER_MAX_CONCURRENCY: variable(integer(1, 10_000), '64'),
  QUESTIONER_LATENCY_TARGET_MS: variable(integer(1), '15000'),
  QUESTIONER_MAX_RPM: variable(optionalInteger(1), ''),
  QUESTIONER_MAX_TPM: variable(optionalInteger(1), ''),
  QUESTIONER_TIMEOUT_MS: variable(integer(1), '60000'),
  QUESTIONER_PROMPT_VERSION: variable(nonEmpty, 'v1'),
  QUESTIONER_PRICE_PROMPT_PER_MTOK: variable(decimal(0, 1_000_000), '0'),
  QUESTIONER_PRICE_COMPLETION_PER_MTOK: variable(decimal(0, 1_000_000), '0'),

  ANSWERER_BASE_URL: variable(httpUrl, 'http://127.0.0.1:8000/v1'),
  ANSWERER_MODEL: variable(nonEmpty, 'sim-vlm'),
  ANSWERER_API_KEY: variable(anyString, 'sim-local'),
  ANSWERER_TEMPERATURE: variable(decimal(0, 2), '0'),
  ANSWERER_TOP_P: variable(optionalDecimal(0, 1), ''),
  ANSWERER_MAX_TOKENS: variable(integer(1, 1_000_000), '256'),
  ANSWERER_CONCURRENCY: variable(integer(1, 10_000), '8'),
  ANSWERER_MAX_CONCURRENCY: variable(integer(1, 10_000), '64'),
  ANSWERER_LATENCY_TARGET_MS: variable(integer(1), '15000'),
  ANSWERER_MAX_RPM: variable(optionalInteger(1), ''),
  ANSWERER_MAX_TPM: variable(optionalInteger(1), ''),
  ANSWERER_TIMEOUT_MS: variable(integer(1), '60000'),
  ANSWERER_PROMPT_VERSION: variable(nonEmpty, 'v1'),
  ANSWERER_PRICE_PROMPT_PER_MTOK: variable(decimal(0, 1_000_000), '0'),
  ANSWERER_PRICE_COMPLETION_PER_MTOK: variable(decimal(0, 1_000_000), '0'),

  SIM_VLM_HOST: variable(host, '127.0.0.1'),
  SIM_VLM_PORT: variable(integer(0, 65535), '8000'),
  SIM_VLM_ERROR_RATE: variable(decimal(0, 1), '0'),
  SIM_VLM_LATENCY_MS: variable(latency, '0'),
  /** Fault injection of the simulator, `key=value,...` as after `@` in a model name; checked by `dg sim-vlm`. */
  SIM_VLM_FAULTS: variable(anyString, ''),

  // The local stack (`dg stack`, `dg start`, `dg bench`); folders are relative to the repository root.
  DG_STACK_DIR: variable(nonEmpty, '.dg/stack'),
  DG_CACHE_DIR: variable(nonEmpty, '.dg/cache'),
  DG_STACK_JAVA_HOME: variable(nonEmpty, '/usr/lib/jvm/java-17-openjdk-amd64'),
  DG_STACK_START_TIMEOUT_S: variable(positiveSeconds, '120'),
  DG_STACK_STOP_TIMEOUT_S: variable(positiveSeconds, '30'),
  /** The broker's JIT: C1 only (quick start on 2 cores, for tests) or tiered with C2, as the official image runs it. */
  DG_STACK_KAFKA_JIT: variable(oneOf(['quick', 'full'] as const), 'quick'),
  KAFKA_PORT: variable(port, '9092'),
  KAFKA_CONTROLLER_PORT: variable(port, '9093'),
  SCHEMA_REGISTRY_PORT: variable(port, '8081'),
  CLICKHOUSE_HTTP_PORT: variable(port, '8123'),
  CLICKHOUSE_TCP_PORT: variable(port, '9000'),

  DG_DASHBOARD_HOST: variable(host, '127.0.0.1'),
  DG_DASHBOARD_PORT: variable(integer(0, 65535), '8088'),
  DG_DASHBOARD_TOKEN: variable(anyString, ''),
  DG_METRICS_HOST: variable(host, '127.0.0.1'),
  DG_METRICS_PORT: variable(metricsPort, '0'),
};

/** The variables of the local stack, parsed on their own by `dg stack` (other variables may be unset or for elsewhere). */
export const STACK_VARIABLES = [
  'DG_STACK_DIR',
  'DG_CACHE_DIR',
  'DG_STACK_JAVA_HOME',
  'DG_STACK_START_TIMEOUT_S',
  'DG_STACK_STOP_TIMEOUT_S',
  'DG_STACK_KAFKA_JIT',
  'KAFKA_PORT',
  'KAFKA_CONTROLLER_PORT',
  'SCHEMA_REGISTRY_PORT',
  'CLICKHOUSE_HTTP_PORT',
  'CLICKHOUSE_TCP_PORT',
] as const satisfies readonly ConfigVariable[];

export type ConfigVariable = keyof typeof VARIABLES;
export const CONFIG_VARIABLES = Object.keys(VARIABLES) as ConfigVariable[];

type Parsed = { [K in ConfigVariable]: (typeof VARIABLES)[K] extends Variable<infer T> ? T : never };

/** Values from CLI flags, keyed by the environment variable they override. */
export type ConfigOverrides = Partial<Record<ConfigVariable, string | number | boolean | undefined>>;

export type DeepReadonly<T> = T extends (infer U)[] ? ReadonlyArray<DeepReadonly<U>> : T extends object ? { readonly [K in keyof T]: DeepReadonly<T[K]> } : T;

export interface ModelRoleSettings {
  baseUrl: string;
  model: string;
  apiKey: string;
  temperature: number;
  /** null: not sent to the endpoint. */
  topP: number | null;
  maxTokens: number;
  /** Model calls in flight at once per process and endpoint when it starts (the adaptive limiter's initial limit). */
  concurrency: number;
  /** The adaptive limiter's ceiling; absent: fixed at `concurrency`. */
  maxConcurrency?: number;
  /** Successes slower than this do not raise the limit; absent: DEFAULT_LATENCY_TARGET_MS. */
  latencyTargetMs?: number;
  /** Calls per minute per endpoint; null/absent: no cap. */
  maxRpm?: number | null;
  /** Tokens per minute per endpoint; null/absent: no cap. */
  maxTpm?: number | null;
  timeoutMs: number;
  promptVersion: string;
  /** USD per million prompt tokens. */
  pricePromptPerMTok: number;
  /** USD per million completion tokens. */
  priceCompletionPerMTok: number;
}

export interface KafkaSaslSettings {
  mechanism: Exclude<(typeof KAFKA_SASL_MECHANISMS)[number], 'none'>;
  username: string;
  /** A secret: redacted from logs and config dumps (services/core/logging/redact.ts). */
  password: string;
}

export interface KafkaSslSettings {
  /** PEM files (absolute paths), read when the client connects; null: the system trust store / no client certificate. */
  caFile: string | null;
  certFile: string | null;
  keyFile: string | null;
  rejectUnauthorized: boolean;
}

export interface DgConfigShape {
  kafka: {
    brokers: string[];
    clientId: string;
    sessionTimeoutMs: number;
    rebalanceTimeoutMs: number;
    heartbeatIntervalMs: number;
    /** Handlers in flight per consumer. */
    maxInFlight: number;
    /** null: no SASL (KAFKA_SASL_MECHANISM=none). */
    sasl: KafkaSaslSettings | null;
    /** null: plaintext (KAFKA_SSL=false). */
    ssl: KafkaSslSettings | null;
  };
  schemaRegistry: { url: string };
  clickhouse: { url: string; database: string; user: string; password: string };
  topics: { prefix: string };
  retry: { maxAttempts: number; initialDelayMs: number; maxDelayMs: number };
  shutdownTimeoutMs: number;
  log: { level: (typeof LOG_LEVELS)[number]; format: (typeof LOG_FORMATS)[number] };
  paths: { dataDir: string; datasetsDir: string };
  game: { deadlineMs: number };
  /**
   * How long the players remember a game's model-call journal entry after its deadline, and how long
   * they hold an entry in full before keeping only its fence and topic position; how long the
   * journal's reader lets records gather before fetching them (0: fetch each as it lands).
   */
  journal: { graceAfterDeadlineMs: number; holdInFullMs: number; readWaitMs: number };
  images: {
    maxSidePx: number;
    maxBytes: number;
    /** http(s) image URIs: passed to the model as they are, or fetched (under the fetch policy) and inlined. */
    http: 'pass' | 'inline';
    fetch: { allowHosts: string[]; allowPrivate: boolean; timeoutMs: number; maxBytes: number };
  };
  sink: { batchSize: number; flushIntervalMs: number };
  models: { questioner: ModelRoleSettings; answerer: ModelRoleSettings };
  simVlm: { host: string; port: number; errorRate: number; latency: LatencySpec; faults: string };
  /** `dg dashboard`; the token is required when host is not a loopback address. */
  dashboard: { host: string; port: number; token: string };
  /** /metrics + /healthz of role processes; port null = off, 0 = any free port. */
  metrics: { host: string; port: number | null };
  stack: StackConfig;
}

export interface StackConfig {
  /** As given: relative paths are resolved against the repository root by the local stack. */
  dir: string;
  cacheDir: string;
  javaHome: string;
  startTimeoutMs: number;
  stopTimeoutMs: number;
  kafkaJit: 'quick' | 'full';
  ports: { kafka: number; kafkaController: number; schemaRegistry: number; clickhouseHttp: number; clickhouseTcp: number };
}

export type DgConfig = DeepReadonly<DgConfigShape>;

/**
 * Parses configuration from `env` with `overrides` (CLI flags) on top. Empty strings count as
 * unset. Throws ConfigError listing every invalid variable.
 */
export function loadConfig(env: NodeJS.ProcessEnv = process.env, overrides: ConfigOverrides = {}): DgConfig {
  const parsed = parseVariables(CONFIG_VARIABLES, env, overrides);
  const issues = crossChecks(parsed as Parsed);
  if (issues.length > 0) throw new ConfigError(issues);
  const config = buildConfig(parsed as Parsed);
  registerSecrets(configSecrets(config));
  return deepFreeze(config);
}

/** The local stack's settings alone (what `dg stack` needs), from the same table and parser. */
export function loadStackConfig(env: NodeJS.ProcessEnv = process.env, overrides: ConfigOverrides = {}): DeepReadonly<StackConfig> {
  return deepFreeze(stackConfig(parseVariables(STACK_VARIABLES, env, overrides) as Pick<Parsed, (typeof STACK_VARIABLES)[number]>));
}

/** The value a variable resolves to as written (flag, else environment, else default); empty counts as unset. */
export function rawVariable(name: ConfigVariable, env: NodeJS.ProcessEnv = process.env, overrides: ConfigOverrides = {}): string {
  const override = overrides[name];
  const fromEnv = env[name];
  if (override !== undefined && override !== '') return String(override);
  if (fromEnv !== undefined && fromEnv !== '') return fromEnv;
  const fallback = VARIABLES[name].default;
  return typeof fallback === 'function' ? fallback((other: string) => rawVariable(other as ConfigVariable, env, overrides)) : fallback;
}

let defaults: DgConfig | undefined;

/** The configuration with nothing set: the one table of defaults, for modules that need a default value. */
export function defaultConfig(): DgConfig {
  defaults ??= loadConfig({});
  return defaults;
}

function parseVariables(names: readonly ConfigVariable[], env: NodeJS.ProcessEnv, overrides: ConfigOverrides): Partial<Record<ConfigVariable, unknown>> {
  const issues: ConfigIssue[] = [];
  const parsed: Partial<Record<ConfigVariable, unknown>> = {};
  for (const name of names) {
    const spec: Variable<unknown> = VARIABLES[name];
    const raw = rawVariable(name, env, overrides);
    const result = spec.schema.safeParse(raw);
    if (result.success) parsed[name] = result.data;
    else issues.push({ variable: name, message: `${result.error.issues[0]?.message ?? 'invalid'}, got ${JSON.stringify(raw)}` });
  }
  if (issues.length > 0) throw new ConfigError(issues);
  return parsed;
}

/** Every secret value a config holds, for the logger to redact wherever it appears. */
export function configSecrets(config: DeepReadonly<DgConfigShape> | DgConfigShape): string[] {
  return [config.kafka.sasl?.password, config.clickhouse.password, config.models.questioner.apiKey, config.models.answerer.apiKey].filter(
    (v): v is string => typeof v === 'string' && v !== '',
  );
}

function crossChecks(p: Parsed): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  if (p.KAFKA_HEARTBEAT_INTERVAL_MS >= p.KAFKA_SESSION_TIMEOUT_MS) {
    issues.push({
      variable: 'KAFKA_HEARTBEAT_INTERVAL_MS',
      message: `must be below KAFKA_SESSION_TIMEOUT_MS (${p.KAFKA_SESSION_TIMEOUT_MS}), got ${p.KAFKA_HEARTBEAT_INTERVAL_MS}`,
    });
  }
  if (p.KAFKA_SASL_MECHANISM !== 'none') {
    if (p.KAFKA_SASL_USERNAME.trim() === '')
      issues.push({ variable: 'KAFKA_SASL_USERNAME', message: `required with KAFKA_SASL_MECHANISM=${p.KAFKA_SASL_MECHANISM}` });
    if (p.KAFKA_SASL_PASSWORD === '') issues.push({ variable: 'KAFKA_SASL_PASSWORD', message: `required with KAFKA_SASL_MECHANISM=${p.KAFKA_SASL_MECHANISM}` });
  } else if (p.KAFKA_SASL_USERNAME !== '' || p.KAFKA_SASL_PASSWORD !== '') {
    issues.push({
      variable: 'KAFKA_SASL_MECHANISM',
      message: 'must be plain, scram-sha-256 or scram-sha-512 when KAFKA_SASL_USERNAME or KAFKA_SASL_PASSWORD is set, got "none"',
    });
  }
  if (!p.KAFKA_SSL) {
    for (const name of ['KAFKA_SSL_CA_FILE', 'KAFKA_SSL_CERT_FILE', 'KAFKA_SSL_KEY_FILE'] as const) {
      if (p[name] !== null) issues.push({ variable: name, message: 'set but KAFKA_SSL is false (set KAFKA_SSL=true to use it)' });
    }
  }
  if ((p.KAFKA_SSL_CERT_FILE === null) !== (p.KAFKA_SSL_KEY_FILE === null)) {
    issues.push({
      variable: p.KAFKA_SSL_CERT_FILE === null ? 'KAFKA_SSL_CERT_FILE' : 'KAFKA_SSL_KEY_FILE',
      message: 'KAFKA_SSL_CERT_FILE and KAFKA_SSL_KEY_FILE go together (client certificate)',
    });
  }
  if (p.DG_RETRY_INITIAL_MS > p.DG_RETRY_MAX_MS) {
    issues.push({ variable: 'DG_RETRY_INITIAL_MS', message: `must not exceed DG_RETRY_MAX_MS (${p.DG_RETRY_MAX_MS}), got ${p.DG_RETRY_INITIAL_MS}` });
  }
  return issues;
}

function buildConfig(p: Parsed): DgConfigShape {
  return {
    kafka: {
      brokers: p.KAFKA_BROKERS,
      clientId: p.KAFKA_CLIENT_ID,
      sessionTimeoutMs: p.KAFKA_SESSION_TIMEOUT_MS,
      rebalanceTimeoutMs: p.KAFKA_REBALANCE_TIMEOUT_MS,
      heartbeatIntervalMs: p.KAFKA_HEARTBEAT_INTERVAL_MS,
      maxInFlight: p.DG_MAX_IN_FLIGHT,
      sasl:
        p.KAFKA_SASL_MECHANISM === 'none'
          ? null
          : { mechanism: p.KAFKA_SASL_MECHANISM, username: p.KAFKA_SASL_USERNAME.trim(), password: p.KAFKA_SASL_PASSWORD },
      ssl: p.KAFKA_SSL
        ? { caFile: p.KAFKA_SSL_CA_FILE, certFile: p.KAFKA_SSL_CERT_FILE, keyFile: p.KAFKA_SSL_KEY_FILE, rejectUnauthorized: p.KAFKA_SSL_REJECT_UNAUTHORIZED }
        : null,
    },
    schemaRegistry: { url: p.SCHEMA_REGISTRY_URL },
    clickhouse: { url: p.CLICKHOUSE_URL, database: p.CLICKHOUSE_DATABASE, user: p.CLICKHOUSE_USER, password: p.CLICKHOUSE_PASSWORD },
    topics: { prefix: p.DG_TOPIC_PREFIX },
    retry: { maxAttempts: p.DG_RETRY_MAX_ATTEMPTS, initialDelayMs: p.DG_RETRY_INITIAL_MS, maxDelayMs: p.DG_RETRY_MAX_MS },
    shutdownTimeoutMs: p.DG_SHUTDOWN_TIMEOUT_MS,
    log: { level: p.DG_LOG_LEVEL, format: p.DG_LOG_FORMAT },
    paths: { dataDir: p.DG_DATA_DIR, datasetsDir: p.DG_DATASETS_DIR },
    game: { deadlineMs: p.DG_GAME_DEADLINE_MS },
    journal: { graceAfterDeadlineMs: p.DG_JOURNAL_GRACE_MS, holdInFullMs: p.DG_JOURNAL_HOLD_IN_FULL_MS, readWaitMs: p.DG_JOURNAL_READ_WAIT_MS },
    images: {
      maxSidePx: p.DG_IMAGE_MAX_SIDE_PX,
      maxBytes: p.DG_IMAGE_MAX_BYTES,
      http: p.DG_IMAGE_HTTP,
      fetch: {
        allowHosts: p.DG_IMAGE_FETCH_ALLOW_HOSTS.split(',')
          .map((h) => h.trim().toLowerCase())
          .filter(Boolean),
        allowPrivate: p.DG_IMAGE_FETCH_ALLOW_PRIVATE === 'true',
        timeoutMs: p.DG_IMAGE_FETCH_TIMEOUT_MS,
        maxBytes: p.DG_IMAGE_FETCH_MAX_BYTES,
      },
    },
    sink: { batchSize: p.DG_SINK_BATCH_SIZE, flushIntervalMs: p.DG_SINK_FLUSH_INTERVAL_MS },
    models: {
      questioner: {
        baseUrl: p.QUESTIONER_BASE_URL,
        model: p.QUESTIONER_MODEL,
        apiKey: p.QUESTIONER_API_KEY,
        temperature: p.QUESTIONER_TEMPERATURE,
        topP: p.QUESTIONER_TOP_P,
        maxTokens: p.QUESTIONER_MAX_TOKENS,
        concurrency: p.QUESTIONER_CONCURRENCY,
        maxConcurrency: p.QUESTIONER_MAX_CONCURRENCY,
        latencyTargetMs: p.QUESTIONER_LATENCY_TARGET_MS,
        maxRpm: p.QUESTIONER_MAX_RPM,
        maxTpm: p.QUESTIONER_MAX_TPM,
        timeoutMs: p.QUESTIONER_TIMEOUT_MS,
        promptVersion: p.QUESTIONER_PROMPT_VERSION,
        pricePromptPerMTok: p.QUESTIONER_PRICE_PROMPT_PER_MTOK,
        priceCompletionPerMTok: p.QUESTIONER_PRICE_COMPLETION_PER_MTOK,
      },
      answerer: {
        baseUrl: p.ANSWERER_BASE_URL,
        model: p.ANSWERER_MODEL,
        apiKey: p.ANSWERER_API_KEY,
        temperature: p.ANSWERER_TEMPERATURE,
        topP: p.ANSWERER_TOP_P,
        maxTokens: p.ANSWERER_MAX_TOKENS,
        concurrency: p.ANSWERER_CONCURRENCY,
        maxConcurrency: p.ANSWERER_MAX_CONCURRENCY,
        latencyTargetMs: p.ANSWERER_LATENCY_TARGET_MS,
        maxRpm: p.ANSWERER_MAX_RPM,
        maxTpm: p.ANSWERER_MAX_TPM,
        timeoutMs: p.ANSWERER_TIMEOUT_MS,
        promptVersion: p.ANSWERER_PROMPT_VERSION,
        pricePromptPerMTok: p.ANSWERER_PRICE_PROMPT_PER_MTOK,
        priceCompletionPerMTok: p.ANSWERER_PRICE_COMPLETION_PER_MTOK,
      },
    },
    simVlm: { host: p.SIM_VLM_HOST, port: p.SIM_VLM_PORT, errorRate: p.SIM_VLM_ERROR_RATE, latency: p.SIM_VLM_LATENCY_MS, faults: p.SIM_VLM_FAULTS },
    dashboard: { host: p.DG_DASHBOARD_HOST, port: p.DG_DASHBOARD_PORT, token: p.DG_DASHBOARD_TOKEN },
    metrics: { host: p.DG_METRICS_HOST, port: p.DG_METRICS_PORT },
    stack: stackConfig(p),
  };
}

function stackConfig(p: Pick<Parsed, (typeof STACK_VARIABLES)[number]>): StackConfig {
  return {
    dir: p.DG_STACK_DIR,
    cacheDir: p.DG_CACHE_DIR,
    javaHome: p.DG_STACK_JAVA_HOME,
    startTimeoutMs: Math.round(p.DG_STACK_START_TIMEOUT_S * 1000),
    stopTimeoutMs: Math.round(p.DG_STACK_STOP_TIMEOUT_S * 1000),
    kafkaJit: p.DG_STACK_KAFKA_JIT,
    ports: {
      kafka: p.KAFKA_PORT,
      kafkaController: p.KAFKA_CONTROLLER_PORT,
      schemaRegistry: p.SCHEMA_REGISTRY_PORT,
      clickhouseHttp: p.CLICKHOUSE_HTTP_PORT,
      clickhouseTcp: p.CLICKHOUSE_TCP_PORT,
    },
  };
}

function deepFreeze<T>(value: T): DeepReadonly<T> {
  if (value && typeof value === 'object') {
    for (const child of Object.values(value)) deepFreeze(child);
    Object.freeze(value);
  }
  return value as DeepReadonly<T>;
}
