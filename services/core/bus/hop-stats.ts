/**
 * Per-hop overhead of this process's consumers: milliseconds from a record's publish call (its
 * Kafka timestamp, set by EventPublisher) to its handler starting here. Process-wide on purpose:
 * `dg bench` reads it from each role process, and /metrics may expose it. Keeps the latest
 * HOP_SAMPLE_CAPACITY samples in a ring (bounded memory) plus totals.
 */
export const HOP_SAMPLE_CAPACITY = 65_536;

export interface HopSnapshot {
  /** Hops recorded since start (or the last reset). */
  count: number;
  sumMs: number;
  maxMs: number;
  /** The latest samples (at most HOP_SAMPLE_CAPACITY), oldest first. */
  samples: number[];
}

class HopStats {
  private readonly ring = new Float64Array(HOP_SAMPLE_CAPACITY);
  private count = 0;
  private sumMs = 0;
  private maxMs = 0;

  record(ms: number): void {
    if (!Number.isFinite(ms)) return;
    const value = ms < 0 ? 0 : ms;
    this.ring[this.count % HOP_SAMPLE_CAPACITY] = value;
    this.count++;
    this.sumMs += value;
    if (value > this.maxMs) this.maxMs = value;
  }

  /** Totals and up to `maxSamples` of the latest samples. */
  snapshot(maxSamples = HOP_SAMPLE_CAPACITY): HopSnapshot {
    const kept = Math.min(this.count, HOP_SAMPLE_CAPACITY, maxSamples);
    const start = this.count - kept;
    const samples = new Array<number>(kept);
    for (let i = 0; i < kept; i++) samples[i] = this.ring[(start + i) % HOP_SAMPLE_CAPACITY]!;
    return { count: this.count, sumMs: this.sumMs, maxMs: this.maxMs, samples };
  }

  reset(): void {
    this.count = 0;
    this.sumMs = 0;
    this.maxMs = 0;
  }
}

/** The process's hop recorder (one per process, shared by every consumer). */
export const hopStats = new HopStats();

/**
 * The producer's share of a hop, per record this process published: milliseconds from the publish
 * call to the broker's acknowledgement (the wait behind the produce request in flight plus its own
 * round trip). A hop minus this is, roughly, the broker's fetch answer and the consumer's side.
 */
export const publishAckStats = new HopStats();

/**
 * The round trip of each produce request this process's publisher sent (producer.send → its
 * acknowledgement), one sample per request however many records it carried. A publish's ack time
 * minus this is its wait behind the request in flight.
 */
export const produceRequestStats = new HopStats();
