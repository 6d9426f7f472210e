import { AbortedError } from '../errors';
import { Semaphore } from './semaphore';

/** Lets pending promise callbacks run. */
const flush = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

describe('Semaphore', () => {
  it('admits up to the limit and queues the rest in order', async () => {
    const semaphore = new Semaphore(2);
    const order: number[] = [];
    const releases = await Promise.all([semaphore.acquire(), semaphore.acquire()]);
    const third = semaphore.acquire().then((release) => {
      order.push(3);
      return release;
    });
    const fourth = semaphore.acquire().then((release) => {
      order.push(4);
      return release;
    });
    await flush();
    expect(semaphore.inFlight).toBe(2);
    expect(semaphore.waiting).toBe(2);
    expect(order).toEqual([]);

    releases[0]!();
    releases[0]!(); // a second release of the same slot is ignored
    await flush();
    expect(order).toEqual([3]);
    expect(semaphore.inFlight).toBe(2);

    releases[1]!();
    (await third)();
    (await fourth)();
    expect(order).toEqual([3, 4]);
    expect(semaphore.inFlight).toBe(0);
    expect(semaphore.waiting).toBe(0);
  });

  it('never runs more than the limit at once through use()', async () => {
    const semaphore = new Semaphore(3);
    let running = 0;
    let peak = 0;
    await Promise.all(
      Array.from({ length: 20 }, () =>
        semaphore.use(async () => {
          running++;
          peak = Math.max(peak, running);
          await flush();
          running--;
        }),
      ),
    );
    expect(peak).toBe(3);
  });

  it('releases the slot when the operation throws', async () => {
    const semaphore = new Semaphore(1);
    await expect(semaphore.use(() => Promise.reject(new Error('boom')))).rejects.toThrow('boom');
    expect(semaphore.inFlight).toBe(0);
  });

  it('drops an aborted waiter from the line', async () => {
    const semaphore = new Semaphore(1);
    const release = await semaphore.acquire();
    const controller = new AbortController();
    const waiting = semaphore.acquire(controller.signal);
    controller.abort();
    await expect(waiting).rejects.toBeInstanceOf(AbortedError);
    expect(semaphore.waiting).toBe(0);
    release();
    expect(semaphore.inFlight).toBe(0);
    await expect(semaphore.acquire(controller.signal)).rejects.toBeInstanceOf(AbortedError);
  });

  it('rejects a limit below one', () => {
    expect(() => new Semaphore(0)).toThrow(RangeError);
  });
});
