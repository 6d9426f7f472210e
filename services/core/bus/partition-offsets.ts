/**
 * In-flight bookkeeping of one partition for one group generation. Messages are accepted in offset
 * order and may finish in any order; the committable offset is the lowest unfinished offset, or one
 * past the last accepted message when all are finished, so a commit never passes a message that has
 * not been handled.
 */
export class PartitionOffsets {
  /** Accepted offsets in ascending order, each with its finished flag; finished heads are dropped. */
  private readonly window: Array<{ offset: bigint; finished: boolean }> = [];
  private readonly indexByOffset = new Map<bigint, number>();
  private dropped = 0;
  private lastAccepted: bigint | undefined;
  private committed: bigint | undefined;

  constructor(
    readonly topic: string,
    readonly partition: number,
  ) {}

  /** Records a fetched message; false when the offset is not beyond the last accepted one (a re-fetch). */
  accept(offset: string): boolean {
    const value = BigInt(offset);
    if (this.lastAccepted !== undefined && value <= this.lastAccepted) return false;
    this.lastAccepted = value;
    this.indexByOffset.set(value, this.dropped + this.window.length);
    this.window.push({ offset: value, finished: false });
    return true;
  }

  finish(offset: string): void {
    const value = BigInt(offset);
    const index = this.indexByOffset.get(value);
    if (index === undefined) return;
    this.window[index - this.dropped]!.finished = true;
    while (this.window.length > 0 && this.window[0]!.finished) {
      this.indexByOffset.delete(this.window.shift()!.offset);
      this.dropped++;
    }
  }

  /** Accepted and not finished yet. */
  get unfinished(): number {
    return this.indexByOffset.size;
  }

  /** The offset a commit may record now (the next message to read after a restart), if any was accepted. */
  committable(): string | undefined {
    if (this.window.length > 0) return this.window[0]!.offset.toString();
    return this.lastAccepted === undefined ? undefined : (this.lastAccepted + 1n).toString();
  }

  /** The committable offset when it moved past the last recorded commit. */
  pendingCommit(): string | undefined {
    const next = this.committable();
    if (next === undefined) return undefined;
    return this.committed === undefined || BigInt(next) > this.committed ? next : undefined;
  }

  markCommitted(offset: string): void {
    const value = BigInt(offset);
    if (this.committed === undefined || value > this.committed) this.committed = value;
  }
}
