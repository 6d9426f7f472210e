import { AbortedError } from '../errors';
import { configureLogging, resetLogging, type Logger } from '../logging';
import { AdaptiveLimiter, LimiterRegistry, type LimiterClock, type LimiterPermit, type LimiterSettings } from './limiter';

/** A clock that moves only when the test says so; timers fire in time order on advance(). */
class ManualClock implements LimiterClock {
  private at = 1_000_000;
  private nextId = 1;
  private readonly timers = new Map<number, { at: number; callback: () => void }>();

  now(): number {
    return this.at;
  }

  setTimer(callback: () => void, ms: number): unknown {
    const id = this.nextId++;
    this.timers.set(id, { at: this.at + Math.max(0, ms), callback });
    return id;
  }

  clearTimer(handle: unknown): void {
    this.timers.delete(handle as number);
  }

  advance(ms: number): void {
    const end = this.at + ms;
    for (;;) {
      const due = [...this.timers.entries()].filter(([, t]) => t.at <= end).sort((a, b) => a[1].at - b[1].at)[0];
      if (!due) break;
      this.timers.delete(due[0]);
      this.at = due[1].at;
      due[1].callback();
    }
    this.at = end;
  }
}

const settings = (overrides: Partial<LimiterSettings> = {}): LimiterSettings => ({
  initialLimit: 4,
  maxLimit: 16,
  latencyTargetMs: 1_000,
  maxRpm: null,
  maxTpm: null,
  ...overrides,
});

interface LogLine {
  message: string;
  fields: Record<string, unknown> | undefined;
}

function recordingLogger(lines: LogLine[]): Logger {
  const record = (message: string, fields?: Record<string, unknown>): void => void lines.push({ message, fields });
  const logger = { info: record, warn: record, error: record, debug: record, trace: record, child: () => logger } as unknown as Logger;
  return logger;
}

let clock: ManualClock;
let logs: LogLine[];

function limiter(overrides: Partial<LimiterSettings> = {}): AdaptiveLimiter {
  return new AdaptiveLimiter({
    endpoint: 'http://vlm/v1',
    model: 'm',
    settings: settings(overrides),
    clock,
    logger: recordingLogger(logs),
    decreaseFactor: 0.75,
  });
}

/** Lets promise callbacks (grants) run. */
const flush = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** Acquires `n` permits that are granted now (fails if one waits). */
async function take(l: AdaptiveLimiter, n: number): Promise<LimiterPermit[]> {
  const permits: LimiterPermit[] = [];
  for (let i = 0; i < n; i++) {
    let granted: LimiterPermit | undefined;
    void l.acquire().then((p) => (granted = p));
    await flush();
    if (!granted) throw new Error(`permit ${i + 1} of ${n} was not granted (limit ${l.limit}, in flight ${l.inFlight})`);
    permits.push(granted);
  }
  return permits;
}

const fast = { kind: 'success', latencyMs: 100, tokens: 10 } as const;

beforeAll(() => configureLogging({ level: 'silent' }));
afterAll(() => resetLogging());
beforeEach(() => {
  clock = new ManualClock();
  logs = [];
});

describe('AdaptiveLimiter', () => {
  it('starts at the initial limit and queues calls beyond it', async () => {
    const l = limiter();
    await take(l, 4);
    let fifth = false;
    void l.acquire().then(() => (fifth = true));
    await flush();
    expect(fifth).toBe(false);
    expect(l.snapshot()).toMatchObject({ limit: 4, inFlight: 4, queued: 1, endpoint: 'http://vlm/v1', model: 'm', maxLimit: 16, minLimit: 1 });
  });

  it('increases by about one per window of fast successes while the limit is in use', async () => {
    const l = limiter();
    // A saturated endpoint: calls always waiting, each success hands its slot to the next.
    const held: LimiterPermit[] = [];
    for (let i = 0; i < 40; i++) void l.acquire().then((p) => held.push(p));
    await flush();
    const limits: number[] = [];
    for (let i = 0; i < 24; i++) {
      held.shift()!.release(fast);
      await flush();
      limits.push(l.limit);
      expect(l.inFlight).toBe(l.limit);
    }
    // window += 1/window per success: 4 → 5 after 5 successes, → 6 after 10, → 7 after 17, → 8 after 24.
    expect([limits[3], limits[4], limits[9], limits[16], limits[23]]).toEqual([4, 5, 6, 7, 8]);
    expect(logs.some((line) => line.message.includes('limit changed') && line.fields?.from === 4 && line.fields?.to === 5)).toBe(true);
  });

  it('does not increase on slow successes nor while the limit is mostly idle', async () => {
    const l = limiter();
    for (let i = 0; i < 20; i++) {
      const [p] = await take(l, 1);
      p!.release(fast); // one call in flight of a limit of 4: says nothing about capacity
    }
    for (let round = 0; round < 5; round++) {
      for (const p of await take(l, 4)) p.release({ kind: 'success', latencyMs: 5_000, tokens: 10 });
    }
    expect(l.limit).toBe(4);
  });

  it('never rises above the ceiling', async () => {
    const l = limiter({ initialLimit: 2, maxLimit: 3 });
    for (let round = 0; round < 30; round++) for (const p of await take(l, l.limit)) p.release(fast);
    expect(l.limit).toBe(3);
    expect(l.snapshot().window).toBeLessThanOrEqual(3);
  });

  it('decreases multiplicatively on 429/503 and timeouts, once per window, down to the floor of 1', async () => {
    const l = limiter({ initialLimit: 16, maxLimit: 16 });
    const burst = await take(l, 16);
    // All 16 calls of one window fail together: one decrease, not sixteen.
    for (const p of burst) p.release({ kind: 'overloaded' });
    expect(l.limit).toBe(12);
    const next = await take(l, 12);
    next[0]!.release({ kind: 'timeout' });
    expect(l.limit).toBe(9);
    for (const p of next.slice(1)) p.release({ kind: 'ignored' });
    for (let i = 0; i < 20; i++) {
      const [p] = await take(l, 1);
      p!.release({ kind: 'overloaded' });
    }
    expect(l.limit).toBe(1);
    expect(l.snapshot()).toMatchObject({ limit: 1, inFlight: 0 });
  });

  it('ignores 5xx, connection and client errors for the limit', async () => {
    const l = limiter();
    for (const p of await take(l, 4)) p.release({ kind: 'ignored' });
    expect(l.limit).toBe(4);
  });

  it('pauses new calls for Retry-After, then serves them in arrival order', async () => {
    const l = limiter({ initialLimit: 4 });
    const [p] = await take(l, 1);
    p!.release({ kind: 'overloaded', retryAfterMs: 2_000 });
    expect(l.snapshot().pausedUntilMs).toBe(clock.now() + 2_000);
    const order: number[] = [];
    for (const i of [1, 2, 3]) void l.acquire().then((permit) => (order.push(i), permit));
    await flush();
    clock.advance(1_999);
    await flush();
    expect(order).toEqual([]);
    expect(l.snapshot().queued).toBe(3);
    clock.advance(1);
    await flush();
    expect(order).toEqual([1, 2, 3]);
    expect(l.snapshot().pausedUntilMs).toBe(0);
  });

  it('grants waiting calls first come, first served as permits free up', async () => {
    const l = limiter({ initialLimit: 2, maxLimit: 2 });
    const held = await take(l, 2);
    const order: number[] = [];
    const permits: Promise<LimiterPermit>[] = [];
    for (let i = 1; i <= 5; i++) permits.push(l.acquire().then((permit) => (order.push(i), permit)));
    for (const p of held) p.release({ kind: 'ignored' });
    await flush();
    expect(order).toEqual([1, 2]);
    (await permits[0]!).release({ kind: 'ignored' });
    (await permits[1]!).release({ kind: 'ignored' });
    await flush();
    expect(order).toEqual([1, 2, 3, 4]);
  });

  it('tryAcquire grants at once only what acquire would grant without queueing', async () => {
    const l = limiter({ initialLimit: 2, maxLimit: 2, maxRpm: 3 });
    const first = l.tryAcquire();
    expect(first).toBeDefined();
    expect(l.inFlight).toBe(1);
    const [second] = await take(l, 1);
    // Full: no permit, and the one waiting keeps its place in line ahead of later tries.
    expect(l.tryAcquire()).toBeUndefined();
    let waiting = false;
    void l.acquire().then((permit) => ((waiting = true), permit.release({ kind: 'ignored' })));
    first!.release({ kind: 'ignored' });
    expect(l.tryAcquire()).toBeUndefined();
    await flush();
    expect(waiting).toBe(true);
    second!.release({ kind: 'ignored' });
    // Three starts in this minute hit the RPM cap: no permit until a minute has passed.
    expect(l.tryAcquire()).toBeUndefined();
    clock.advance(60_000);
    const later = l.tryAcquire();
    expect(later).toBeDefined();
    later!.release({ kind: 'overloaded', retryAfterMs: 1_000 });
    // A Retry-After pause holds tryAcquire too.
    expect(l.tryAcquire()).toBeUndefined();
    clock.advance(1_000);
    expect(l.tryAcquire()).toBeDefined();
  });

  it('gives up a wait longer than timeoutMs like an aborted one, and keeps a wait granted in time', async () => {
    const l = limiter({ initialLimit: 1, maxLimit: 1 });
    const [held] = await take(l, 1);
    const timedOut = l.acquire(undefined, 1_000);
    let inTime: LimiterPermit | undefined;
    void l.acquire(new AbortController().signal, 5_000).then((permit) => (inTime = permit));
    clock.advance(999);
    await flush();
    expect(l.snapshot().queued).toBe(2);
    clock.advance(1);
    const error = await timedOut.catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AbortedError);
    expect((error as Error).cause).toMatchObject({ name: 'TimeoutError' });
    expect(l.snapshot().queued).toBe(1);
    held!.release({ kind: 'ignored' });
    await flush();
    expect(inTime).toBeDefined();
    // Its timer is gone with the grant: nothing fires later.
    clock.advance(10_000);
    await flush();
    expect(l.inFlight).toBe(1);
  });

  it('drops an aborted waiter from the queue', async () => {
    const l = limiter({ initialLimit: 1, maxLimit: 1 });
    const [held] = await take(l, 1);
    const controller = new AbortController();
    const aborted = l.acquire(controller.signal);
    let later = false;
    void l.acquire().then(() => (later = true));
    controller.abort();
    await expect(aborted).rejects.toBeInstanceOf(AbortedError);
    held!.release({ kind: 'ignored' });
    await flush();
    expect(later).toBe(true);
  });

  it('caps calls started per minute (RPM)', async () => {
    const l = limiter({ initialLimit: 10, maxLimit: 10, maxRpm: 3 });
    for (const p of await take(l, 3)) p.release(fast);
    let fourth = false;
    void l.acquire().then(() => (fourth = true));
    clock.advance(59_999);
    await flush();
    expect(fourth).toBe(false);
    expect(l.snapshot()).toMatchObject({ rpm: 3, queued: 1 });
    clock.advance(1);
    await flush();
    expect(fourth).toBe(true);
  });

  it('caps tokens per minute (TPM) by the usage of finished calls', async () => {
    const l = limiter({ initialLimit: 10, maxLimit: 10, maxTpm: 1_000 });
    const [a] = await take(l, 1);
    a!.release({ kind: 'success', latencyMs: 10, tokens: 600 });
    clock.advance(10_000);
    const [b] = await take(l, 1);
    b!.release({ kind: 'success', latencyMs: 10, tokens: 600 });
    let third = false;
    void l.acquire().then(() => (third = true));
    await flush();
    expect(third).toBe(false);
    expect(l.snapshot().tpm).toBe(1_200);
    // The first 600 tokens age out 60 s after they were used: 600 < 1000 again.
    clock.advance(49_999);
    await flush();
    expect(third).toBe(false);
    clock.advance(1);
    await flush();
    expect(third).toBe(true);
  });

  it('logs limit changes at most once per interval, and the latest change when the interval ends', async () => {
    const l = limiter({ initialLimit: 16, maxLimit: 16 });
    for (let i = 0; i < 4; i++) {
      const [p] = await take(l, 1);
      p!.release({ kind: 'overloaded' });
    }
    expect(l.limit).toBe(5); // 16 → 12 → 9 → 6.75 → 5.06
    const changes = () => logs.filter((line) => line.message.includes('limit changed'));
    expect(changes()).toHaveLength(1);
    expect(changes()[0]!.fields).toMatchObject({ from: 16, to: 12 });
    clock.advance(5_000);
    expect(changes()).toHaveLength(2);
    expect(changes()[1]!.fields).toMatchObject({ from: 12, to: 5 });
  });
});

describe('LimiterRegistry', () => {
  it('shares one limiter per endpoint and model, widening the ceiling and keeping the stricter caps', () => {
    const registry = new LimiterRegistry({ clock });
    const a = registry.limiterFor('http://a/v1', 'm', settings({ maxLimit: 8, maxRpm: 100 }));
    const same = registry.limiterFor('http://a/v1', 'm', settings({ maxLimit: 32, maxRpm: 50 }));
    const otherModel = registry.limiterFor('http://a/v1', 'n', settings());
    expect(same).toBe(a);
    expect(otherModel).not.toBe(a);
    expect(registry.snapshots()).toEqual([
      expect.objectContaining({ endpoint: 'http://a/v1', model: 'm', maxLimit: 32, maxRpm: 50 }),
      expect.objectContaining({ endpoint: 'http://a/v1', model: 'n', maxLimit: 16, maxRpm: null }),
    ]);
  });
});
