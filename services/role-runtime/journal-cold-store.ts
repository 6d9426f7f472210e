/**
 * The cold tier of the model-call journal: for every game whose entry is no longer held in full,
 * the fence (transcript length, role) and where the full entry sits in the journal topic, in ~20-50
 * bytes per game instead of a string key and an object (~180 bytes). A player keeps these for
 * every game launched within deadline + grace, so this is what keeps its heap flat.
 *
 * Layout: one open-addressing hash table (two Float64Arrays) per minute of expiry, so forgetting
 * the games of a minute is dropping one table. A game is found by a 53-bit hash of its id, not by
 * the id itself: a lookup may (with odds of ~1e-11 per lookup at 100 000 games) return another
 * game's slot, so callers confirm the id when they read the entry back from the topic.
 */

/** What a cold lookup gives: the fence and the entry's position in the journal topic. */
export interface ColdFence {
  role: 'questioner' | 'answerer';
  transcriptLength: number;
  partition: number;
  offset: number;
}

const BUCKET_MS = 60_000;
const INITIAL_SLOTS = 1024;
// Packed value: offset · 2^19 + partition · 2^9 + role · 2^8 + transcript length (all < 2^53).
const LENGTH_LIMIT = 1 << 8;
const PARTITION_LIMIT = 1 << 10;
const OFFSET_LIMIT = 2 ** 34;

class HashTable {
  keys = new Float64Array(INITIAL_SLOTS);
  values = new Float64Array(INITIAL_SLOTS);
  size = 0;

  get(hash: number): number | undefined {
    const mask = this.keys.length - 1;
    for (let i = slotOf(hash, mask); ; i = (i + 1) & mask) {
      const key = this.keys[i]!;
      if (key === 0) return undefined;
      if (key === hash) return this.values[i];
    }
  }

  set(hash: number, value: number): void {
    if ((this.size + 1) * 2 > this.keys.length) this.grow();
    const mask = this.keys.length - 1;
    for (let i = slotOf(hash, mask); ; i = (i + 1) & mask) {
      const key = this.keys[i]!;
      if (key === 0 || key === hash) {
        if (key === 0) this.size++;
        this.keys[i] = hash;
        this.values[i] = value;
        return;
      }
    }
  }

  private grow(): void {
    const { keys, values } = this;
    this.keys = new Float64Array(keys.length * 2);
    this.values = new Float64Array(keys.length * 2);
    this.size = 0;
    for (let i = 0; i < keys.length; i++) if (keys[i] !== 0) this.set(keys[i]!, values[i]!);
  }
}

function slotOf(hash: number, mask: number): number {
  return (hash % 0x40000000) & mask;
}

/** A 53-bit hash of a string (two 32-bit multiplicative hashes), never 0 (the empty-slot mark). */
export function hash53(text: string): number {
  let a = 0x811c9dc5;
  let b = 0x9e3779b9;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    a = Math.imul(a ^ c, 0x01000193);
    b = Math.imul(b ^ c, 0x5bd1e995);
    b ^= b >>> 15;
  }
  a = Math.imul(a ^ (a >>> 16), 0x85ebca6b);
  a ^= a >>> 13;
  b = Math.imul(b ^ (b >>> 16), 0xc2b2ae35);
  b ^= b >>> 16;
  const hash = (a >>> 0) * 2 ** 21 + ((b >>> 0) >>> 11);
  return hash === 0 ? 1 : hash;
}

export class ColdFences {
  /** Tables by expiry minute (deadline + grace, in minutes since the epoch). */
  private readonly tables = new Map<number, HashTable>();

  /**
   * Stores a game's fence and position until `expiresAtMs`. False when the values do not fit the
   * packing (another role, transcript ≥ 256 turns, partition ≥ 1024, offset ≥ 2^34): the caller
   * keeps the entry some other way.
   */
  set(gameId: string, expiresAtMs: number, fence: ColdFence): boolean {
    const { transcriptLength, partition, offset } = fence;
    if (
      (fence.role !== 'questioner' && fence.role !== 'answerer') ||
      transcriptLength < 0 ||
      transcriptLength >= LENGTH_LIMIT ||
      partition < 0 ||
      partition >= PARTITION_LIMIT ||
      offset < 0 ||
      offset >= OFFSET_LIMIT
    )
      return false;
    const minute = Math.floor(expiresAtMs / BUCKET_MS);
    let table = this.tables.get(minute);
    if (table === undefined) {
      table = new HashTable();
      this.tables.set(minute, table);
    }
    table.set(hash53(gameId), offset * 2 ** 19 + partition * 2 ** 9 + (fence.role === 'answerer' ? 1 : 0) * 2 ** 8 + transcriptLength);
    return true;
  }

  /** The fence and position stored for a game (the latest expiry first), or undefined. */
  get(gameId: string): ColdFence | undefined {
    if (this.tables.size === 0) return undefined;
    const hash = hash53(gameId);
    let best: number | undefined;
    let bestLength = -1;
    for (const table of this.tables.values()) {
      const packed = table.get(hash);
      if (packed !== undefined && packed % LENGTH_LIMIT > bestLength) {
        best = packed;
        bestLength = packed % LENGTH_LIMIT;
      }
    }
    if (best === undefined) return undefined;
    return {
      transcriptLength: best % LENGTH_LIMIT,
      role: Math.floor(best / 2 ** 8) % 2 === 1 ? 'answerer' : 'questioner',
      partition: Math.floor(best / 2 ** 9) % PARTITION_LIMIT,
      offset: Math.floor(best / 2 ** 19),
    };
  }

  /** Forgets every game that expired before `nowMs` (whole minutes). */
  expire(nowMs: number): void {
    for (const minute of this.tables.keys()) if ((minute + 1) * BUCKET_MS <= nowMs) this.tables.delete(minute);
  }

  get size(): number {
    let size = 0;
    for (const table of this.tables.values()) size += table.size;
    return size;
  }

  /** Bytes held by the tables (for tests and logs). */
  get bytes(): number {
    let bytes = 0;
    for (const table of this.tables.values()) bytes += table.keys.byteLength + table.values.byteLength;
    return bytes;
  }
}
