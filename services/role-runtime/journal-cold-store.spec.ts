import { ColdFences, hash53 } from './journal-cold-store';

describe('ColdFences', () => {
  it('gives back each game’s fence and position, the latest write of a game winning', () => {
    const cold = new ColdFences();
    for (let i = 0; i < 5_000; i++) {
      expect(
        cold.set(`game-${i}`, 600_000 + (i % 3) * 60_000, {
          role: i % 2 ? 'answerer' : 'questioner',
          transcriptLength: i % 9,
          partition: i % 12,
          offset: 2 ** 33 + i,
        }),
      ).toBe(true);
    }
    expect(cold.size).toBe(5_000);
    for (const i of [0, 1, 2, 777, 4_999]) {
      expect(cold.get(`game-${i}`)).toEqual({ role: i % 2 ? 'answerer' : 'questioner', transcriptLength: i % 9, partition: i % 12, offset: 2 ** 33 + i });
    }
    expect(cold.get('game-5000')).toBeUndefined();
    cold.set('game-7', 600_000 + 60_000, { role: 'questioner', transcriptLength: 12, partition: 3, offset: 99 });
    expect(cold.get('game-7')).toEqual({ role: 'questioner', transcriptLength: 12, partition: 3, offset: 99 });
    expect(cold.size).toBe(5_000);
  });

  it('forgets whole expiry minutes, and holds a game in a few tens of bytes', () => {
    const cold = new ColdFences();
    for (let i = 0; i < 20_000; i++) cold.set(`g${i}`, i < 10_000 ? 60_000 : 180_500, { role: 'answerer', transcriptLength: 3, partition: 1, offset: i });
    expect(cold.bytes / cold.size).toBeLessThanOrEqual(64);
    cold.expire(119_999);
    expect(cold.size).toBe(20_000);
    cold.expire(120_000);
    expect(cold.size).toBe(10_000);
    expect(cold.get('g1')).toBeUndefined();
    expect(cold.get('g10001')).toMatchObject({ offset: 10_001 });
  });

  it('refuses what does not fit its packing, so the caller keeps it held', () => {
    const cold = new ColdFences();
    const fence = { role: 'questioner' as const, transcriptLength: 1, partition: 0, offset: 0 };
    expect(cold.set('a', 1, { ...fence, transcriptLength: 256 })).toBe(false);
    expect(cold.set('a', 1, { ...fence, partition: 1024 })).toBe(false);
    expect(cold.set('a', 1, { ...fence, offset: 2 ** 34 })).toBe(false);
    expect(cold.set('a', 1, { ...fence, offset: -1 })).toBe(false);
    expect(cold.set('a', 1, { ...fence, role: 'referee' as never })).toBe(false);
    expect(cold.size).toBe(0);
  });

  it('hashes ids to distinct non-zero 53-bit numbers', () => {
    const seen = new Set<number>();
    for (let i = 0; i < 200_000; i++) {
      const h = hash53(`00000000-0000-4000-8000-${String(i).padStart(12, '0')}`);
      expect(Number.isSafeInteger(h) && h > 0).toBe(true);
      seen.add(h);
    }
    expect(seen.size).toBe(200_000);
    expect(hash53('')).toBeGreaterThan(0);
  });
});
