import { AbortedError } from '../errors';
import { createLogger, type Logger } from '../logging';

/**
 * Adaptive concurrency per model endpoint (base URL + model name), AIMD as in TCP congestion
 * control and Netflix's concurrency-limits: each call that succeeds within the latency target while
 * the limit was in use adds 1/limit (so +1 per window of calls); a 429, a 503 or a timeout
 * multiplies the limit by `decreaseFactor`, at most once per window (calls started before the last
 * decrease do not decrease it again, or one burst of 429s would collapse it to the floor). A 429 or
 * 503 with Retry-After also pauses new calls until then. Optional RPM / TPM caps hold calls back
 * over a sliding minute. Waiting calls are served first come, first served, so no game starves.
 */

export interface LimiterSettings {
  /** Where the limit starts (`<ROLE>_CONCURRENCY`). */
  initialLimit: number;
  /** The ceiling (`<ROLE>_MAX_CONCURRENCY`); the floor is 1. */
  maxLimit: number;
  /** Successes slower than this do not raise the limit. */
  latencyTargetMs: number;
  /** Calls started per sliding minute; null: no cap. */
  maxRpm: number | null;
  /** Tokens (prompt + completion of finished calls) per sliding minute; null: no cap. */
  maxTpm: number | null;
}

/** Time and timers, injected by tests. */
export interface LimiterClock {
  now(): number;
  setTimer(callback: () => void, ms: number): unknown;
  clearTimer(handle: unknown): void;
}

export const SYSTEM_CLOCK: LimiterClock = {
  now: () => Date.now(),
  setTimer: (callback, ms) => {
    const timer = setTimeout(callback, ms);
    // A pending wake-up must not keep a finished process alive.
    timer.unref?.();
    return timer;
  },
  clearTimer: (handle) => clearTimeout(handle as NodeJS.Timeout),
};

/** How a call that held a permit ended, as far as the endpoint's capacity is concerned. */
export type LimiterOutcome =
  | { kind: 'success'; latencyMs: number; tokens: number }
  /** 429 or 503: the endpoint says it is full. */
  | { kind: 'overloaded'; retryAfterMs?: number }
  | { kind: 'timeout' }
  /** Anything else (5xx, connection, 4xx, bad response, abort): no capacity signal. */
  | { kind: 'ignored' };

export interface LimiterPermit {
  /** Ends the call; the first outcome counts, later calls are ignored. */
  release(outcome: LimiterOutcome): void;
}

export interface EndpointLimiterSnapshot {
  endpoint: string;
  model: string;
  /** Calls allowed in flight now (the integer part of the adaptive window). */
  limit: number;
  /** The adaptive window itself, fractional. */
  window: number;
  minLimit: number;
  maxLimit: number;
  inFlight: number;
  queued: number;
  /** Epoch ms until which new calls wait (Retry-After), 0 when not paused. */
  pausedUntilMs: number;
  latencyTargetMs: number;
  maxRpm: number | null;
  maxTpm: number | null;
  /** Calls started in the last minute. */
  rpm: number;
  /** Tokens of calls finished in the last minute. */
  tpm: number;
  increases: number;
  decreases: number;
  /** Calls that ended, by outcome kind. */
  outcomes: { success: number; overloaded: number; timeout: number; ignored: number };
}

export interface AdaptiveLimiterOptions {
  endpoint: string;
  model: string;
  settings: LimiterSettings;
  clock?: LimiterClock;
  logger?: Logger;
  /** Window multiplier on 429/503/timeout. Default 0.9 (as Netflix concurrency-limits AIMD): a saturated endpoint stays busy between decreases. */
  decreaseFactor?: number;
  /** At most one "limit changed" log line per this many ms. Default 5000. */
  logIntervalMs?: number;
}

const MINUTE_MS = 60_000;

interface Waiter {
  grant: () => void;
}

export class AdaptiveLimiter {
  readonly endpoint: string;
  readonly model: string;
  private settings: LimiterSettings;
  private readonly clock: LimiterClock;
  private readonly logger: Logger;
  private readonly decreaseFactor: number;
  private readonly logIntervalMs: number;
  private window: number;
  private active = 0;
  private readonly queue: Waiter[] = [];
  private pausedUntil = 0;
  /** Bumped on every decrease: a permit from an older epoch cannot decrease again. */
  private epoch = 0;
  private readonly starts: number[] = [];
  private readonly tokens: Array<{ at: number; tokens: number }> = [];
  private wakeTimer: unknown = undefined;
  private wakeAt = 0;
  private increases = 0;
  private decreases = 0;
  private readonly outcomes = { success: 0, overloaded: 0, timeout: 0, ignored: 0 };
  private lastLoggedAt = Number.NEGATIVE_INFINITY;
  private lastLoggedLimit: number;
  private logTimer: unknown = undefined;
  private lastReason = '';

  constructor(options: AdaptiveLimiterOptions) {
    this.endpoint = options.endpoint;
    this.model = options.model;
    this.settings = normalise(options.settings);
    this.clock = options.clock ?? SYSTEM_CLOCK;
    this.logger = options.logger ?? createLogger('model-limiter');
    this.decreaseFactor = options.decreaseFactor ?? 0.9;
    this.logIntervalMs = options.logIntervalMs ?? 5_000;
    this.window = this.settings.initialLimit;
    this.lastLoggedLimit = this.limit;
  }

  /** Calls allowed in flight now. */
  get limit(): number {
    return Math.max(1, Math.min(this.settings.maxLimit, Math.floor(this.window)));
  }

  get inFlight(): number {
    return this.active;
  }

  get queued(): number {
    return this.queue.length;
  }

  /**
   * A second role configured for the same endpoint and model shares this limiter: the ceiling is the
   * higher of the two, RPM/TPM caps the stricter (they are the endpoint's quota, not a role's).
   */
  widen(settings: LimiterSettings): void {
    const next = normalise(settings);
    this.settings = {
      initialLimit: this.settings.initialLimit,
      maxLimit: Math.max(this.settings.maxLimit, next.maxLimit),
      latencyTargetMs: Math.max(this.settings.latencyTargetMs, next.latencyTargetMs),
      maxRpm: stricter(this.settings.maxRpm, next.maxRpm),
      maxTpm: stricter(this.settings.maxTpm, next.maxTpm),
    };
  }

  /**
   * A permit now, when the call may start at once (nobody waiting, room under the limit, no pause or
   * RPM/TPM wait): what `acquire` would grant without queueing. Otherwise undefined.
   */
  tryAcquire(): LimiterPermit | undefined {
    if (this.queue.length > 0 || this.active >= this.limit) return undefined;
    const now = this.clock.now();
    if (this.blockedUntil(now) > now) return undefined;
    return this.permit();
  }

  /**
   * Resolves once the call may start; an aborted wait gives up its place in line. With `timeoutMs`,
   * a wait longer than that gives up too (AbortedError caused by a TimeoutError), as if the signal
   * had been combined with AbortSignal.timeout(timeoutMs), without building those signals per call.
   */
  acquire(signal?: AbortSignal, timeoutMs?: number): Promise<LimiterPermit> {
    if (signal?.aborted) return Promise.reject(new AbortedError('aborted while waiting for the model endpoint', { cause: signal.reason }));
    return new Promise((resolve, reject) => {
      let timer: unknown;
      const waiter: Waiter = {
        grant: () => {
          signal?.removeEventListener('abort', onAbort);
          if (timer !== undefined) this.clock.clearTimer(timer);
          resolve(this.permit());
        },
      };
      const giveUp = (reason: unknown): void => {
        const at = this.queue.indexOf(waiter);
        if (at >= 0) this.queue.splice(at, 1);
        reject(new AbortedError('aborted while waiting for the model endpoint', { cause: reason }));
        this.drain();
      };
      const onAbort = (): void => {
        if (timer !== undefined) this.clock.clearTimer(timer);
        giveUp(signal?.reason);
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      if (timeoutMs !== undefined) {
        timer = this.clock.setTimer(() => {
          signal?.removeEventListener('abort', onAbort);
          giveUp(new DOMException('The operation was aborted due to timeout', 'TimeoutError'));
        }, timeoutMs);
      }
      this.queue.push(waiter);
      this.drain();
    });
  }

  snapshot(): EndpointLimiterSnapshot {
    const now = this.clock.now();
    this.prune(now);
    return {
      endpoint: this.endpoint,
      model: this.model,
      limit: this.limit,
      window: Math.round(this.window * 100) / 100,
      minLimit: 1,
      maxLimit: this.settings.maxLimit,
      inFlight: this.active,
      queued: this.queue.length,
      pausedUntilMs: this.pausedUntil > now ? this.pausedUntil : 0,
      latencyTargetMs: this.settings.latencyTargetMs,
      maxRpm: this.settings.maxRpm,
      maxTpm: this.settings.maxTpm,
      rpm: this.starts.length,
      tpm: this.tokens.reduce((sum, t) => sum + t.tokens, 0),
      increases: this.increases,
      decreases: this.decreases,
      outcomes: { ...this.outcomes },
    };
  }

  private permit(): LimiterPermit {
    const now = this.clock.now();
    this.active++;
    this.starts.push(now);
    const epoch = this.epoch;
    let released = false;
    return {
      release: (outcome) => {
        if (released) return;
        released = true;
        // Only a limit that is really used may grow: successes while mostly idle say nothing about capacity.
        const saturated = this.queue.length > 0 || this.active * 2 >= this.limit;
        this.active--;
        this.settle(outcome, epoch, saturated);
        this.drain();
      },
    };
  }

  private settle(outcome: LimiterOutcome, epoch: number, saturated: boolean): void {
    const now = this.clock.now();
    this.outcomes[outcome.kind]++;
    if (outcome.kind === 'success') {
      if (outcome.tokens > 0) this.tokens.push({ at: now, tokens: outcome.tokens });
      if (saturated && outcome.latencyMs <= this.settings.latencyTargetMs && this.window < this.settings.maxLimit) {
        const before = this.limit;
        this.window = Math.min(this.settings.maxLimit, this.window + 1 / Math.max(1, this.window));
        this.increases++;
        if (this.limit !== before) this.changed('calls succeed within the latency target');
      }
      return;
    }
    if (outcome.kind === 'overloaded' && outcome.retryAfterMs !== undefined && outcome.retryAfterMs > 0) {
      this.pausedUntil = Math.max(this.pausedUntil, now + outcome.retryAfterMs);
    }
    if ((outcome.kind === 'overloaded' || outcome.kind === 'timeout') && epoch === this.epoch) {
      const before = this.limit;
      this.window = Math.max(1, Math.min(this.window, this.settings.maxLimit) * this.decreaseFactor);
      this.epoch++;
      this.decreases++;
      if (this.limit !== before) this.changed(outcome.kind === 'timeout' ? 'a call timed out' : 'the endpoint is overloaded (429/503)');
    }
  }

  /** Grants waiting calls in order while the limit, the pause and the caps allow. */
  private drain(): void {
    while (this.queue.length > 0 && this.active < this.limit) {
      const now = this.clock.now();
      const blockedUntil = this.blockedUntil(now);
      if (blockedUntil > now) {
        this.wakeAtTime(blockedUntil);
        return;
      }
      this.queue.shift()!.grant();
    }
  }

  /** When the head of the queue may start (<= now: it may start now). */
  private blockedUntil(now: number): number {
    let until = this.pausedUntil;
    this.prune(now);
    const { maxRpm, maxTpm } = this.settings;
    if (maxRpm !== null && this.starts.length >= maxRpm) {
      until = Math.max(until, this.starts[this.starts.length - maxRpm]! + MINUTE_MS);
    }
    if (maxTpm !== null) {
      let used = this.tokens.reduce((sum, t) => sum + t.tokens, 0);
      // Wait until enough of the minute's tokens have aged out to be under the cap.
      for (const entry of this.tokens) {
        if (used < maxTpm) break;
        used -= entry.tokens;
        until = Math.max(until, entry.at + MINUTE_MS);
      }
    }
    return until;
  }

  private prune(now: number): void {
    while (this.starts.length > 0 && this.starts[0]! + MINUTE_MS <= now) this.starts.shift();
    while (this.tokens.length > 0 && this.tokens[0]!.at + MINUTE_MS <= now) this.tokens.shift();
  }

  private wakeAtTime(at: number): void {
    if (this.wakeTimer !== undefined && this.wakeAt <= at) return;
    if (this.wakeTimer !== undefined) this.clock.clearTimer(this.wakeTimer);
    this.wakeAt = at;
    this.wakeTimer = this.clock.setTimer(
      () => {
        this.wakeTimer = undefined;
        this.drain();
      },
      Math.max(0, at - this.clock.now()),
    );
  }

  /** A log line per change, at most one per logIntervalMs; the latest change is logged when the interval ends. */
  private changed(reason: string): void {
    this.lastReason = reason;
    const now = this.clock.now();
    if (now - this.lastLoggedAt >= this.logIntervalMs) {
      this.log(now);
      return;
    }
    if (this.logTimer === undefined) {
      this.logTimer = this.clock.setTimer(
        () => {
          this.logTimer = undefined;
          if (this.limit !== this.lastLoggedLimit) this.log(this.clock.now());
        },
        this.lastLoggedAt + this.logIntervalMs - now,
      );
    }
  }

  private log(now: number): void {
    this.logger.info('model endpoint concurrency limit changed', {
      endpoint: this.endpoint,
      model: this.model,
      from: this.lastLoggedLimit,
      to: this.limit,
      reason: this.lastReason,
      inFlight: this.active,
      queued: this.queue.length,
      increases: this.increases,
      decreases: this.decreases,
    });
    this.lastLoggedAt = now;
    this.lastLoggedLimit = this.limit;
  }
}

function stricter(a: number | null, b: number | null): number | null {
  if (a === null) return b;
  if (b === null) return a;
  return Math.min(a, b);
}

function normalise(settings: LimiterSettings): LimiterSettings {
  const maxLimit = Math.max(1, Math.floor(settings.maxLimit));
  return { ...settings, maxLimit, initialLimit: Math.max(1, Math.min(maxLimit, Math.floor(settings.initialLimit))) };
}

/**
 * The process-wide set of limiters, one per endpoint and model, shared by every game and both
 * model roles of the process. Tests make their own registry.
 */
export class LimiterRegistry {
  private readonly limiters = new Map<string, AdaptiveLimiter>();

  constructor(private readonly defaults: Omit<AdaptiveLimiterOptions, 'endpoint' | 'model' | 'settings'> = {}) {}

  limiterFor(endpoint: string, model: string, settings: LimiterSettings): AdaptiveLimiter {
    const key = `${endpoint}\u0000${model}`;
    const existing = this.limiters.get(key);
    if (existing) {
      existing.widen(settings);
      return existing;
    }
    const limiter = new AdaptiveLimiter({ ...this.defaults, endpoint, model, settings });
    this.limiters.set(key, limiter);
    return limiter;
  }

  snapshots(): EndpointLimiterSnapshot[] {
    return [...this.limiters.values()].map((l) => l.snapshot());
  }
}

/** The registry every ModelClient of this process uses unless told otherwise. */
export const PROCESS_LIMITERS = new LimiterRegistry();

/** Every endpoint limiter of this process, for /metrics and logs. */
export function endpointLimiterSnapshots(): EndpointLimiterSnapshot[] {
  return PROCESS_LIMITERS.snapshots();
}
