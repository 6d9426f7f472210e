import { AbortedError, isRetriable } from './errors';

export interface RetryPolicy {
  /** Total attempts including the first (1 = no retry). */
  maxAttempts: number;
  /** Cap of the first backoff window. */
  initialDelayMs: number;
  /** Cap of any backoff window. */
  maxDelayMs: number;
  /** Window growth per attempt. Default 2. */
  multiplier?: number;
  /** Give up when the next attempt would start later than this many ms after the first one. */
  deadlineMs?: number;
}

export interface RetryInfo {
  /** The attempt that just failed (1-based). */
  attempt: number;
  delayMs: number;
  error: unknown;
  /** The failure was one of `waits` (it did not use up maxAttempts). */
  waited?: boolean;
}

/**
 * Failures that mean "wait" rather than "broken" (a 429 or 503 from a model endpoint): they do not
 * use up maxAttempts but their own, larger budget, and wait the server's Retry-After in full (up to
 * maxDelayMs) or else a jittered backoff. The deadline bounds them like any attempt.
 */
export interface WaitPolicy {
  matches: (error: unknown) => boolean;
  maxAttempts: number;
  initialDelayMs: number;
  maxDelayMs: number;
}

export interface RetryOptions extends RetryPolicy {
  signal?: AbortSignal;
  onRetry?: (info: RetryInfo) => void;
  /** Default: isRetriable(error). */
  shouldRetry?: (error: unknown, attempt: number) => boolean;
  waits?: WaitPolicy;
  /** Injected for deterministic tests. */
  random?: () => number;
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
  now?: () => number;
}

export const DEFAULT_RETRY_POLICY: Readonly<RetryPolicy> = { maxAttempts: 5, initialDelayMs: 100, maxDelayMs: 10_000, multiplier: 2 };

/**
 * Full-jitter backoff: a uniform draw in [0, min(maxDelay, initial * multiplier^(attempt-1))).
 * Full jitter spreads retries of many clients that failed together (AWS architecture blog).
 */
export function backoffDelayMs(attempt: number, policy: RetryPolicy, random: () => number = Math.random): number {
  const multiplier = policy.multiplier ?? 2;
  const window = Math.min(policy.maxDelayMs, policy.initialDelayMs * Math.pow(multiplier, Math.max(0, attempt - 1)));
  return Math.floor(random() * window);
}

export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(new AbortedError('aborted before sleeping', { cause: signal.reason }));
      return;
    }
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(new AbortedError('aborted while waiting to retry', { cause: signal?.reason }));
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/**
 * Runs `operation` until it succeeds, fails with a non-retriable error, runs out of attempts or
 * deadline, or the signal aborts. The last error is rethrown unchanged so callers keep its type;
 * abort raises AbortedError with the last error as cause.
 */
export async function retry<T>(operation: (attempt: number) => Promise<T>, options: RetryOptions): Promise<T> {
  const random = options.random ?? Math.random;
  const wait = options.sleep ?? sleep;
  const now = options.now ?? Date.now;
  const shouldRetry = options.shouldRetry ?? ((error: unknown) => isRetriable(error));
  const startedAt = now();
  // Attempts that failed with a `waits` error and those that failed otherwise, counted apart.
  let waited = 0;
  let failed = 0;
  for (let attempt = 1; ; attempt++) {
    if (options.signal?.aborted) throw new AbortedError('aborted before attempt', { cause: options.signal.reason });
    try {
      return await operation(attempt);
    } catch (error) {
      if (!shouldRetry(error, attempt)) throw error;
      const suggested = (error as { retryAfterMs?: unknown } | null)?.retryAfterMs;
      const isWait = options.waits?.matches(error) === true;
      let delayMs: number;
      if (isWait) {
        const waits = options.waits!;
        waited++;
        if (waited >= waits.maxAttempts) throw error;
        const jittered = backoffDelayMs(waited, { ...waits, multiplier: options.multiplier ?? 2 }, random);
        delayMs = typeof suggested === 'number' ? Math.min(waits.maxDelayMs, suggested) : jittered;
      } else {
        failed++;
        if (failed >= options.maxAttempts) throw error;
        const jittered = backoffDelayMs(failed, options, random);
        delayMs = typeof suggested === 'number' ? Math.min(options.maxDelayMs, Math.max(jittered, suggested)) : jittered;
      }
      if (options.deadlineMs !== undefined && now() + delayMs - startedAt > options.deadlineMs) throw error;
      options.onRetry?.({ attempt, delayMs, error, waited: isWait });
      try {
        await wait(delayMs, options.signal);
      } catch (abort) {
        if (abort instanceof AbortedError) throw new AbortedError(abort.message, { cause: error });
        throw abort;
      }
    }
  }
}
