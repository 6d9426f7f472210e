import { DEFAULT_RETRY_POLICY, isRetriable, retry, RetriableError, RetryPolicy, RetryOptions } from '../errors';
import { createLogger, Logger } from '../logging';
import type { TableSpec } from './table-spec';

/** Inserts rows into a table naming the columns; ClickHouseConnection.insert fits. */
export type InsertRows = (table: string, rows: readonly object[], columns: readonly string[]) => Promise<void>;

export interface BatchWriterOptions {
  /** A table's buffer is sent as soon as it holds this many rows; also the most rows per insert. */
  maxBatchRows: number;
  /** Rows wait at most this long (or until the table's insert in flight ends) before their buffer is sent. */
  flushIntervalMs: number;
  /**
   * A table's buffer is also sent as soon as it holds this many add() calls (default: no limit). A
   * consumer with N messages in flight sets about N/2: when that many are waiting for one table, few
   * more can arrive before the interval, so waiting longer only adds latency.
   */
  maxBatchCalls?: number;
  /**
   * Inserts in flight per table (default 1). Above 1, only full batches (maxBatchRows or
   * maxBatchCalls) and flushes use the extra slots: ClickHouse parses one insert while it writes the
   * parts of another, and a backlog drains that much faster. Partial batches still wait for the
   * insert in flight, so a trickle of rows keeps forming one batch per insert.
   */
  maxInsertsInFlight?: number;
  /** Retries of retriable insert failures (network, too many parts, ...). */
  retry?: RetryPolicy;
  logger?: Logger;
  /** Injected by tests. */
  retryHooks?: Pick<RetryOptions, 'sleep' | 'random'>;
}

export interface BatchWriterStats {
  bufferedRows: number;
  insertedRows: number;
  insertedBatches: number;
  failedRows: number;
}

interface Entry {
  rows: readonly object[];
  /** performance.now() when add() buffered it: the interval counts from the oldest buffered entry. */
  addedAt: number;
  promise: Promise<void>;
  resolve: () => void;
  reject: (err: unknown) => void;
}

interface TableState {
  spec: TableSpec<object>;
  buffer: Entry[];
  bufferedRows: number;
  timer: NodeJS.Timeout | undefined;
  /** A pump scheduled after the current burst of add() calls (maxBatchCalls reached). */
  immediate: NodeJS.Immediate | undefined;
  /** Entries of each insert in flight (empty when none). */
  sending: Set<Entry[]>;
  /** Send whatever is buffered without waiting for size or interval, until the buffer is empty (flush(), close()). */
  drain: boolean;
  /** The oldest buffered entry has waited flushIntervalMs: send the next batch at once (cleared when it is taken). */
  due: boolean;
}

const DEFAULT_OPTIONS: BatchWriterOptions = { maxBatchRows: 500, flushIntervalMs: 1000 };

/**
 * Buffers rows per table and inserts them in batches: when a buffer reaches maxBatchRows (or
 * maxBatchCalls add() calls), when its oldest row has waited flushIntervalMs, and on flush()/close(). Each add() returns a promise that
 * settles when its rows are durably inserted (or definitely failed), so a Kafka consumer commits an
 * offset only after the insert that carries its rows.
 *
 * - One insert in flight per table (more for full batches with maxInsertsInFlight): rows arriving
 *   meanwhile form the next batch.
 * - Retriable failures are retried with jittered backoff (core retry); when attempts run out every
 *   row of the batch gets the (retriable) error.
 * - A non-retriable failure of a batch holding several add() calls is bisected until the bad calls
 *   are isolated: only their promises reject, the rest are inserted.
 * - Re-sending rows is safe: every table is a ReplacingMergeTree keyed by the game (and turn /
 *   filter version), and the same event yields the same rows, so a duplicate insert (a retry after a
 *   lost response, a redelivered message) collapses under FINAL and in merges.
 */
export class BatchWriter {
  private readonly options: BatchWriterOptions;
  private readonly tables = new Map<string, TableState>();
  private readonly log: Logger;
  private closed = false;
  private readonly counters = { insertedRows: 0, insertedBatches: 0, failedRows: 0 };

  constructor(
    private readonly insert: InsertRows,
    options: Partial<BatchWriterOptions> = {},
  ) {
    this.options = { ...DEFAULT_OPTIONS, ...options };
    if (!(this.options.maxBatchRows >= 1)) throw new RangeError(`maxBatchRows must be >= 1, got ${this.options.maxBatchRows}`);
    if (!(this.options.flushIntervalMs >= 0)) throw new RangeError(`flushIntervalMs must be >= 0, got ${this.options.flushIntervalMs}`);
    if (this.options.maxBatchCalls !== undefined && !(this.options.maxBatchCalls >= 1))
      throw new RangeError(`maxBatchCalls must be >= 1, got ${this.options.maxBatchCalls}`);
    if (this.options.maxInsertsInFlight !== undefined && !(Number.isInteger(this.options.maxInsertsInFlight) && this.options.maxInsertsInFlight >= 1))
      throw new RangeError(`maxInsertsInFlight must be an integer >= 1, got ${this.options.maxInsertsInFlight}`);
    this.log = this.options.logger ?? createLogger('clickhouse-writer');
  }

  /** Resolves when these rows are inserted; rejects with the insert's error (carrying its retry decision). */
  add<Row extends object>(spec: TableSpec<Row>, rows: readonly Row[]): Promise<void> {
    if (this.closed) return Promise.reject(new RetriableError(`batch writer is closed; ${rows.length} rows for ${spec.name} not accepted`));
    if (rows.length === 0) return Promise.resolve();
    const state = this.stateFor(spec as TableSpec<object>);
    let resolve!: () => void;
    let reject!: (err: unknown) => void;
    const promise = new Promise<void>((res, rej) => {
      resolve = res;
      reject = rej;
    });
    state.buffer.push({ rows, addedAt: performance.now(), promise, resolve, reject });
    state.bufferedRows += rows.length;
    if (state.bufferedRows >= this.options.maxBatchRows) this.pump(state);
    else if (this.full(state)) this.pumpAfterBurst(state);
    else this.armTimer(state);
    return promise;
  }

  /** Sends everything buffered now; resolves when those rows have settled, rejects with the first failure among them. */
  async flush(): Promise<void> {
    const waiting: Entry[] = [];
    for (const state of this.tables.values()) {
      for (const batch of state.sending) waiting.push(...batch);
      waiting.push(...state.buffer);
      state.drain = true;
      this.pump(state);
    }
    const outcomes = await Promise.allSettled(waiting.map((e) => e.promise));
    const failure = outcomes.find((o): o is PromiseRejectedResult => o.status === 'rejected');
    if (failure) throw failure.reason;
  }

  /** Stops accepting rows and flushes what is buffered. */
  async close(): Promise<void> {
    this.closed = true;
    await this.flush();
    for (const state of this.tables.values()) this.clearTimer(state);
  }

  stats(): BatchWriterStats {
    let bufferedRows = 0;
    for (const state of this.tables.values()) bufferedRows += state.bufferedRows;
    return { bufferedRows, ...this.counters };
  }

  private stateFor(spec: TableSpec<object>): TableState {
    let state = this.tables.get(spec.name);
    if (!state) {
      state = { spec, buffer: [], bufferedRows: 0, timer: undefined, immediate: undefined, sending: new Set(), drain: false, due: false };
      this.tables.set(spec.name, state);
    }
    return state;
  }

  private full(state: TableState): boolean {
    return state.bufferedRows >= this.options.maxBatchRows || (this.options.maxBatchCalls !== undefined && state.buffer.length >= this.options.maxBatchCalls);
  }

  /**
   * maxBatchCalls reached: send once the add() calls of this turn of the event loop are in (a
   * consumer hands over a fetched batch of messages at once), so a burst becomes one insert.
   */
  private pumpAfterBurst(state: TableState): void {
    if (state.immediate || state.sending.size > 0) return;
    state.immediate = setImmediate(() => {
      state.immediate = undefined;
      this.pump(state);
    });
  }

  /** Fires when the oldest buffered entry has waited flushIntervalMs (at once if it already has, e.g. behind a slow insert). */
  private armTimer(state: TableState): void {
    if (state.timer || state.sending.size > 0 || state.buffer.length === 0) return;
    const waited = performance.now() - state.buffer[0]!.addedAt;
    state.timer = setTimeout(
      () => {
        state.timer = undefined;
        state.due = true;
        this.pump(state);
      },
      Math.max(0, this.options.flushIntervalMs - waited),
    );
  }

  private clearTimer(state: TableState): void {
    if (state.timer) clearTimeout(state.timer);
    state.timer = undefined;
  }

  /** Starts the next insert(s) for this table while a slot is free and a batch is ready. */
  private pump(state: TableState): void {
    const slots = this.options.maxInsertsInFlight ?? 1;
    while (state.sending.size < slots) {
      if (state.buffer.length === 0) {
        state.drain = false;
        state.due = false;
        return;
      }
      const idle = state.sending.size === 0;
      // With an insert in flight, only a full batch (or a flush) takes another slot.
      if (!state.drain && !this.full(state) && !(idle && state.due)) {
        if (idle) this.armTimer(state);
        return;
      }
      this.clearTimer(state);
      // An interval-triggered send takes what is due now; rows arriving during it wait for their own interval.
      state.due = false;
      const batch = this.takeBatch(state);
      state.sending.add(batch);
      void this.send(state.spec, batch).finally(() => {
        state.sending.delete(batch);
        this.pump(state);
      });
    }
  }

  private takeBatch(state: TableState): Entry[] {
    let count = 0;
    let rows = 0;
    for (const next of state.buffer) {
      if (count > 0 && rows + next.rows.length > this.options.maxBatchRows) break;
      count += 1;
      rows += next.rows.length;
    }
    state.bufferedRows -= rows;
    return state.buffer.splice(0, count);
  }

  private async send(spec: TableSpec<object>, batch: Entry[]): Promise<void> {
    const rows = batch.flatMap((e) => e.rows);
    try {
      await retry(() => this.insert(spec.name, rows, spec.columns), {
        ...(this.options.retry ?? DEFAULT_RETRY_POLICY),
        ...this.options.retryHooks,
        onRetry: ({ attempt, delayMs, error }) => this.log.warn('insert failed, retrying', { table: spec.name, rows: rows.length, attempt, delayMs, error }),
      });
      this.counters.insertedRows += rows.length;
      this.counters.insertedBatches += 1;
      for (const entry of batch) entry.resolve();
    } catch (err) {
      if (!isRetriable(err) && batch.length > 1) {
        // One bad row must not fail its neighbours: split and retry the halves to find it.
        const middle = Math.ceil(batch.length / 2);
        await this.send(spec, batch.slice(0, middle));
        await this.send(spec, batch.slice(middle));
        return;
      }
      this.counters.failedRows += rows.length;
      this.log.error('insert failed', { table: spec.name, rows: rows.length, retriable: isRetriable(err), error: err });
      for (const entry of batch) entry.reject(err);
    }
  }
}
