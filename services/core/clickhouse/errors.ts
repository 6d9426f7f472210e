import { DgError, isRetriable } from '../errors';

/**
 * Server error codes where the same request may succeed later (load, merges catching up, replicas,
 * timeouts, a connection cut mid-response). Everything else — syntax, unknown table/column/database,
 * type and parse errors, authentication — repeats on every attempt.
 */
export const RETRIABLE_CLICKHOUSE_CODES: ReadonlyMap<number, string> = new Map([
  [3, 'UNEXPECTED_END_OF_FILE'],
  [32, 'ATTEMPT_TO_READ_AFTER_EOF'],
  [159, 'TIMEOUT_EXCEEDED'],
  [164, 'READONLY'],
  [201, 'QUOTA_EXCEEDED'],
  [202, 'TOO_MANY_SIMULTANEOUS_QUERIES'],
  [203, 'NO_FREE_CONNECTION'],
  [209, 'SOCKET_TIMEOUT'],
  [210, 'NETWORK_ERROR'],
  [236, 'ABORTED'],
  [241, 'MEMORY_LIMIT_EXCEEDED'],
  [242, 'TABLE_IS_READ_ONLY'],
  [252, 'TOO_MANY_PARTS'],
  [285, 'TOO_FEW_LIVE_REPLICAS'],
  [319, 'UNKNOWN_STATUS_OF_INSERT'],
  [425, 'SYSTEM_ERROR'],
  [439, 'CANNOT_SCHEDULE_TASK'],
  [473, 'DEADLOCK_AVOIDED'],
  [999, 'KEEPER_EXCEPTION'],
]);

/** Both the 18.16 form (`Code: 60, e.displayText() = DB::Exception: ...`) and the modern one (`Code: 60. DB::Exception: ...`). */
const CODE_PATTERN = /^\s*Code: (\d+)[.,]/;
const CLIENT_TIMEOUT_PATTERN = /^Timeout error\b|socket hang up|ECONNRESET|other side closed/i;

export type ClickHouseOperation = 'ping' | 'command' | 'query' | 'insert';

/** A failed ClickHouse request, with the server's error code when it sent one. */
export class ClickHouseRequestError extends DgError {
  /** ClickHouse error code (`Code: N`), undefined for network and client-side failures. */
  readonly serverCode: number | undefined;
  readonly operation: ClickHouseOperation;

  constructor(message: string, options: { operation: ClickHouseOperation; serverCode: number | undefined; retriable: boolean; cause: unknown }) {
    super(message, { cause: options.cause, retriable: options.retriable }, { code: 'CLICKHOUSE', retriable: options.retriable });
    this.serverCode = options.serverCode;
    this.operation = options.operation;
  }
}

export function parseClickHouseCode(message: string): number | undefined {
  const match = CODE_PATTERN.exec(message);
  return match ? Number(match[1]) : undefined;
}

/**
 * Wraps anything a ClickHouse call threw into a ClickHouseRequestError with a retry decision.
 * `statement` (shortened) is added to the message so logs show what failed.
 */
export function toClickHouseError(err: unknown, operation: ClickHouseOperation, statement?: string): ClickHouseRequestError {
  if (err instanceof ClickHouseRequestError) return err;
  const rawMessage = err instanceof Error ? err.message : String(err);
  const serverCode = parseClickHouseCode(rawMessage);
  const retriable = serverCode !== undefined ? RETRIABLE_CLICKHOUSE_CODES.has(serverCode) : isRetriable(err) || CLIENT_TIMEOUT_PATTERN.test(rawMessage);
  const firstLine = rawMessage.split('\n')[0]!.trim();
  const context = statement ? ` [${shorten(statement)}]` : '';
  return new ClickHouseRequestError(`ClickHouse ${operation} failed: ${firstLine}${context}`, { operation, serverCode, retriable, cause: err });
}

function shorten(statement: string): string {
  const oneLine = statement.replace(/\s+/g, ' ').trim();
  return oneLine.length > 200 ? `${oneLine.slice(0, 200)}…` : oneLine;
}
