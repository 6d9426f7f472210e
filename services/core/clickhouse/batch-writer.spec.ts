import { NonRetriableError, RetriableError } from '../errors';
import { createLogger } from '../logging';
import { BatchWriter, BatchWriterOptions } from './batch-writer';
import type { TableSpec } from './table-spec';

interface Row {
  id: string;
}
const GAMES: TableSpec<Row> = { name: 'games', columns: ['id'] };
const TURNS: TableSpec<Row> = { name: 'turns', columns: ['id'] };
const rows = (...ids: string[]): Row[] => ids.map((id) => ({ id }));

const quiet = createLogger('writer-test');
beforeAll(() => {
  jest.spyOn(quiet, 'warn').mockImplementation(() => undefined);
  jest.spyOn(quiet, 'error').mockImplementation(() => undefined);
});

interface Call {
  table: string;
  ids: string[];
  columns: readonly string[];
}

/** Records inserts; `behaviour` decides per call (default: succeed at once). */
function fakeInsert(behaviour: (call: Call, attempt: number) => Promise<void> = async () => undefined) {
  const calls: Call[] = [];
  const insert = (table: string, batch: readonly object[], columns: readonly string[]): Promise<void> => {
    const call = { table, ids: (batch as Row[]).map((r) => r.id), columns };
    calls.push(call);
    return behaviour(call, calls.length);
  };
  return { calls, insert };
}

function writer(insert: ReturnType<typeof fakeInsert>['insert'], options: Partial<BatchWriterOptions> = {}): BatchWriter {
  return new BatchWriter(insert, {
    maxBatchRows: 3,
    flushIntervalMs: 1000,
    retry: { maxAttempts: 3, initialDelayMs: 1, maxDelayMs: 1 },
    retryHooks: { sleep: async () => undefined },
    logger: quiet,
    ...options,
  });
}

function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

/** A fake insert whose every call waits for its own gate (gates[i] ends the i-th insert). */
function gatedInsert(): { gates: Array<ReturnType<typeof deferred>>; fake: ReturnType<typeof fakeInsert> } {
  const gates: Array<ReturnType<typeof deferred>> = [];
  const fake = fakeInsert(() => {
    const gate = deferred();
    gates.push(gate);
    return gate.promise;
  });
  return { gates, fake };
}

afterEach(() => jest.useRealTimers());

describe('BatchWriter', () => {
  it('sends a batch as soon as a table buffer reaches maxBatchRows, naming the columns', async () => {
    const fake = fakeInsert();
    const w = writer(fake.insert);
    const first = w.add(GAMES, rows('a'));
    const second = w.add(GAMES, rows('b', 'c'));
    await Promise.all([first, second]);
    expect(fake.calls).toEqual([{ table: 'games', ids: ['a', 'b', 'c'], columns: ['id'] }]);
    expect(w.stats()).toEqual({ bufferedRows: 0, insertedRows: 3, insertedBatches: 1, failedRows: 0 });
    await w.close();
  });

  it('sends a partial buffer when the interval has passed', async () => {
    jest.useFakeTimers();
    const fake = fakeInsert();
    const w = writer(fake.insert);
    let done = false;
    void w.add(GAMES, rows('a')).then(() => (done = true));
    await jest.advanceTimersByTimeAsync(999);
    expect(fake.calls).toHaveLength(0);
    expect(w.stats().bufferedRows).toBe(1);
    await jest.advanceTimersByTimeAsync(1);
    expect(fake.calls).toEqual([{ table: 'games', ids: ['a'], columns: ['id'] }]);
    expect(done).toBe(true);
  });

  it('after an interval-triggered insert, rows that arrived during it wait for their own interval (no back-to-back small inserts)', async () => {
    jest.useFakeTimers();
    const { gates, fake } = gatedInsert();
    const w = writer(fake.insert, { maxBatchRows: 100 });
    void w.add(GAMES, rows('a'));
    await jest.advanceTimersByTimeAsync(1000);
    expect(fake.calls.map((c) => c.ids)).toEqual([['a']]);
    await jest.advanceTimersByTimeAsync(100);
    const b = w.add(GAMES, rows('b'));
    await jest.advanceTimersByTimeAsync(100);
    gates[0]!.resolve();
    await jest.advanceTimersByTimeAsync(0);
    // b was buffered at t=1100: it goes at t=2100, not as soon as the first insert ended (t=1200).
    expect(fake.calls).toHaveLength(1);
    await jest.advanceTimersByTimeAsync(899);
    expect(fake.calls).toHaveLength(1);
    await jest.advanceTimersByTimeAsync(1);
    expect(fake.calls.map((c) => c.ids)).toEqual([['a'], ['b']]);
    gates[1]!.resolve();
    await b;
  });

  it('sends rows that waited longer than the interval behind a slow insert as soon as it ends', async () => {
    jest.useFakeTimers();
    const { gates, fake } = gatedInsert();
    const w = writer(fake.insert, { maxBatchRows: 100 });
    void w.add(GAMES, rows('a'));
    await jest.advanceTimersByTimeAsync(1000);
    const b = w.add(GAMES, rows('b'));
    await jest.advanceTimersByTimeAsync(1500);
    expect(fake.calls).toHaveLength(1);
    gates[0]!.resolve();
    await jest.advanceTimersByTimeAsync(0);
    expect(fake.calls.map((c) => c.ids)).toEqual([['a'], ['b']]);
    gates[1]!.resolve();
    await b;
  });

  it('sends a buffer as soon as it holds maxBatchCalls add() calls', async () => {
    jest.useFakeTimers();
    const fake = fakeInsert();
    const w = writer(fake.insert, { maxBatchRows: 100, maxBatchCalls: 2 });
    const first = w.add(TURNS, rows('t1', 't2', 't3'));
    await jest.advanceTimersByTimeAsync(10);
    expect(fake.calls).toHaveLength(0);
    const second = w.add(TURNS, rows('t4'));
    await jest.advanceTimersByTimeAsync(0);
    expect(fake.calls.map((c) => c.ids)).toEqual([['t1', 't2', 't3', 't4']]);
    await Promise.all([first, second]);
  });

  it('makes one insert of a burst of add() calls past maxBatchCalls (a fetched batch of messages)', async () => {
    const fake = fakeInsert();
    const w = writer(fake.insert, { maxBatchRows: 100, maxBatchCalls: 2 });
    const pending = ['a', 'b', 'c', 'd', 'e'].map((id) => w.add(GAMES, rows(id)));
    await Promise.all(pending);
    expect(fake.calls.map((c) => c.ids)).toEqual([['a', 'b', 'c', 'd', 'e']]);
    await w.close();
  });

  it('flush() and close() send what is buffered; add after close rejects as retriable', async () => {
    const fake = fakeInsert();
    const w = writer(fake.insert, { flushIntervalMs: 60_000 });
    const a = w.add(GAMES, rows('a'));
    const t = w.add(TURNS, rows('t1', 't2'));
    await w.flush();
    await expect(Promise.all([a, t])).resolves.toBeDefined();
    expect(fake.calls.map((c) => [c.table, c.ids])).toEqual([
      ['games', ['a']],
      ['turns', ['t1', 't2']],
    ]);

    const b = w.add(GAMES, rows('b'));
    await w.close();
    await expect(b).resolves.toBeUndefined();
    expect(fake.calls.at(-1)).toMatchObject({ ids: ['b'] });
    const late = w.add(GAMES, rows('c'));
    await expect(late).rejects.toBeInstanceOf(RetriableError);
    await expect(late).rejects.toMatchObject({ retriable: true });
  });

  it('keeps one insert in flight per table and batches what arrives meanwhile, capped at maxBatchRows', async () => {
    const { gates, fake } = gatedInsert();
    const w = writer(fake.insert, { maxBatchRows: 2 });
    const pending = [w.add(GAMES, rows('a', 'b')), w.add(GAMES, rows('c')), w.add(GAMES, rows('d')), w.add(GAMES, rows('e'))];
    const flushed = w.flush();
    expect(fake.calls.map((c) => c.ids)).toEqual([['a', 'b']]);
    gates[0]!.resolve();
    await pending[0];
    await waitFor(() => fake.calls.length === 2);
    expect(fake.calls[1]!.ids).toEqual(['c', 'd']);
    gates[1]!.resolve();
    await waitFor(() => fake.calls.length === 3);
    expect(fake.calls[2]!.ids).toEqual(['e']);
    gates[2]!.resolve();
    await flushed;
    await Promise.all(pending);
  });

  it('with maxInsertsInFlight 2, sends a second full batch while one is in flight; partial batches still wait', async () => {
    const { gates, fake } = gatedInsert();
    const w = writer(fake.insert, { maxBatchRows: 2, maxInsertsInFlight: 2 });
    const first = [w.add(GAMES, rows('a', 'b')), w.add(GAMES, rows('c'))];
    // [c] is partial and an insert is in flight: it waits.
    expect(fake.calls.map((c) => c.ids)).toEqual([['a', 'b']]);
    const second = [w.add(GAMES, rows('d')), w.add(GAMES, rows('e'))];
    // [c, d] filled up: it takes the second slot; [e] waits.
    expect(fake.calls.map((c) => c.ids)).toEqual([
      ['a', 'b'],
      ['c', 'd'],
    ]);
    const third = w.add(GAMES, rows('f'));
    // [e, f] is full but both slots are taken.
    expect(fake.calls).toHaveLength(2);
    gates[1]!.resolve();
    await waitFor(() => fake.calls.length === 3);
    expect(fake.calls[2]!.ids).toEqual(['e', 'f']);
    gates[0]!.resolve();
    gates[2]!.resolve();
    await Promise.all([...first, ...second, third]);
    expect(w.stats()).toMatchObject({ insertedRows: 6, insertedBatches: 3, bufferedRows: 0 });
    // Nothing in flight and a partial batch: it waits for the interval (or a flush) as before.
    const last = w.add(GAMES, rows('g'));
    expect(fake.calls).toHaveLength(3);
    const flushed = w.flush();
    await waitFor(() => fake.calls.length === 4);
    gates[3]!.resolve();
    await Promise.all([last, flushed]);
  });

  it('rejects a maxInsertsInFlight below 1', () => {
    expect(() => writer(fakeInsert().insert, { maxInsertsInFlight: 0 })).toThrow(/maxInsertsInFlight must be an integer >= 1/);
  });

  it('retries retriable failures and resolves when an attempt succeeds', async () => {
    const fake = fakeInsert(async (_call, n) => {
      if (n < 3) throw new RetriableError('Code: 252, too many parts');
    });
    const w = writer(fake.insert);
    await w.add(GAMES, rows('a', 'b', 'c'));
    expect(fake.calls).toHaveLength(3);
    expect(w.stats().insertedRows).toBe(3);
  });

  it('rejects every row of the batch with the retriable error when attempts run out', async () => {
    const fake = fakeInsert(async () => {
      throw new RetriableError('connect ECONNREFUSED');
    });
    const w = writer(fake.insert);
    const a = w.add(GAMES, rows('a', 'b'));
    const b = w.add(GAMES, rows('c'));
    await expect(a).rejects.toMatchObject({ retriable: true });
    await expect(b).rejects.toMatchObject({ retriable: true });
    expect(fake.calls).toHaveLength(3);
    expect(w.stats()).toMatchObject({ failedRows: 3, insertedRows: 0 });
  });

  it('isolates a non-retriable bad row: only its add() rejects, its neighbours are inserted', async () => {
    const fake = fakeInsert(async (call) => {
      if (call.ids.includes('bad')) throw new NonRetriableError("Code: 36, Unknown element 'bad' for type Enum8");
    });
    const w = writer(fake.insert, { maxBatchRows: 4 });
    const results = await Promise.allSettled([w.add(GAMES, rows('a')), w.add(GAMES, rows('b')), w.add(GAMES, rows('bad')), w.add(GAMES, rows('d'))]);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'fulfilled', 'rejected', 'fulfilled']);
    expect((results[2] as PromiseRejectedResult).reason).toMatchObject({ retriable: false });
    const inserted = fake.calls.filter((c) => !c.ids.includes('bad')).flatMap((c) => c.ids);
    expect(inserted.sort()).toEqual(['a', 'b', 'd']);
    expect(fake.calls.filter((c) => c.ids.includes('bad')).length).toBeLessThanOrEqual(3);
    expect(w.stats()).toMatchObject({ insertedRows: 3, failedRows: 1 });
  });

  it('flush() rejects with the failure of a row it waited for', async () => {
    const fake = fakeInsert(async () => {
      throw new NonRetriableError('Code: 60, table gone');
    });
    const w = writer(fake.insert, { flushIntervalMs: 60_000 });
    const a = w.add(GAMES, rows('a'));
    a.catch(() => undefined);
    await expect(w.flush()).rejects.toThrow(/table gone/);
    await expect(w.flush()).resolves.toBeUndefined();
  });

  it('refuses nonsense options', () => {
    expect(() => new BatchWriter(fakeInsert().insert, { maxBatchRows: 0 })).toThrow(RangeError);
    expect(() => new BatchWriter(fakeInsert().insert, { maxBatchCalls: 0 })).toThrow(RangeError);
  });
});

async function waitFor(condition: () => boolean, timeoutMs = 2000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met before the deadline');
    await new Promise((resolve) => setImmediate(resolve));
  }
}
