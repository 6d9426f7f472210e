/**
 * "Something changed, look again": wait() resolves on the next notify() or after maxWaitMs,
 * whichever comes first, and callers re-check their condition. A waiter that timed out leaves the
 * list at once, so a signal nobody notifies does not pile up resolved waiters.
 */
export class ChangeSignal {
  private waiters: Array<() => void> = [];

  wait(maxWaitMs: number): Promise<void> {
    return new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        // Only a timed-out waiter is still listed: notify() has already swapped the list it wakes.
        const at = this.waiters.indexOf(done);
        if (at >= 0) this.waiters.splice(at, 1);
        resolve();
      };
      const timer = setTimeout(done, maxWaitMs);
      this.waiters.push(done);
    });
  }

  notify(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const wake of waiters) wake();
  }
}
