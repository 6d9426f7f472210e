/**
 * Every error the project raises on purpose carries a retry decision: `retriable` says whether
 * trying the same operation again may succeed. Transient failures are retried with backoff;
 * the rest are poison (dead-letter topic) or fatal (stop the process).
 */

export interface DgErrorOptions {
  cause?: unknown;
  /** Overrides the class default. */
  retriable?: boolean;
  /** Overrides the class default code. */
  code?: string;
  /** Server-suggested wait (e.g. HTTP Retry-After) before the next attempt. */
  retryAfterMs?: number;
}

export class DgError extends Error {
  readonly code: string;
  readonly retriable: boolean;
  readonly retryAfterMs: number | undefined;

  constructor(message: string, options: DgErrorOptions = {}, defaults: { code: string; retriable: boolean } = { code: 'DG_ERROR', retriable: false }) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = options.code ?? defaults.code;
    this.retriable = options.retriable ?? defaults.retriable;
    this.retryAfterMs = options.retryAfterMs;
  }
}

/** A transient failure: the same operation may succeed later (broker, registry, network hiccups). */
export class RetriableError extends DgError {
  constructor(message: string, options: DgErrorOptions = {}) {
    super(message, options, { code: 'RETRIABLE', retriable: true });
  }
}

/** A failure that will repeat on every attempt. */
export class NonRetriableError extends DgError {
  constructor(message: string, options: DgErrorOptions = {}) {
    super(message, options, { code: 'NON_RETRIABLE', retriable: false });
  }
}

/** A message that can never be handled: it goes to the dead-letter topic and the partition moves on. */
export class PoisonMessageError extends DgError {
  constructor(message: string, options: DgErrorOptions = {}) {
    super(message, { ...options, retriable: false }, { code: 'POISON_MESSAGE', retriable: false });
  }
}

/** Bytes that are not a valid message of ours (wrong framing, unknown schema id, corrupt Avro). */
export class DecodeError extends PoisonMessageError {
  constructor(message: string, options: DgErrorOptions = {}) {
    super(message, { code: 'DECODE', ...options });
  }
}

export interface FieldIssue {
  /** Dotted field path, e.g. `game.header.iteration` or `game.transcript.0.kind`. */
  path: string;
  message: string;
}

/** A value does not match its Avro schema; names every bad field path. */
export class SchemaValidationError extends DgError {
  readonly schemaName: string;
  readonly issues: readonly FieldIssue[];

  constructor(schemaName: string, issues: FieldIssue[], options: DgErrorOptions = {}) {
    const listed = issues.map((i) => `${i.path || '(root)'}: ${i.message}`).join('; ');
    super(`invalid ${schemaName}: ${listed}`, options, { code: 'SCHEMA_VALIDATION', retriable: false });
    this.schemaName = schemaName;
    this.issues = issues;
  }

  get paths(): string[] {
    return this.issues.map((i) => i.path);
  }
}

export interface ConfigIssue {
  /** Environment variable name, e.g. `KAFKA_BROKERS`. */
  variable: string;
  message: string;
}

/** Bad configuration: the process must stop before it connects to anything. */
export class ConfigError extends DgError {
  readonly issues: readonly ConfigIssue[];

  constructor(issues: ConfigIssue[], options: DgErrorOptions = {}) {
    super(`invalid configuration:\n${issues.map((i) => `  ${i.variable}: ${i.message}`).join('\n')}`, options, { code: 'CONFIG', retriable: false });
    this.issues = issues;
  }
}

/** HTTP statuses worth retrying: timeouts, conflicts, rate limits and server errors. */
export function isRetriableHttpStatus(status: number): boolean {
  return status === 408 || status === 409 || status === 425 || status === 429 || status >= 500;
}

/** Why a model call was retried: the retriable model error classes. */
export type RetryCause = 'rate_limited' | 'unavailable' | 'server_error' | 'connection' | 'timeout';
export type RetryCounts = Record<RetryCause, number>;
export const RETRY_CAUSES: readonly RetryCause[] = ['rate_limited', 'unavailable', 'server_error', 'connection', 'timeout'];

export function emptyRetryCounts(): RetryCounts {
  return { rate_limited: 0, unavailable: 0, server_error: 0, connection: 0, timeout: 0 };
}

/**
 * What went wrong with a model call, each with its outcome (README "What each model error does"):
 * rate_limited (429) and unavailable (503) wait and retry on their own budget; server_error (other
 * 5xx), connection (reset, refused) and timeout retry with capped jittered backoff, bounded;
 * client_error (400, 401, 403, 404, 422, context too long) and bad_response (no choices, not JSON)
 * fail at once.
 */
export type ModelErrorClass = RetryCause | 'client_error' | 'bad_response';

/** The class of an HTTP status (no status: the connection failed). */
export function modelErrorClassOf(status: number | undefined): ModelErrorClass {
  if (status === undefined) return 'connection';
  if (status === 429) return 'rate_limited';
  if (status === 503) return 'unavailable';
  if (status === 408) return 'timeout';
  if (status >= 500 || status === 409 || status === 425) return 'server_error';
  return 'client_error';
}

/** A model endpoint call failed. Retriable for rate limits, timeouts, 5xx and network errors (no status). */
export class ModelError extends DgError {
  readonly status: number | undefined;
  readonly errorClass: ModelErrorClass;
  /** Retries by cause before this failure (set by the model client when the call finally fails). */
  retries: RetryCounts;

  constructor(message: string, options: DgErrorOptions & { status?: number; errorClass?: ModelErrorClass; retries?: RetryCounts } = {}) {
    const status = options.status;
    const errorClass = options.errorClass ?? modelErrorClassOf(status);
    const retriable = status === undefined ? errorClass !== 'client_error' && errorClass !== 'bad_response' : isRetriableHttpStatus(status);
    super(message, options, { code: 'MODEL', retriable });
    this.status = status;
    this.errorClass = errorClass;
    this.retries = options.retries ?? emptyRetryCounts();
  }
}

/** Input that is wrong in itself (bad image, malformed request): retrying cannot help. */
export class BadInputError extends DgError {
  constructor(message: string, options: DgErrorOptions = {}) {
    super(message, options, { code: 'BAD_INPUT', retriable: false });
  }
}

/** The schema registry refused or failed a request. Retriable when unreachable, timed out, throttled or 5xx. */
export class SchemaRegistryError extends DgError {
  readonly status: number | undefined;
  readonly subject: string | undefined;

  constructor(message: string, options: DgErrorOptions & { status?: number; subject?: string } = {}) {
    const status = options.status;
    // 409 means "incompatible schema" here, which no retry fixes.
    const retriable = status === undefined || status === 408 || status === 429 || status >= 500;
    super(message, options, { code: 'SCHEMA_REGISTRY', retriable });
    this.status = status;
    this.subject = options.subject;
  }
}

/** An operation was cancelled through its AbortSignal. */
export class AbortedError extends DgError {
  constructor(message = 'operation aborted', options: DgErrorOptions = {}) {
    super(message, options, { code: 'ABORTED', retriable: false });
  }
}

const RETRIABLE_SYSTEM_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'ETIMEDOUT',
  'EPIPE',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENETDOWN',
  'UND_ERR_SOCKET',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
]);

/**
 * The retry decision for any thrown value: DgError and kafkajs errors say it themselves;
 * otherwise network errors (anywhere in the cause chain) are retriable and the rest are not.
 */
const KAFKAJS_GAVE_UP = new Set(['KafkaJSNonRetriableError', 'KafkaJSNumberOfRetriesExceeded']);
const KAFKAJS_CONNECTION_ERRORS = new Set(['KafkaJSConnectionError', 'KafkaJSConnectionClosedError', 'KafkaJSRequestTimeoutError', 'KafkaJSBrokerNotFound']);
const KAFKAJS_CONNECTION_MESSAGE = /Connection error|ECONNREFUSED|ECONNRESET|ETIMEDOUT|Connection timeout|Closed connection/i;

export function isRetriable(err: unknown): boolean {
  const seen = new Set<unknown>();
  let current: unknown = err;
  while (current && typeof current === 'object' && !seen.has(current)) {
    seen.add(current);
    if (current instanceof DgError) return current.retriable;
    const obj = current as { retriable?: unknown; code?: unknown; name?: unknown; cause?: unknown };
    if (obj.name === 'AbortError') return false;
    if (typeof obj.name === 'string' && KAFKAJS_GAVE_UP.has(obj.name)) {
      // kafkajs wraps what it gave up on as non-retriable; an unreachable broker is still a
      // dependency outage to wait out, so judge by what it wraps (or says, when it kept no cause).
      if (obj.cause !== undefined && obj.cause !== current) {
        current = obj.cause;
        continue;
      }
      if (KAFKAJS_CONNECTION_MESSAGE.test(String((current as { message?: unknown }).message ?? ''))) return true;
    }
    if (typeof obj.name === 'string' && KAFKAJS_CONNECTION_ERRORS.has(obj.name)) return true;
    if (typeof obj.retriable === 'boolean') return obj.retriable;
    if (typeof obj.code === 'string' && RETRIABLE_SYSTEM_CODES.has(obj.code)) return true;
    current = obj.cause;
  }
  return false;
}

/** Name, message and stack of any thrown value, for logs and dead letters. */
export function describeError(err: unknown): { name: string; message: string; stack: string; code?: string } {
  if (err instanceof Error) {
    const code = (err as { code?: unknown }).code;
    return { name: err.name, message: err.message, stack: err.stack ?? '', ...(typeof code === 'string' ? { code } : {}) };
  }
  return { name: typeof err, message: String(err), stack: '' };
}
