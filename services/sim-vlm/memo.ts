/**
 * A bounded memo of a pure function of a string, for the simulator's per-call work that repeats
 * across calls (the same questions, descriptions and system prompts come back turn after turn).
 * Only for pure functions whose results are never mutated: a hit returns the very object computed
 * before. Keys longer than `maxKeyLength` are computed every time; when `maxEntries` is reached the
 * memo starts again (results never depend on it).
 */
export class StringMemo<V> {
  private readonly entries = new Map<string, V>();

  constructor(
    private readonly compute: (key: string) => V,
    private readonly maxEntries = 10_000,
    private readonly maxKeyLength = 4096,
  ) {}

  get(key: string): V {
    if (key.length > this.maxKeyLength) return this.compute(key);
    const known = this.entries.get(key);
    if (known !== undefined || this.entries.has(key)) return known as V;
    const value = this.compute(key);
    if (this.entries.size >= this.maxEntries) this.entries.clear();
    this.entries.set(key, value);
    return value;
  }

  clear(): void {
    this.entries.clear();
  }

  get size(): number {
    return this.entries.size;
  }
}

/**
 * A memo keyed by long strings (data: URLs of images, KBs each) that does not hash the whole key:
 * entries are found by a short fingerprint (length and the last 64 characters, which for a PNG hold
 * its last chunks' CRCs) and then compared in full, so a hit is always the very same key. Bounded by
 * the total length of the keys held (then it starts again) and by `maxPerBucket` keys per fingerprint.
 */
export class LongStringMemo<V> {
  private readonly buckets = new Map<string, Array<{ key: string; value: V }>>();
  private chars = 0;

  constructor(
    private readonly maxChars: number,
    private readonly maxPerBucket = 8,
  ) {}

  private static fingerprint(key: string): string {
    return `${key.length}:${key.slice(-64)}`;
  }

  /** The entry of `key`, if remembered. */
  find(key: string): { value: V } | undefined {
    const bucket = this.buckets.get(LongStringMemo.fingerprint(key));
    if (bucket === undefined) return undefined;
    for (const entry of bucket) if (entry.key === key) return entry;
    return undefined;
  }

  set(key: string, value: V): void {
    if (key.length > this.maxChars) return;
    const fingerprint = LongStringMemo.fingerprint(key);
    let bucket = this.buckets.get(fingerprint);
    const known = bucket?.find((entry) => entry.key === key);
    if (known) {
      known.value = value;
      return;
    }
    if (this.chars + key.length > this.maxChars) {
      this.buckets.clear();
      this.chars = 0;
      bucket = undefined;
    }
    if (bucket === undefined) this.buckets.set(fingerprint, (bucket = []));
    if (bucket.length >= this.maxPerBucket) this.chars -= bucket.shift()!.key.length;
    bucket.push({ key, value });
    this.chars += key.length;
  }

  clear(): void {
    this.buckets.clear();
    this.chars = 0;
  }
}
