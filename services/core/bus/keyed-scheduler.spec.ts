import { KeyedScheduler } from './keyed-scheduler';

/** A task the test finishes by hand. */
function gate(): { promise: Promise<void>; open: () => void } {
  let open!: () => void;
  const promise = new Promise<void>((resolve) => (open = resolve));
  return { promise, open };
}

const flush = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

describe('KeyedScheduler', () => {
  it('runs different keys concurrently up to maxRunning', async () => {
    const scheduler = new KeyedScheduler(2, 10);
    const gates = [gate(), gate(), gate()];
    const started: number[] = [];
    gates.forEach((g, i) =>
      scheduler.submit(`k${i}`, async () => {
        started.push(i);
        await g.promise;
      }),
    );
    await flush();
    expect(started).toEqual([0, 1]);
    expect(scheduler.running).toBe(2);
    expect(scheduler.pending).toBe(3);
    gates[0]!.open();
    await flush();
    expect(started).toEqual([0, 1, 2]);
    gates[1]!.open();
    gates[2]!.open();
    await flush();
    expect(scheduler.pending).toBe(0);
  });

  it('runs tasks of one key one at a time in submission order', async () => {
    const scheduler = new KeyedScheduler(8, 100);
    const log: string[] = [];
    let concurrentForKey = 0;
    let maxConcurrentForKey = 0;
    for (let i = 0; i < 20; i++) {
      scheduler.submit('game-1', async () => {
        concurrentForKey++;
        maxConcurrentForKey = Math.max(maxConcurrentForKey, concurrentForKey);
        await new Promise((resolve) => setTimeout(resolve, Math.random() * 3));
        log.push(`m${i}`);
        concurrentForKey--;
      });
    }
    while (scheduler.pending > 0) await scheduler.changed(50);
    expect(log).toEqual(Array.from({ length: 20 }, (_, i) => `m${i}`));
    expect(maxConcurrentForKey).toBe(1);
  });

  it('does not let a busy key block other keys', async () => {
    const scheduler = new KeyedScheduler(4, 100);
    const slow = gate();
    const done: string[] = [];
    scheduler.submit('a', () => slow.promise);
    scheduler.submit('a', async () => void done.push('a2'));
    scheduler.submit('b', async () => void done.push('b1'));
    await flush();
    expect(done).toEqual(['b1']);
    slow.open();
    await flush();
    expect(done).toEqual(['b1', 'a2']);
  });

  it('treats null keys as unordered', async () => {
    const scheduler = new KeyedScheduler(4, 10);
    const gates = [gate(), gate()];
    let started = 0;
    for (const g of gates) {
      scheduler.submit(null, async () => {
        started++;
        await g.promise;
      });
    }
    await flush();
    expect(started).toBe(2);
    gates.forEach((g) => g.open());
  });

  it('reports room only while fewer than maxPending tasks are held', async () => {
    const scheduler = new KeyedScheduler(1, 2);
    const g = gate();
    scheduler.submit('a', () => g.promise);
    expect(scheduler.hasRoom()).toBe(true);
    scheduler.submit('a', async () => {});
    expect(scheduler.hasRoom()).toBe(false);
    const changed = scheduler.changed(10_000);
    g.open();
    await changed;
    await flush();
    expect(scheduler.hasRoom()).toBe(true);
  });

  it('grants room to waiting tickets first come first served', async () => {
    const scheduler = new KeyedScheduler(1, 1);
    const g = gate();
    scheduler.submit('busy', () => g.promise);
    const first = scheduler.requestRoom();
    const second = scheduler.requestRoom();
    expect(await first.wait(5)).toBe(false);
    const order: string[] = [];
    void first.wait(10_000).then((granted) => granted && order.push('first'));
    void second.wait(10_000).then((granted) => granted && order.push('second'));
    g.open();
    await flush();
    expect(order).toEqual(['first']);
    scheduler.submit('a', async () => {}, first);
    await flush();
    expect(order).toEqual(['first', 'second']);
    second.cancel();
    expect(scheduler.pending).toBe(0);
  });

  it('a cancelled ticket leaves the line and a held one gives its slot back', async () => {
    const scheduler = new KeyedScheduler(1, 1);
    const held = scheduler.requestRoom();
    expect(await held.wait(0)).toBe(true);
    const waiting = scheduler.requestRoom();
    waiting.cancel();
    held.cancel();
    expect(scheduler.pending).toBe(0);
    const next = scheduler.requestRoom();
    expect(await next.wait(0)).toBe(true);
  });

  it('wake() releases ticket waits without granting, and they keep their place', async () => {
    const scheduler = new KeyedScheduler(1, 1);
    scheduler.submit('busy', () => new Promise(() => {}));
    const ticket = scheduler.requestRoom();
    const waiting = ticket.wait(10_000);
    scheduler.wake();
    await expect(waiting).resolves.toBe(false);
  });

  it('changed() resolves after its timeout when nothing happens', async () => {
    const scheduler = new KeyedScheduler(1, 1);
    const started = Date.now();
    await scheduler.changed(20);
    expect(Date.now() - started).toBeGreaterThanOrEqual(15);
  });

  it('stopStarting drops waiting tasks, keeps running ones, and refuses new ones', async () => {
    const scheduler = new KeyedScheduler(1, 10);
    const g = gate();
    const ran: string[] = [];
    scheduler.submit('a', async () => {
      ran.push('a1');
      await g.promise;
    });
    scheduler.submit('a', async () => void ran.push('a2'));
    scheduler.submit('b', async () => void ran.push('b1'));
    await flush();
    expect(scheduler.stopStarting()).toBe(2);
    expect(scheduler.pending).toBe(1);
    expect(() => scheduler.submit('c', async () => {})).toThrow(/stopped/);
    g.open();
    await flush();
    expect(ran).toEqual(['a1']);
    expect(scheduler.running).toBe(0);
    expect(scheduler.pending).toBe(0);
  });

  it('reports a throwing task and keeps going', async () => {
    const errors: unknown[] = [];
    const scheduler = new KeyedScheduler(1, 10, (e) => errors.push(e));
    const ran: string[] = [];
    scheduler.submit('a', async () => {
      throw new Error('boom');
    });
    scheduler.submit('a', async () => void ran.push('after'));
    await flush();
    await flush();
    expect(errors).toHaveLength(1);
    expect(ran).toEqual(['after']);
  });

  it('rejects limits that cannot work', () => {
    expect(() => new KeyedScheduler(0, 1)).toThrow(RangeError);
    expect(() => new KeyedScheduler(4, 2)).toThrow(RangeError);
  });
});
