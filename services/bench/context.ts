import type { ConfigOverrides, DgConfig } from '../core/config';

/** What one benchmark gets: its size, its deadline, and a place to register what it must clean up. */
export interface BenchContext {
  readonly quick: boolean;
  /** Base configuration (addresses of the stack). */
  readonly config: DgConfig;
  /** The base configuration with a bench's own settings (prefix, database, ...) on top. */
  configWith(overrides: ConfigOverrides): DgConfig;
  /** Aborted when the bench's hard timeout passes or the user interrupts. */
  readonly signal: AbortSignal;
  /**
   * Registers a clean-up; they run last-in first-out when the bench ends, also on failure and
   * timeout. A clean-up that resolves to a string leaves it as a note in the outcome.
   */
  defer(what: string, close: () => Promise<unknown>): void;
  /** Throws the abort reason once the bench has been aborted. */
  checkpoint(): void;
  /** A progress line (stderr). */
  progress(line: string): void;
}

export interface Bench<Result> {
  name: string;
  /** Hard limit: the bench is aborted and cleaned up after this long. */
  timeoutMs: number;
  run(ctx: BenchContext): Promise<Result>;
}

export type BenchOutcome<Result> =
  | { ok: true; result: Result; elapsedMs: number; cleanupNotes: string[]; cleanupProblems: string[] }
  | { ok: false; error: string; elapsedMs: number; cleanupNotes: string[]; cleanupProblems: string[] };

export class BenchTimeoutError extends Error {
  constructor(name: string, timeoutMs: number) {
    super(`bench ${name} exceeded its hard timeout of ${Math.round(timeoutMs / 1000)} s`);
  }
}

/** Each clean-up gets this long (a DROP DATABASE on a busy ClickHouse 18.16 can take over 30 s); a stuck one is reported and skipped. */
const CLEANUP_TIMEOUT_MS = 120_000;

/**
 * Runs one bench under its hard timeout (and `interrupt`), then its clean-ups whatever happened.
 * Never throws: the outcome says what went wrong.
 */
export async function runBench<Result>(
  bench: Bench<Result>,
  options: { quick: boolean; config: DgConfig; configWith: (overrides: ConfigOverrides) => DgConfig; interrupt: AbortSignal; progress: (line: string) => void },
): Promise<BenchOutcome<Result>> {
  const started = performance.now();
  const timeout = new AbortController();
  const timer = setTimeout(() => timeout.abort(new BenchTimeoutError(bench.name, bench.timeoutMs)), bench.timeoutMs);
  const signal = AbortSignal.any([timeout.signal, options.interrupt]);
  const cleanups: Array<{ what: string; close: () => Promise<unknown> }> = [];
  const ctx: BenchContext = {
    quick: options.quick,
    config: options.config,
    configWith: options.configWith,
    signal,
    defer: (what, close) => void cleanups.push({ what, close }),
    checkpoint: () => signal.throwIfAborted(),
    progress: (line) => options.progress(`${bench.name}: ${line}`),
  };
  let outcome: { ok: true; result: Result } | { ok: false; error: string };
  try {
    const aborted = new Promise<never>((_, reject) => {
      if (signal.aborted) reject(signal.reason);
      signal.addEventListener('abort', () => reject(signal.reason), { once: true });
    });
    // The run may still be busy after an abort: the clean-ups below close what it uses, which ends it.
    const running = bench.run(ctx);
    running.catch(() => undefined);
    outcome = { ok: true, result: await Promise.race([running, aborted]) };
  } catch (err) {
    outcome = { ok: false, error: err instanceof Error ? err.message : String(err) };
  } finally {
    clearTimeout(timer);
  }
  const cleanupNotes: string[] = [];
  const cleanupProblems: string[] = [];
  for (const cleanup of cleanups.reverse()) {
    try {
      const note = await withTimeout(cleanup.close(), CLEANUP_TIMEOUT_MS, `clean-up "${cleanup.what}" took longer than ${CLEANUP_TIMEOUT_MS / 1000} s`);
      if (typeof note === 'string') cleanupNotes.push(`${cleanup.what}: ${note}`);
    } catch (err) {
      cleanupProblems.push(`${cleanup.what}: ${err instanceof Error ? err.message : String(err)}`);
    }
  }
  return { ...outcome, elapsedMs: performance.now() - started, cleanupNotes, cleanupProblems };
}

async function withTimeout<T>(work: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      work,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(message)), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Polls `check` until it returns a value `done` accepts. Stops with the abort reason when the
 * bench is aborted (its hard timeout is the deadline).
 */
export async function pollUntil<T>(
  ctx: Pick<BenchContext, 'signal' | 'checkpoint'>,
  check: () => Promise<T> | T,
  done: (value: T) => boolean,
  intervalMs: number,
): Promise<T> {
  for (;;) {
    ctx.checkpoint();
    const value = await check();
    if (done(value)) return value;
    await abortableSleep(intervalMs, ctx.signal);
  }
}

export function abortableSleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(signal.reason);
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(signal.reason);
    };
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}
