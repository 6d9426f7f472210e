import { randomBytes } from 'node:crypto';
import type { EventBus, Subscription } from '../core/bus';
import { RetriableError } from '../core/errors';
import type { TranscriptClaim } from '../../schemas/generated/events';

/** Most later (non-owning) claims remembered; beyond it the oldest are forgotten (see ClaimIndex). */
const DEFAULT_MAX_LATER_CLAIMS = 100_000;

/**
 * Who owns each transcript: the first claim of its hash in the claims log. Memory per transcript is
 * one map entry (hash → owner), because the log is never compacted and the index grows with the
 * dataset. The other games that claimed a hash (duplicates, redeliveries) are remembered in a
 * bounded FIFO only: a game whose later claim was forgotten just claims again and reads its new
 * claim back, getting the same owner.
 */
export class ClaimIndex {
  private readonly owners = new Map<string, string>();
  private readonly laterClaims = new Set<string>();
  private readonly waiters = new Map<string, Array<() => void>>();

  constructor(private readonly maxLaterClaims = DEFAULT_MAX_LATER_CLAIMS) {}

  /** Claims of one hash arrive in log order (they share a key, hence a partition). */
  record(claim: Pick<TranscriptClaim, 'transcriptHash' | 'gameId'>): void {
    const owner = this.owners.get(claim.transcriptHash);
    if (owner === undefined) this.owners.set(claim.transcriptHash, claim.gameId);
    const key = waiterKey(claim.transcriptHash, claim.gameId);
    if (owner !== undefined && owner !== claim.gameId) {
      this.laterClaims.add(key);
      if (this.laterClaims.size > this.maxLaterClaims) this.laterClaims.delete(this.laterClaims.values().next().value as string);
    }
    for (const wake of this.waiters.get(key) ?? []) wake();
    this.waiters.delete(key);
  }

  /** The owner of `hash` once a claim of `gameId` for it has been read; undefined before. */
  ownerSeenBy(hash: string, gameId: string): string | undefined {
    const owner = this.owners.get(hash);
    if (owner === undefined) return undefined;
    return owner === gameId || this.laterClaims.has(waiterKey(hash, gameId)) ? owner : undefined;
  }

  /** Transcripts known (one entry each). */
  get size(): number {
    return this.owners.size;
  }

  /** Resolves once a claim of `gameId` for `hash` has been read (at once if it already was). */
  async waitForClaim(hash: string, gameId: string, timeoutMs: number): Promise<string> {
    const seen = this.ownerSeenBy(hash, gameId);
    if (seen !== undefined) return seen;
    const key = waiterKey(hash, gameId);
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        const list = this.waiters.get(key)?.filter((w) => w !== wake) ?? [];
        if (list.length > 0) this.waiters.set(key, list);
        else this.waiters.delete(key);
        reject(new RetriableError(`the claim of transcript ${hash} by game ${gameId} was not read back within ${timeoutMs} ms`));
      }, timeoutMs);
      const wake = (): void => {
        clearTimeout(timer);
        resolve();
      };
      this.waiters.set(key, [...(this.waiters.get(key) ?? []), wake]);
    });
    // Read just now, so remembered (a later claim evicted at once by a full FIFO still has an owner).
    return this.ownerSeenBy(hash, gameId) ?? this.owners.get(hash)!;
  }
}

function waiterKey(hash: string, gameId: string): string {
  return `${hash}\u0000${gameId}`;
}

/**
 * The filter's duplicate rule, deterministic across instances, restarts and replays: a game that
 * would be kept publishes a TranscriptClaim keyed by its transcript hash, and the first claim of
 * that hash in the (never compacted, never expiring) claims log owns the transcript. Every filter
 * instance reads the whole claims log from the beginning into a ClaimIndex (its own consumer group,
 * so each sees every partition), and decides a game only once it has read the game's own claim
 * back: by then every earlier claim of the same hash has been read too (same key, same partition,
 * handled in order). A redelivered or replayed game claims again, later in the log, and is still
 * the owner or still not; a game on another instance, or after a restart, sees the same log.
 */
export class TranscriptClaims {
  readonly index = new ClaimIndex();
  private subscription: Subscription | undefined;
  constructor(
    private readonly bus: EventBus,
    private readonly options: { groupIdPrefix: string; readBackTimeoutMs?: number },
  ) {}

  async start(): Promise<void> {
    this.subscription = await this.bus.subscribe({
      // One group per instance: every instance reads every partition of the claims log.
      groupId: `${this.options.groupIdPrefix}.claims-reader.${randomBytes(6).toString('hex')}`,
      topics: ['transcriptClaim'],
      fromBeginning: true,
      handler: async (claim) => this.index.record(claim),
    });
  }

  /** Claims `hash` for `gameId` and returns the owner: `gameId` itself unless another game claimed it first. */
  async claim(hash: string, gameId: string, runId: string): Promise<string> {
    const known = this.index.ownerSeenBy(hash, gameId);
    if (known !== undefined) return known;
    await this.bus.publish('transcriptClaim', hash, { transcriptHash: hash, gameId, runId, claimedAtMs: Date.now() });
    return this.index.waitForClaim(hash, gameId, this.options.readBackTimeoutMs ?? 60_000);
  }

  /** Stop only after the filter's own subscription drained: its running handlers wait for claims read here. */
  async stop(): Promise<void> {
    await this.subscription?.stop();
  }
}
