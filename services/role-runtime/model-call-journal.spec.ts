import type { EventBus } from '../core/bus';
import type { ModelCallRecorded } from '../../schemas/generated/events';
import { ModelCallJournal, type JournalEntry } from './model-call-journal';

/** A bus stand-in: publish() feeds the journal's own reader handler, as the topic would. */
function fakeBus(): { bus: EventBus; published: ModelCallRecorded[]; deliver: (event: ModelCallRecorded) => Promise<void> } {
  let handler: ((event: ModelCallRecorded) => Promise<void>) | undefined;
  const published: ModelCallRecorded[] = [];
  const bus = {
    subscribe: async (options: { handler: (event: ModelCallRecorded) => Promise<void> }) => {
      handler = options.handler;
      return { groupId: 'g', stats: () => ({ generation: 1 }), stop: async () => ({ drained: true, abandoned: 0, dropped: 0 }) };
    },
    publish: async (_topic: string, _key: string, value: ModelCallRecorded) => {
      published.push(value);
      // Delivered back asynchronously, like a consumer reading the topic.
      setImmediate(() => void handler?.(value));
    },
  } as unknown as EventBus;
  return { bus, published, deliver: async (event) => handler?.(event) };
}

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

describe('ModelCallJournal', () => {
  it('keeps the latest entry per game, the first written winning a tie, and reads entries written elsewhere', async () => {
    const { bus, deliver } = fakeBus();
    const journal = new ModelCallJournal({ bus, topicPrefix: 't.', role: 'questioner', now: () => 50_000 });
    await journal.start();
    await journal.record(entry('g1', 2));
    await deliver({ ...entry('g1', 2, { decidedAtMs: 9 }), nonce: '' });
    expect(journal.latest('g1')?.decidedAtMs).toBe(1_002);
    await deliver({ ...entry('g1', 3), nonce: '' });
    expect(journal.latest('g1')?.transcriptLength).toBe(3);
    expect(journal.fence('g1')).toMatchObject({ transcriptLength: 3, role: 'answerer' });
    expect(journal.fence('unknown')).toBeUndefined();
    await deliver({ ...entry('g1', 1), nonce: '' });
    expect(journal.latest('g1')?.transcriptLength).toBe(3);
    await journal.stop();
  });

  it('gives back the recorded usage exactly (it is held compactly and parsed on read)', async () => {
    const { bus, deliver } = fakeBus();
    const journal = new ModelCallJournal({ bus, topicPrefix: 't.', role: 'answerer', now: () => 50_000 });
    await journal.start();
    const usage = {
      role: 'answerer',
      model: { endpoint: 'http://127.0.0.1:1/v1', model: 'm', promptVersion: 'v2', temperature: 0.25, topP: null, maxTokens: 64 },
      rawOutput: '{"answer":"yes","why":"a \\"red\\" circle \u00e9"}',
      latencyMs: 251,
      promptTokens: 812,
      completionTokens: 9,
      cachedTokens: 0,
      costUsd: 0.000123456789,
      modelCalls: 2,
      pricePromptPerMTok: 0.15,
      priceCompletionPerMTok: 0.6,
      retries: { timeout: 1, connection: 0 },
    };
    await deliver({ ...entry('g7', 3, { usage, errorMessage: null }), nonce: '' });
    const first = journal.latest('g7');
    expect(first).toEqual({ ...entry('g7', 3), usage });
    // Each read is a fresh copy: a caller changing it cannot change what a later reuse publishes.
    first!.usage!.rawOutput = 'changed';
    expect(journal.latest('g7')?.usage).toEqual(usage);
    await journal.stop();
  });

  it('forgets games past their deadline plus the grace, and bounds the number of games', async () => {
    let now = 50_000;
    const { bus, deliver } = fakeBus();
    const journal = new ModelCallJournal({ bus, topicPrefix: 't.', role: 'answerer', now: () => now, graceAfterDeadlineMs: 1_000, maxGames: 3 });
    await journal.start();
    await deliver({ ...entry('old', 1, { deadlineAtMs: 10_000 }), nonce: '' });
    expect(journal.latest('old')).toBeUndefined();
    for (const id of ['a', 'b', 'c', 'd']) await deliver({ ...entry(id, 1), nonce: '' });
    expect(journal.size).toBe(3);
    expect(journal.latest('a')).toBeUndefined();
    now = 200_000;
    (journal as unknown as { sweep(): void }).sweep();
    expect(journal.size).toBe(0);
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
