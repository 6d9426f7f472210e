import type { EventBus } from '../core/bus';
import type { ModelCallRecorded } from '../../schemas/generated/events';
import { ModelCallJournal, type JournalEntry } from './model-call-journal';

/**
 * A bus stand-in: one journal partition. publish() feeds the journal's own reader handler with the
 * record's position, as the topic would; deliver() is a record written by another instance; readAt()
 * reads the log back by position. Records of the `unread` games never reach the reader.
 */
function fakeBus(unread: ReadonlySet<string> = new Set()): {
  bus: EventBus;
  published: ModelCallRecorded[];
  deliver: (event: ModelCallRecorded) => Promise<void>;
  readAts: Array<{ partition: number; offset: string }>;
} {
  let handler: ((event: ModelCallRecorded, ctx: { partition: number; offset: string }) => Promise<void>) | undefined;
  const published: ModelCallRecorded[] = [];
  const readAts: Array<{ partition: number; offset: string }> = [];
  const append = (value: ModelCallRecorded): { partition: number; offset: string } => ({ partition: 0, offset: String(published.push(value) - 1) });
  const bus = {
    subscribe: async (options: { handler: typeof handler }) => {
      handler = options.handler;
      return { groupId: 'g', stats: () => ({ generation: 1 }), stop: async () => ({ drained: true, abandoned: 0, dropped: 0 }) };
    },
    publish: async (_topic: string, _key: string, value: ModelCallRecorded) => {
      const at = append(value);
      // Delivered back asynchronously, like a consumer reading the topic.
      if (!unread.has(value.gameId)) setImmediate(() => void handler?.(value, at));
    },
    readAt: async (_topic: string, partition: number, offset: string) => {
      readAts.push({ partition, offset });
      return partition === 0 ? published[Number(offset)] : undefined;
    },
  } as unknown as EventBus;
  return { bus, published, readAts, deliver: async (event) => handler?.(event, append(event)) };
}

const readBack = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

const entry = (gameId: string, transcriptLength: number, over: Partial<JournalEntry> = {}): JournalEntry => ({
  gameId,
  entry: 'completion',
  role: transcriptLength % 2 === 0 ? 'questioner' : 'answerer',
  transcriptLength,
  usage: null,
  errorMessage: null,
  decidedAtMs: 1_000 + transcriptLength,
  deadlineAtMs: 100_000,
  ...over,
});

const usageOf = (rawOutput: string) => ({
  role: 'answerer',
  model: { endpoint: 'http://127.0.0.1:1/v1', model: 'm', promptVersion: 'v2', temperature: 0.25, topP: null, maxTokens: 64 },
  rawOutput,
  latencyMs: 251,
  promptTokens: 812,
  completionTokens: 9,
  cachedTokens: 0,
  costUsd: 0.000123456789,
  modelCalls: 2,
  pricePromptPerMTok: 0.15,
  priceCompletionPerMTok: 0.6,
  retries: { timeout: 1, connection: 0 },
});

describe('ModelCallJournal', () => {
  it('keeps the latest entry per game, the first written winning a tie, and reads entries written elsewhere', async () => {
    const { bus, deliver } = fakeBus();
    const journal = new ModelCallJournal({ bus, topicPrefix: 't.', role: 'questioner', now: () => 50_000 });
    await journal.start();
    await journal.record(entry('g1', 2));
    await deliver({ ...entry('g1', 2, { decidedAtMs: 9 }), nonce: '' });
    expect((await journal.latest('g1'))?.decidedAtMs).toBe(1_002);
    await deliver({ ...entry('g1', 3), nonce: '' });
    expect((await journal.latest('g1'))?.transcriptLength).toBe(3);
    expect(journal.fence('g1')).toMatchObject({ transcriptLength: 3, role: 'answerer' });
    expect(journal.fence('unknown')).toBeUndefined();
    await deliver({ ...entry('g1', 1), nonce: '' });
    expect((await journal.latest('g1'))?.transcriptLength).toBe(3);
    await journal.stop();
  });

  it('gives back the recorded usage exactly (it is held compactly and parsed on read)', async () => {
    const { bus, deliver } = fakeBus();
    const journal = new ModelCallJournal({ bus, topicPrefix: 't.', role: 'answerer', now: () => 50_000 });
    await journal.start();
    const usage = usageOf('{"answer":"yes","why":"a \\"red\\" circle \u00e9"}');
    await deliver({ ...entry('g7', 3, { usage, errorMessage: null }), nonce: '' });
    const first = await journal.latest('g7');
    expect(first).toEqual({ ...entry('g7', 3), usage });
    // Each read is a fresh copy: a caller changing it cannot change what a later reuse publishes.
    first!.usage!.rawOutput = 'changed';
    expect((await journal.latest('g7'))?.usage).toEqual(usage);
    await journal.stop();
  });

  it('forgets games past their deadline plus the grace, and bounds the number of games', async () => {
    let now = 50_000;
    const { bus, deliver } = fakeBus();
    const journal = new ModelCallJournal({ bus, topicPrefix: 't.', role: 'answerer', now: () => now, graceAfterDeadlineMs: 1_000, maxGames: 3 });
    await journal.start();
    await deliver({ ...entry('old', 1, { deadlineAtMs: 10_000 }), nonce: '' });
    expect(await journal.latest('old')).toBeUndefined();
    for (const id of ['a', 'b', 'c', 'd']) await deliver({ ...entry(id, 1), nonce: '' });
    expect(journal.size).toBe(3);
    expect(await journal.latest('a')).toBeUndefined();
    now = 200_000;
    (journal as unknown as { sweep(): void }).sweep();
    expect(journal.size).toBe(0);
    await journal.stop();
  });

  it('holds an entry in full for holdInFullMs, then only its fence and position, and reads a cold entry back from the topic', async () => {
    let now = 50_000;
    const { bus, readAts, deliver } = fakeBus(new Set(['unread']));
    const sweep = (journal: ModelCallJournal): void => (journal as unknown as { sweep(): void }).sweep();
    const journal = new ModelCallJournal({ bus, topicPrefix: 't.', role: 'answerer', now: () => now, holdInFullMs: 60_000 });
    await journal.start();
    const usage = { ...usageOf('{"answer":"no"}'), latencyMs: 240 };
    await deliver({ ...entry('elsewhere', 1, { decidedAtMs: 7 }), nonce: '' });
    await journal.record(entry('mine', 3, { usage }));
    await journal.record(entry('unread', 5)); // never read back: its position stays unknown
    await readBack();
    now += 60_000;
    sweep(journal);
    // Cold: the fence is still known without a read.
    expect(journal.fence('mine')).toMatchObject({ transcriptLength: 3, role: 'answerer' });
    expect(readAts).toEqual([]);
    // Its own record's position was learnt from the reader (offset 1 here); the other instance's at offset 0.
    expect(await journal.latest('mine')).toEqual({ ...entry('mine', 3), usage });
    expect(await journal.latest('elsewhere')).toEqual(entry('elsewhere', 1, { decidedAtMs: 7 }));
    expect(readAts).toEqual([
      { partition: 0, offset: '1' },
      { partition: 0, offset: '0' },
    ]);
    expect(journal.counters.readBack).toBe(2);
    // A read-back entry is held in full again; an entry whose position is unknown is never dropped to its fence.
    expect(await journal.latest('mine')).toEqual({ ...entry('mine', 3), usage });
    expect(await journal.latest('unread')).toEqual(entry('unread', 5));
    expect(readAts).toHaveLength(2);
    await journal.stop();
  });

  it('with holdInFullMs 0 keeps only fences and positions, so every reuse reads the topic', async () => {
    const { bus, readAts, deliver } = fakeBus();
    const journal = new ModelCallJournal({ bus, topicPrefix: 't.', role: 'questioner', now: () => 50_000, holdInFullMs: 0 });
    await journal.start();
    await deliver({ ...entry('theirs', 2), nonce: '' });
    await journal.record(entry('mine', 4));
    // Held in full until the reader gives its position.
    expect(await journal.latest('mine')).toEqual(entry('mine', 4));
    expect(readAts).toEqual([]);
    await readBack();
    expect(await journal.latest('mine')).toEqual(entry('mine', 4));
    expect(await journal.latest('theirs')).toEqual(entry('theirs', 2));
    expect(readAts).toEqual([
      { partition: 0, offset: '1' },
      { partition: 0, offset: '0' },
    ]);
    await journal.stop();
  });

  it('refuses, naming the position, to replay a cold entry the topic no longer holds; another game there means no entry', async () => {
    let now = 50_000;
    const { bus, published } = fakeBus();
    const journal = new ModelCallJournal({ bus, topicPrefix: 't.', role: 'questioner', now: () => now, holdInFullMs: 1_000 });
    await journal.start();
    await journal.record(entry('g9', 2));
    await readBack();
    now += 1_000;
    (journal as unknown as { sweep(): void }).sweep();
    expect(journal.fence('g9')).toEqual({ transcriptLength: 2, role: 'questioner', cold: true });
    published[0] = { ...entry('g9', 4), nonce: '' };
    await expect(journal.latest('g9')).rejects.toThrow(
      /game g9 \(transcript length 2\) is no longer at model-calls partition 0 offset 0 \(another record is there\)/,
    );
    published.length = 0;
    await expect(journal.latest('g9')).rejects.toThrow(/removed by retention/);
    // Another game's record at the position: the slot was another game's (hash collision), so this game has no entry.
    published[0] = { ...entry('other', 2), nonce: '' };
    await expect(journal.latest('g9')).resolves.toBeUndefined();
    await journal.stop();
  });

  it('resolves a barrier once its own marker is read back, once per partition and generation', async () => {
    const { bus, published } = fakeBus();
    const journal = new ModelCallJournal({ bus, topicPrefix: 't.', role: 'questioner' });
    await journal.start();
    const signal = new AbortController().signal;
    await journal.ensureFresh({ topic: 'in', partition: 0, signal }, 1, 'g1');
    await journal.ensureFresh({ topic: 'in', partition: 0, signal }, 1, 'g2');
    await journal.ensureFresh({ topic: 'in', partition: 1, signal }, 1, 'g3');
    await journal.ensureFresh({ topic: 'in', partition: 0, signal }, 2, 'g4');
    expect(published.filter((p) => p.entry === 'barrier').map((p) => p.gameId)).toEqual(['g1', 'g3', 'g4']);
    expect(journal.counters.barriers).toBe(3);
    await journal.stop();
  });

  it('lets later messages of a read-back partition through at once, but still refuses an aborted handler', async () => {
    const { bus, published } = fakeBus();
    const journal = new ModelCallJournal({ bus, topicPrefix: 't.', role: 'questioner' });
    await journal.start();
    const signal = new AbortController().signal;
    await journal.ensureFresh({ topic: 'in', partition: 0, signal }, 1, 'g1');
    // Passed: settles in the same microtask turn as an empty await, with no new marker.
    let settled = false;
    void journal.ensureFresh({ topic: 'in', partition: 0, signal }, 1, 'g2').then(() => (settled = true));
    await Promise.resolve();
    await Promise.resolve();
    expect(settled).toBe(true);
    expect(published.filter((p) => p.entry === 'barrier')).toHaveLength(1);
    const controller = new AbortController();
    controller.abort();
    await expect(journal.ensureFresh({ topic: 'in', partition: 0, signal: controller.signal }, 1, 'g3')).rejects.toThrow(/aborted/);
    await journal.stop();
  });

  it('gives up a barrier nobody answers when the journal stops or the handler is aborted', async () => {
    const bus = { subscribe: async () => ({ groupId: 'g', stats: () => ({}), stop: async () => ({}) }), publish: async () => undefined } as unknown as EventBus;
    const journal = new ModelCallJournal({ bus, topicPrefix: 't.', role: 'questioner' });
    await journal.start();
    const controller = new AbortController();
    const aborted = journal.ensureFresh({ topic: 'in', partition: 0, signal: controller.signal }, 1, 'g1');
    controller.abort();
    await expect(aborted).rejects.toThrow(/aborted/);
    const stopped = journal.barrier('g2');
    await new Promise((r) => setImmediate(r));
    await journal.stop();
    await expect(stopped).rejects.toThrow(/stopped/);
  });
});
