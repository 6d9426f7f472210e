/**
 * Runs tasks concurrently up to `maxRunning`, while tasks that share a key run strictly one after
 * another in submission order (one game's events stay in order; different games, even on one
 * partition, overlap). At most `maxPending` tasks are held (running plus waiting behind their key),
 * which is the consumer's backpressure: it stops accepting messages until room frees up.
 */
export class KeyedScheduler {
  private readonly queues = new Map<string, Array<() => Promise<void>>>();
  /** Keys whose head task is running now. */
  private readonly runningKeys = new Set<string>();
  /** Keys whose head task may start, oldest first. */
  private readonly ready: string[] = [];
  private runningCount = 0;
  private pendingCount = 0;
  private unkeyedSequence = 0;
  private starting = true;
  private waiters: Array<() => void> = [];

  constructor(
    readonly maxRunning: number,
    readonly maxPending: number,
    private readonly onTaskError: (error: unknown) => void = () => {},
  ) {
    if (!(maxRunning >= 1) || !(maxPending >= maxRunning)) {
      throw new RangeError(`KeyedScheduler needs 1 <= maxRunning <= maxPending (got ${maxRunning}, ${maxPending})`);
    }
  }

  get running(): number {
    return this.runningCount;
  }

  /** Running plus waiting behind their key. */
  get pending(): number {
    return this.pendingCount;
  }

  hasRoom(): boolean {
    return this.pendingCount < this.maxPending;
  }

  /** A null key means no ordering constraint. */
  submit(key: string | null, task: () => Promise<void>): void {
    if (!this.starting) throw new Error('scheduler stopped: no new tasks');
    const queueKey = key ?? `\u0000unkeyed:${this.unkeyedSequence++}`;
    this.pendingCount++;
    const queue = this.queues.get(queueKey);
    if (queue) {
      queue.push(task);
    } else {
      this.queues.set(queueKey, [task]);
      this.ready.push(queueKey);
    }
    this.pump();
  }

  /** Resolves on the next finished task, after `maxWaitMs`, or on wake(); callers re-check their condition. */
  changed(maxWaitMs: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, maxWaitMs);
      const waiter = (): void => done();
      this.waiters.push(waiter);
      function done(): void {
        clearTimeout(timer);
        resolve();
      }
    });
  }

  /** Releases everyone waiting in changed(). */
  wake(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const waiter of waiters) waiter();
  }

  /** Stops starting tasks and forgets the ones still waiting; returns how many were dropped. */
  stopStarting(): number {
    this.starting = false;
    let dropped = 0;
    for (const [key, queue] of this.queues) {
      const keep = this.isRunningHead(key) ? 1 : 0;
      dropped += queue.length - keep;
      if (keep) queue.length = 1;
      else this.queues.delete(key);
    }
    this.ready.length = 0;
    this.pendingCount -= dropped;
    this.wake();
    return dropped;
  }

  private isRunningHead(key: string): boolean {
    return this.runningKeys.has(key);
  }

  private pump(): void {
    while (this.starting && this.runningCount < this.maxRunning && this.ready.length > 0) {
      const key = this.ready.shift()!;
      const task = this.queues.get(key)![0]!;
      this.runningCount++;
      this.runningKeys.add(key);
      void this.run(key, task);
    }
  }

  private async run(key: string, task: () => Promise<void>): Promise<void> {
    try {
      await task();
    } catch (error) {
      this.onTaskError(error);
    }
    this.runningCount--;
    this.pendingCount--;
    this.runningKeys.delete(key);
    const queue = this.queues.get(key)!;
    queue.shift();
    if (queue.length === 0) this.queues.delete(key);
    else if (this.starting) this.ready.push(key);
    this.pump();
    this.wake();
  }
}
