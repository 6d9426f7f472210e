import { AbortedError, BadInputError, RetriableError } from './errors';
import { backoffDelayMs, retry, RetryInfo } from './retry';

/** A fake clock whose sleep advances time instantly, so tests never wait. */
function fakeClock() {
  let now = 0;
  const sleeps: number[] = [];
  return {
    now: () => now,
    sleeps,
    sleep: async (ms: number, signal?: AbortSignal) => {
      if (signal?.aborted) throw new AbortedError('aborted');
      sleeps.push(ms);
      now += ms;
    },
  };
}

function failing(times: number, error: () => unknown = () => new RetriableError('transient')) {
  let calls = 0;
  const fn = jest.fn(async (attempt: number) => {
    calls++;
    if (calls <= times) throw error();
    return `ok after ${attempt}`;
  });
  return fn;
}

const policy = { maxAttempts: 5, initialDelayMs: 100, maxDelayMs: 1000 };

describe('backoffDelayMs', () => {
  it('draws uniformly below an exponentially growing, capped window', () => {
    const top = () => 0.999999;
    expect(backoffDelayMs(1, policy, top)).toBe(99);
    expect(backoffDelayMs(2, policy, top)).toBe(199);
    expect(backoffDelayMs(3, policy, top)).toBe(399);
    expect(backoffDelayMs(4, policy, top)).toBe(799);
    expect(backoffDelayMs(5, policy, top)).toBe(999);
    expect(backoffDelayMs(30, policy, top)).toBe(999);
    expect(backoffDelayMs(3, policy, () => 0)).toBe(0);
    expect(backoffDelayMs(3, policy, () => 0.5)).toBe(200);
  });
});

describe('retry', () => {
  it('retries retriable errors with jittered delays and reports each retry', async () => {
    const clock = fakeClock();
    const onRetry = jest.fn<void, [RetryInfo]>();
    const fn = failing(3);
    await expect(retry(fn, { ...policy, random: () => 0.5, sleep: clock.sleep, now: clock.now, onRetry })).resolves.toBe('ok after 4');
    expect(fn).toHaveBeenCalledTimes(4);
    expect(clock.sleeps).toEqual([50, 100, 200]);
    expect(onRetry.mock.calls.map(([info]) => [info.attempt, info.delayMs])).toEqual([
      [1, 50],
      [2, 100],
      [3, 200],
    ]);
  });

  it('rethrows the last error unchanged after maxAttempts', async () => {
    const clock = fakeClock();
    const fn = failing(10);
    await expect(retry(fn, { ...policy, maxAttempts: 3, random: () => 0, sleep: clock.sleep, now: clock.now })).rejects.toBeInstanceOf(RetriableError);
    expect(fn).toHaveBeenCalledTimes(3);
  });

  it('does not retry non-retriable errors', async () => {
    const clock = fakeClock();
    const fn = failing(1, () => new BadInputError('bad image'));
    await expect(retry(fn, { ...policy, sleep: clock.sleep, now: clock.now })).rejects.toThrow('bad image');
    expect(fn).toHaveBeenCalledTimes(1);
  });

  it('uses a custom retry predicate', async () => {
    const clock = fakeClock();
    const fn = failing(2, () => new Error('plain'));
    await expect(retry(fn, { ...policy, shouldRetry: () => true, random: () => 0, sleep: clock.sleep, now: clock.now })).resolves.toBe('ok after 3');
  });

  it('gives up when the next attempt would pass the deadline', async () => {
    const clock = fakeClock();
    const fn = failing(10);
    await expect(retry(fn, { ...policy, maxAttempts: 100, deadlineMs: 250, random: () => 0.999, sleep: clock.sleep, now: clock.now })).rejects.toBeInstanceOf(
      RetriableError,
    );
    // windows 100, 200: 99 + 199 = 298 > 250, so only the first wait happens.
    expect(clock.sleeps).toEqual([99]);
    expect(fn).toHaveBeenCalledTimes(2);
  });

  it('honours a server-suggested wait within the cap', async () => {
    const clock = fakeClock();
    let calls = 0;
    const fn = async () => {
      if (calls++ === 0) throw new RetriableError('rate limited', { retryAfterMs: 5000 });
      return 'ok';
    };
    await retry(fn, { ...policy, random: () => 0, sleep: clock.sleep, now: clock.now });
    expect(clock.sleeps).toEqual([1000]);
  });

  it('stops with AbortedError (cause = last error) when the signal aborts while waiting', async () => {
    const controller = new AbortController();
    const fn = failing(10);
    const pending = retry(fn, { ...policy, initialDelayMs: 60_000, maxDelayMs: 60_000, random: () => 1, signal: controller.signal });
    controller.abort();
    const err = await pending.catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AbortedError);
    expect((err as AbortedError).cause).toBeInstanceOf(RetriableError);
    expect(fn).toHaveBeenCalledTimes(1);
  });

  it('does not start when already aborted', async () => {
    const controller = new AbortController();
    controller.abort();
    const fn = failing(0);
    await expect(retry(fn, { ...policy, signal: controller.signal })).rejects.toBeInstanceOf(AbortedError);
    expect(fn).not.toHaveBeenCalled();
  });

  it('keeps `waits` errors off the attempt budget: their own budget, the full Retry-After, the deadline', async () => {
    const clock = fakeClock();
    const wait = (retryAfterMs?: number) => new RetriableError('busy', { code: 'BUSY', ...(retryAfterMs === undefined ? {} : { retryAfterMs }) });
    const script: unknown[] = [wait(3_000), wait(), new RetriableError('boom'), wait(), new RetriableError('boom')];
    const onRetry = jest.fn<void, [RetryInfo]>();
    const fn = jest.fn(async (attempt: number) => {
      const next = script.shift();
      if (next) throw next;
      return `ok after ${attempt}`;
    });
    const waits = { matches: (e: unknown) => (e as { code?: string }).code === 'BUSY', maxAttempts: 10, initialDelayMs: 100, maxDelayMs: 60_000 };
    await expect(
      retry(fn, { maxAttempts: 3, initialDelayMs: 100, maxDelayMs: 1_000, waits, random: () => 0.5, sleep: clock.sleep, now: clock.now, onRetry }),
    ).resolves.toBe('ok after 6');
    // Waits: 3 s in full (above the failures' maxDelayMs), then jittered backoff on the waits' own
    // count (2nd wait: 100, 3rd: 200); failures on theirs (1st: 50, 2nd: 100).
    expect(clock.sleeps).toEqual([3_000, 100, 50, 200, 100]);
    expect(onRetry.mock.calls.map(([info]) => info.waited)).toEqual([true, true, false, true, false]);

    const always = jest.fn(async () => {
      throw wait();
    });
    await expect(
      retry(always, {
        maxAttempts: 3,
        initialDelayMs: 100,
        maxDelayMs: 1_000,
        waits: { ...waits, maxAttempts: 5 },
        random: () => 0,
        sleep: clock.sleep,
        now: clock.now,
      }),
    ).rejects.toMatchObject({ code: 'BUSY' });
    expect(always).toHaveBeenCalledTimes(5);

    const late = jest.fn(async () => {
      throw wait(10_000);
    });
    await expect(
      retry(late, { maxAttempts: 3, initialDelayMs: 100, maxDelayMs: 1_000, deadlineMs: 5_000, waits, sleep: clock.sleep, now: clock.now }),
    ).rejects.toMatchObject({ code: 'BUSY' });
    expect(late).toHaveBeenCalledTimes(1);
  });
});
