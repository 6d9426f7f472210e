import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import type { EventBus, MessageContext, Subscription } from '../core/bus';
import { AbortedError, NonRetriableError, RetriableError } from '../core/errors';
import { createLogger, type Logger } from '../core/logging';
import type { CallUsage, ModelCallRecorded } from '../../schemas/generated/events';
import type { TopicKey } from '../../schemas/topics';
import type { DgConfig } from '../core/config';
import { ColdFences, type ColdFence } from './journal-cold-store';

/** A journal fetch gathering this much is answered before its wait ends (catch-up reads stay full-speed). */
const JOURNAL_READ_MIN_BYTES = 512 * 1024;

/** What a role decided for one turn, as the journal keeps it. */
export type JournalEntry = Omit<ModelCallRecorded, 'nonce'>;

/**
 * A recent entry, held in full: flat, with the usage (spec, raw output, retries: ~10 objects and
 * strings decoded) as one JSON string, parsed back only when an entry is read. `offset` is its
 * position in the journal topic, -1 until this instance's reader has read it.
 */
class HotEntry {
  constructor(
    readonly entry: JournalEntry['entry'],
    readonly role: string,
    readonly transcriptLength: number,
    readonly usageJson: string | null,
    readonly errorMessage: string | null,
    readonly decidedAtMs: number,
    readonly deadlineAtMs: number,
    public partition: number,
    public offset: number,
    readonly rememberedAtMs: number,
  ) {}

  /** Held entries are exact (see fence()); a getter, so no field per entry. */
  get cold(): boolean {
    return false;
  }
}

export interface ModelCallJournalOptions {
  bus: EventBus;
  topicPrefix: string;
  role: 'questioner' | 'answerer';
  logger?: Logger;
  /** Entries are forgotten this long after their game's deadline (default 10 min). */
  graceAfterDeadlineMs?: number;
  /** Most games held in full; the oldest go first beyond it (default 200 000). Cold entries are bounded by deadline + grace. */
  maxGames?: number;
  /**
   * How long an entry is held in full after this instance remembered it; later only its fence and
   * position (default 2 min). 0: never held in full once its position is known (tests the read-back).
   */
  holdInFullMs?: number;
  /**
   * How long the reader lets records gather before the broker answers its fetch (default 250 ms; 0:
   * each record is fetched as it lands). The reader only learns positions and other instances'
   * entries, which nothing waits for except a barrier after a rebalance, so it waits instead of
   * fetching once per record: a fetch round trip per journal record cost both players and the
   * broker as much as fetching their input.
   */
  readWaitMs?: number;
  /** How long reading a cold entry back from the topic may take before the turn is retried (default 30 s). */
  readBackTimeoutMs?: number;
  /** How long a barrier waits for its marker before the handler is retried (default 120 s: a restarted instance reads up to an hour of journal first). */
  barrierTimeoutMs?: number;
  now?: () => number;
}

/** A player role's journal as configured (DG_TOPIC_PREFIX, DG_JOURNAL_*). */
export function modelCallJournalFromConfig(
  bus: EventBus,
  config: Pick<DgConfig, 'topics' | 'journal'>,
  role: ModelCallJournalOptions['role'],
): ModelCallJournal {
  return new ModelCallJournal({
    bus,
    topicPrefix: config.topics.prefix,
    role,
    graceAfterDeadlineMs: config.journal.graceAfterDeadlineMs,
    holdInFullMs: config.journal.holdInFullMs,
    readWaitMs: config.journal.readWaitMs,
  });
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
 * deadline is ended as timeout by any role anyway) and beyond `maxGames`. An entry is held in full
 * only for `holdInFullMs` after this instance remembered it (redeliveries after a rebalance or a
 * restart come within seconds); after that it keeps its fence and its topic position, and a turn
 * re-handled later reads it back from the topic (journal-cold-store.ts).
 */
export class ModelCallJournal {
  /** Entries held in full, by game id (recent ones, and any whose position is not known yet). */
  private readonly held = new Map<string, HotEntry>();
  /** Older entries: fence and topic position only (journal-cold-store.ts). */
  private readonly cold = new ColdFences();
  private readonly waiters = new Map<string, { resolve: () => void; reject: (error: Error) => void }>();
  private readonly barriers = new Map<string, Promise<void>>();
  /** Keys of `barriers` whose marker was read back (so ensureFresh need not wait on the promise). */
  private readonly passed = new Set<string>();
  readonly logger: Logger;
  private readonly graceMs: number;
  private readonly maxGames: number;
  private readonly holdInFullMs: number;
  private readonly readBackTimeoutMs: number;
  private readonly barrierTimeoutMs: number;
  private readonly readWaitMs: number;
  private readonly now: () => number;
  private subscription: Subscription | undefined;
  private sweepTimer: NodeJS.Timeout | undefined;
  /** Counters for tests and logs. */
  readonly counters = { recorded: 0, reused: 0, fenced: 0, barriers: 0, read: 0, readBack: 0 };

  constructor(private readonly options: ModelCallJournalOptions) {
    this.logger = options.logger ?? createLogger(`journal.${options.role}`);
    this.graceMs = options.graceAfterDeadlineMs ?? 10 * 60_000;
    this.maxGames = options.maxGames ?? 200_000;
    this.holdInFullMs = options.holdInFullMs ?? 2 * 60_000;
    this.readBackTimeoutMs = options.readBackTimeoutMs ?? 30_000;
    this.barrierTimeoutMs = options.barrierTimeoutMs ?? 120_000;
    this.readWaitMs = options.readWaitMs ?? 250;
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
      handler: async (event, ctx) => this.apply(event, ctx),
      // Journal records are not a game's hop between roles, and wait readWaitMs here on purpose.
      recordHops: false,
      // A barrier marker passes only with every earlier record of its partition applied: other
      // games' records must not overtake it (they would, keyed by game id, in a large batch).
      inOffsetOrder: true,
      ...(this.readWaitMs > 0 ? { fetch: { minBytes: JOURNAL_READ_MIN_BYTES, maxWaitTimeMs: this.readWaitMs } } : {}),
    });
    this.sweepTimer = setInterval(() => this.sweep(), Math.min(30_000, Math.max(1_000, this.holdInFullMs / 4)));
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
   * turn checks; latest() is only needed when a turn is re-handled. `cold`: found in the cold tier
   * by a hash of the game id; a turn it would skip or replay confirms it with latest().
   */
  fence(gameId: string): Readonly<Pick<JournalEntry, 'transcriptLength' | 'role'> & { cold: boolean }> | undefined {
    const held = this.held.get(gameId);
    if (held !== undefined) return held;
    const cold = this.cold.get(gameId);
    return cold === undefined ? undefined : { transcriptLength: cold.transcriptLength, role: cold.role, cold: true };
  }

  /**
   * The latest entry of a game (highest transcript length; the first written wins a tie). A cold
   * entry is read back from the journal topic (slow, rare: a turn re-handled minutes after it was
   * decided); an entry the topic no longer holds is a non-retriable error naming its position.
   */
  async latest(gameId: string): Promise<JournalEntry | undefined> {
    const held = this.held.get(gameId);
    if (held !== undefined) return fullEntry(gameId, held);
    const cold = this.cold.get(gameId);
    if (cold === undefined) return undefined;
    const position = `model-calls partition ${cold.partition} offset ${cold.offset}`;
    const event = await this.options.bus.readAt('modelCalls', cold.partition, String(cold.offset), { timeoutMs: this.readBackTimeoutMs });
    const what = `the ${cold.role} entry of game ${gameId} (transcript length ${cold.transcriptLength})`;
    if (event === undefined)
      throw new NonRetriableError(`model-call journal: ${what} is no longer at ${position} (removed by retention); the turn cannot be replayed identically`);
    // Another game's slot (the cold tier finds games by a hash of their id): this game has no entry.
    if (event.gameId !== gameId) return undefined;
    if (event.transcriptLength !== cold.transcriptLength || event.role !== cold.role)
      throw new NonRetriableError(`model-call journal: ${what} is no longer at ${position} (another record is there); the turn cannot be replayed identically`);
    this.counters.readBack++;
    const { nonce: _nonce, ...entry } = event;
    // Held in full again: a turn re-handled once is likely to be re-handled again soon.
    if (!this.held.has(gameId)) this.held.set(gameId, hotEntry(entry, cold.partition, cold.offset, this.now()));
    return entry;
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

  /** Games remembered (held in full or cold). */
  get size(): number {
    return this.held.size + this.cold.size;
  }

  private apply(event: ModelCallRecorded, at: Pick<MessageContext<TopicKey>, 'partition' | 'offset'> | undefined): void {
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
    const offset = at === undefined ? -1 : Number(at.offset);
    const known = this.held.get(entry.gameId);
    // This instance's own record read back: the held entry learns where it sits in the topic.
    if (known !== undefined && known.offset < 0 && at !== undefined && sameDecision(known, entry)) {
      known.partition = at.partition;
      known.offset = offset;
      if (this.holdInFullMs === 0) this.demote(entry.gameId, known);
      return;
    }
    this.remember(entry, at?.partition ?? -1, offset);
  }

  private remember(entry: JournalEntry, partition = -1, offset = -1): void {
    if (entry.deadlineAtMs > 0 && entry.deadlineAtMs + this.graceMs < this.now()) return;
    const known = this.fence(entry.gameId);
    if (known !== undefined && known.transcriptLength >= entry.transcriptLength) return;
    this.held.delete(entry.gameId);
    const held = hotEntry(entry, partition, offset, this.now());
    this.held.set(entry.gameId, held);
    if (this.holdInFullMs === 0 && offset >= 0) this.demote(entry.gameId, held);
    if (this.held.size > this.maxGames) this.held.delete(this.held.keys().next().value as string);
  }

  /** Keeps only the fence and position of an entry (entries without a deadline or an unpackable one stay held). */
  private demote(gameId: string, held: HotEntry): void {
    if (held.deadlineAtMs <= 0 || held.offset < 0) return;
    const fence = { role: held.role as ColdFence['role'], transcriptLength: held.transcriptLength, partition: held.partition, offset: held.offset };
    if (this.cold.set(gameId, held.deadlineAtMs + this.graceMs, fence)) this.held.delete(gameId);
  }

  /** Drops entries past deadline + grace; keeps only the fence and position of entries held in full long enough. */
  private sweep(): void {
    const now = this.now();
    for (const [gameId, held] of this.held) {
      if (held.deadlineAtMs > 0 && held.deadlineAtMs + this.graceMs < now) this.held.delete(gameId);
      else if (held.rememberedAtMs + this.holdInFullMs <= now) this.demote(gameId, held);
    }
    this.cold.expire(now);
  }
}

/** The role names as constants, not one decoded copy per entry. */
function roleName(role: string): string {
  return role === 'questioner' ? 'questioner' : role === 'answerer' ? 'answerer' : role;
}

function hotEntry(entry: JournalEntry, partition: number, offset: number, nowMs: number): HotEntry {
  return new HotEntry(
    entry.entry,
    roleName(entry.role),
    entry.transcriptLength,
    entry.usage === null ? null : JSON.stringify(entry.usage),
    entry.errorMessage,
    entry.decidedAtMs,
    entry.deadlineAtMs,
    partition,
    offset,
    nowMs,
  );
}

function fullEntry(gameId: string, stored: HotEntry): JournalEntry {
  return {
    gameId,
    entry: stored.entry,
    role: stored.role,
    transcriptLength: stored.transcriptLength,
    usage: stored.usageJson === null ? null : (JSON.parse(stored.usageJson) as CallUsage),
    errorMessage: stored.errorMessage,
    decidedAtMs: stored.decidedAtMs,
    deadlineAtMs: stored.deadlineAtMs,
  };
}

/** The same decision (the same turn by the same role at the same instant): a record and its copy read back. */
function sameDecision(held: HotEntry, entry: JournalEntry): boolean {
  return held.transcriptLength === entry.transcriptLength && held.role === entry.role && held.decidedAtMs === entry.decidedAtMs && held.entry === entry.entry;
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
