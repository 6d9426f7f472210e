import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import type { EventBus, MessageContext, Subscription } from '../core/bus';
import { AbortedError, RetriableError } from '../core/errors';
import { createLogger, type Logger } from '../core/logging';
import type { CallUsage, ModelCallRecorded } from '../../schemas/generated/events';
import type { TopicKey } from '../../schemas/topics';

/** What a role decided for one turn, as the journal keeps it. */
export type JournalEntry = Omit<ModelCallRecorded, 'nonce'>;

/**
 * An entry as held in memory: flat, with the usage (spec, raw output, retries: ~10 objects and
 * strings decoded) as one JSON string, parsed back only when an entry is read. A player holds the
 * entries of every game launched within deadline + grace (tens of thousands at full speed), so
 * this is what keeps its heap flat (bound-bench soak).
 */
interface StoredEntry {
  entry: JournalEntry['entry'];
  role: string;
  transcriptLength: number;
  usageJson: string | null;
  errorMessage: string | null;
  decidedAtMs: number;
  deadlineAtMs: number;
}

export interface ModelCallJournalOptions {
  bus: EventBus;
  topicPrefix: string;
  role: 'questioner' | 'answerer';
  logger?: Logger;
  /** Entries are forgotten this long after their game's deadline (default 10 min). */
  graceAfterDeadlineMs?: number;
  /** Most games remembered; the oldest go first beyond it (default 200 000). */
  maxGames?: number;
  /** How long a barrier waits for its marker before the handler is retried (default 120 s: a restarted instance reads up to an hour of journal first). */
  barrierTimeoutMs?: number;
  now?: () => number;
}

/**
 * The model-call journal (issue 7 item 3, issue 6 defect 1).
 *
 * Each turn's model call outcome (completion with its usage, or the final model error) is published
 * to the `model-calls` topic, keyed by game id, BEFORE the turn's output event. Every questioner and
 * answerer instance reads that topic from the beginning (its own throw-away consumer group) and keeps
 * the latest entry per game in memory. A role handling a game state of transcript length L:
 * - finds an entry for a longer transcript → the turn already produced its output and the game moved
 *   on: it does nothing (fence on the transcript length);
 * - finds its own entry for length L → reuses the recorded completion and decision time, so it
 *   publishes the identical event again, never a new branch and never a second model call;
 * - finds nothing → calls the model, records, then publishes.
 *
 * Read-your-writes across instances: a partition's previous owner journaled before publishing, so
 * once this instance has read the journal up to "now" on that partition it sees every entry that
 * matters. After every (re)assignment the first message of each input partition makes the instance
 * write a barrier marker keyed by that game id (same key → same partition number in the journal,
 * which has as many partitions as the game topics) and wait until its reader sees the marker.
 *
 * Memory is bounded: entries are dropped some time after their game's deadline (a game past its
 * deadline is ended as timeout by any role anyway) and beyond `maxGames`.
 */
export class ModelCallJournal {
  private readonly entries = new Map<string, StoredEntry>();
  private readonly waiters = new Map<string, { resolve: () => void; reject: (error: Error) => void }>();
  private readonly barriers = new Map<string, Promise<void>>();
  /** Keys of `barriers` whose marker was read back (so ensureFresh need not wait on the promise). */
  private readonly passed = new Set<string>();
  readonly logger: Logger;
  private readonly graceMs: number;
  private readonly maxGames: number;
  private readonly barrierTimeoutMs: number;
  private readonly now: () => number;
  private subscription: Subscription | undefined;
  private sweepTimer: NodeJS.Timeout | undefined;
  /** Counters for tests and logs. */
  readonly counters = { recorded: 0, reused: 0, fenced: 0, barriers: 0, read: 0 };

  constructor(private readonly options: ModelCallJournalOptions) {
    this.logger = options.logger ?? createLogger(`journal.${options.role}`);
    this.graceMs = options.graceAfterDeadlineMs ?? 10 * 60_000;
    this.maxGames = options.maxGames ?? 200_000;
    this.barrierTimeoutMs = options.barrierTimeoutMs ?? 120_000;
    this.now = options.now ?? Date.now;
  }

  /** Starts reading the journal (from the beginning); resolves once the reader has its partitions. */
  async start(): Promise<void> {
    if (this.subscription) return;
    const groupId = `${this.options.topicPrefix}journal.${this.options.role}.${hostname()}.${process.pid}.${randomUUID().slice(0, 8)}`;
    this.subscription = await this.options.bus.subscribe({
      groupId,
      topics: ['modelCalls'],
      fromBeginning: true,
      handler: async (event) => this.apply(event),
    });
    this.sweepTimer = setInterval(() => this.sweep(), 30_000);
    this.sweepTimer.unref();
  }

  async stop(): Promise<void> {
    if (this.sweepTimer) clearInterval(this.sweepTimer);
    // Handlers waiting for a barrier give up (their messages stay uncommitted and come back).
    for (const [nonce, waiter] of this.waiters) {
      this.waiters.delete(nonce);
      waiter.reject(new RetriableError('model-call journal stopped while waiting for a barrier'));
    }
    const subscription = this.subscription;
    this.subscription = undefined;
    await subscription?.stop();
  }

  /**
   * The transcript length and role of a game's latest entry, without parsing its usage: what every
   * turn checks; latest() is only needed when a turn is re-handled.
   */
  fence(gameId: string): Readonly<Pick<JournalEntry, 'transcriptLength' | 'role'>> | undefined {
    return this.entries.get(gameId);
  }

  /** The latest entry of a game (highest transcript length; the first written wins a tie). */
  latest(gameId: string): JournalEntry | undefined {
    const stored = this.entries.get(gameId);
    if (stored === undefined) return undefined;
    const { usageJson, ...rest } = stored;
    return { gameId, ...rest, usage: usageJson === null ? null : (JSON.parse(usageJson) as CallUsage) };
  }

  /** Records a turn's outcome durably (acks=all) before the caller publishes the turn's output. */
  async record(entry: JournalEntry): Promise<void> {
    // Applied locally first: a failed publish retried in place reuses the completion instead of calling again.
    this.remember(entry);
    await this.options.bus.publish('modelCalls', entry.gameId, { ...entry, nonce: '' });
    this.counters.recorded++;
  }

  /**
   * Makes sure this instance has read the journal far enough for the game of `ctx`: once per input
   * partition and consumer-group generation, a barrier marker on the game's journal partition.
   */
  async ensureFresh(ctx: Pick<MessageContext<TopicKey>, 'topic' | 'partition' | 'signal'>, generation: number, gameId: string): Promise<void> {
    const key = `${generation}|${ctx.topic}|${ctx.partition}`;
    // The barrier of this partition and generation was read back already: nothing to wait for.
    if (this.passed.has(key) && !ctx.signal?.aborted) return;
    let barrier = this.barriers.get(key);
    if (barrier === undefined) {
      barrier = this.barrier(gameId);
      this.barriers.set(key, barrier);
      barrier.then(
        () => {
          if (this.barriers.get(key) !== barrier) return;
          this.passed.add(key);
          if (this.passed.size > 10_000) this.passed.delete(this.passed.keys().next().value as string);
        },
        // A failed barrier is tried again by the next message (the handler fails retriably).
        () => this.barriers.delete(key),
      );
      if (this.barriers.size > 10_000) this.barriers.delete(this.barriers.keys().next().value as string);
    }
    await abortable(barrier, ctx.signal);
  }

  /** Writes a marker keyed by the game id and waits until the journal reader has read it. */
  async barrier(gameId: string): Promise<void> {
    const nonce = randomUUID();
    const seen = new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters.delete(nonce);
        reject(new RetriableError(`model-call journal: barrier for game ${gameId} not read back within ${this.barrierTimeoutMs} ms`));
      }, this.barrierTimeoutMs);
      this.waiters.set(nonce, {
        resolve: () => {
          clearTimeout(timer);
          resolve();
        },
        reject: (error) => {
          clearTimeout(timer);
          reject(error);
        },
      });
    });
    try {
      await this.options.bus.publish('modelCalls', gameId, {
        gameId,
        entry: 'barrier',
        role: this.options.role,
        transcriptLength: 0,
        usage: null,
        errorMessage: null,
        decidedAtMs: this.now(),
        deadlineAtMs: 0,
        nonce,
      });
    } catch (err) {
      this.waiters.get(nonce)?.resolve();
      this.waiters.delete(nonce);
      throw err;
    }
    await seen;
    this.counters.barriers++;
  }

  get size(): number {
    return this.entries.size;
  }

  private apply(event: ModelCallRecorded): void {
    this.counters.read++;
    if (event.entry === 'barrier') {
      const waiter = this.waiters.get(event.nonce);
      if (waiter) {
        this.waiters.delete(event.nonce);
        waiter.resolve();
      }
      return;
    }
    const { nonce: _nonce, ...entry } = event;
    this.remember(entry);
  }

  private remember(entry: JournalEntry): void {
    if (entry.deadlineAtMs > 0 && entry.deadlineAtMs + this.graceMs < this.now()) return;
    const known = this.entries.get(entry.gameId);
    if (known !== undefined && known.transcriptLength >= entry.transcriptLength) return;
    this.entries.delete(entry.gameId);
    this.entries.set(entry.gameId, {
      entry: entry.entry,
      // The role names as constants, not one decoded copy per entry.
      role: entry.role === 'questioner' ? 'questioner' : entry.role === 'answerer' ? 'answerer' : entry.role,
      transcriptLength: entry.transcriptLength,
      usageJson: entry.usage === null ? null : JSON.stringify(entry.usage),
      errorMessage: entry.errorMessage,
      decidedAtMs: entry.decidedAtMs,
      deadlineAtMs: entry.deadlineAtMs,
    });
    if (this.entries.size > this.maxGames) this.entries.delete(this.entries.keys().next().value as string);
  }

  private sweep(): void {
    const now = this.now();
    for (const [gameId, entry] of this.entries) {
      if (entry.deadlineAtMs > 0 && entry.deadlineAtMs + this.graceMs < now) this.entries.delete(gameId);
    }
  }
}

/** Waits for `promise` unless the handler's signal (shutdown) fires first. */
function abortable<T>(promise: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (!signal) return promise;
  if (signal.aborted) return Promise.reject(new AbortedError('handler aborted while waiting for the model-call journal'));
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(new AbortedError('handler aborted while waiting for the model-call journal'));
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(error);
      },
    );
  });
}

/** The usage a recorded entry carries, or a failure message. */
export type RecordedOutcome =
  { ok: true; usage: CallUsage; decidedAtMs: number } | { ok: false; message: string; usage: CallUsage | null; decidedAtMs: number };
