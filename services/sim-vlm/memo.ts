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
