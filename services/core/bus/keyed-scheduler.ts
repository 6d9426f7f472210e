import { ChangeSignal } from './change-signal';

/** A place in line for room in the scheduler; granted in request order. */
export interface RoomTicket {
  /** True once a slot is held for the caller; false when maxWaitMs passed or wake() was called first (the caller keeps its place). */
  wait(maxWaitMs: number): Promise<boolean>;
  /** Leaves the line, or gives the held slot back unused. */
  cancel(): void;
}

class Ticket implements RoomTicket {
  held = false;
  done = false;
  private resolveWait: ((granted: boolean) => void) | undefined;

  constructor(private readonly onCancel: (ticket: Ticket) => void) {}

  wait(maxWaitMs: number): Promise<boolean> {
    if (this.held || this.done) return Promise.resolve(this.held);
    return new Promise((resolve) => {
      const timer = setTimeout(() => this.settle(false), maxWaitMs);
      this.resolveWait = (granted) => {
        clearTimeout(timer);
        this.resolveWait = undefined;
        resolve(granted);
      };
    });
  }

  settle(granted: boolean): void {
    this.resolveWait?.(granted);
  }

  cancel(): void {
    if (this.done) return;
    this.onCancel(this);
    this.done = true;
  }
}

/**
 * Runs tasks concurrently up to `maxRunning`, while tasks that share a key run strictly one after
 * another in submission order (one game's events stay in order; different games, even on one
 * partition, overlap). At most `maxPending` tasks are held (running plus waiting behind their key);
 * callers queue for room with tickets, served first come first served so that no partition's batch
 * starves the others. That is the consumer's backpressure.
 */
export class KeyedScheduler {
  private readonly queues = new Map<string, Array<() => Promise<void>>>();
  /** Keys whose head task is running now. */
  private readonly runningKeys = new Set<string>();
  /** Keys whose head task may start, oldest first. */
  private readonly ready: string[] = [];
  private readonly roomLine: Ticket[] = [];
  private runningCount = 0;
  /** Running, waiting behind their key, or reserved by a held ticket. */
  private pendingCount = 0;
  private unkeyedSequence = 0;
  private starting = true;
  private readonly changes = new ChangeSignal();

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

  /** Running, waiting behind their key, or reserved. */
  get pending(): number {
    return this.pendingCount;
  }

  hasRoom(): boolean {
    return this.pendingCount < this.maxPending && this.roomLine.length === 0;
  }

  /** Queues for one slot; pass the ticket to submit() once it is held. */
  requestRoom(): RoomTicket {
    const ticket = new Ticket((t) => this.release(t));
    if (this.starting && this.hasRoom()) {
      this.pendingCount++;
      ticket.held = true;
    } else {
      this.roomLine.push(ticket);
    }
    return ticket;
  }

  /**
   * A null key means no ordering constraint. With a held ticket the task uses the reserved slot;
   * without one it is admitted regardless of room.
   */
  submit(key: string | null, task: () => Promise<void>, ticket?: RoomTicket): void {
    if (!this.starting) throw new Error('scheduler stopped: no new tasks');
    if (ticket) {
      const held = ticket as Ticket;
      if (!held.held || held.done) throw new Error('submit needs a held, unused ticket');
      held.done = true;
    } else {
      this.pendingCount++;
    }
    const queueKey = key ?? `\u0000unkeyed:${this.unkeyedSequence++}`;
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
    return this.changes.wait(maxWaitMs);
  }

  /** Releases everyone waiting in changed() or on a ticket (tickets keep their place in line). */
  wake(): void {
    this.changes.notify();
    for (const ticket of this.roomLine) ticket.settle(false);
  }

  /** Stops starting tasks and forgets the ones still waiting; returns how many were dropped. */
  stopStarting(): number {
    this.starting = false;
    let dropped = 0;
    for (const [key, queue] of this.queues) {
      const keep = this.runningKeys.has(key) ? 1 : 0;
      dropped += queue.length - keep;
      if (keep) queue.length = 1;
      else this.queues.delete(key);
    }
    this.ready.length = 0;
    this.pendingCount -= dropped;
    this.wake();
    return dropped;
  }

  private release(ticket: Ticket): void {
    if (ticket.held) {
      ticket.held = false;
      this.pendingCount--;
      this.grantRoom();
    } else {
      const index = this.roomLine.indexOf(ticket);
      if (index >= 0) this.roomLine.splice(index, 1);
    }
  }

  private grantRoom(): void {
    while (this.starting && this.roomLine.length > 0 && this.pendingCount < this.maxPending) {
      const ticket = this.roomLine.shift()!;
      this.pendingCount++;
      ticket.held = true;
      ticket.settle(true);
    }
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
    this.grantRoom();
    this.changes.notify();
  }
}
