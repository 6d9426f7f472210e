import { ChangeSignal } from './change-signal';

describe('ChangeSignal', () => {
  afterEach(() => jest.useRealTimers());

  it('wakes every waiter on notify, and only those waiting then', async () => {
    const signal = new ChangeSignal();
    const woken: string[] = [];
    const a = signal.wait(60_000).then(() => woken.push('a'));
    const b = signal.wait(60_000).then(() => woken.push('b'));
    signal.notify();
    await Promise.all([a, b]);
    expect(woken.sort()).toEqual(['a', 'b']);
    let late = false;
    void signal.wait(60_000).then(() => (late = true));
    await Promise.resolve();
    expect(late).toBe(false);
    signal.notify();
    await Promise.resolve();
    expect(late).toBe(true);
  });

  it('resolves after maxWaitMs without a notify, and the timed-out waiter is not woken again', async () => {
    jest.useFakeTimers();
    const signal = new ChangeSignal();
    let resolved = 0;
    const waiting = signal.wait(100).then(() => resolved++);
    jest.advanceTimersByTime(99);
    await Promise.resolve();
    expect(resolved).toBe(0);
    jest.advanceTimersByTime(1);
    await waiting;
    expect(resolved).toBe(1);
    signal.notify();
    await Promise.resolve();
    expect(resolved).toBe(1);
  });
});
