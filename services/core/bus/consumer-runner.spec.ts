import { DecodeError, RetriableError } from '../errors';
import { createLogger } from '../logging';
import { resolveBusConfig } from './bus-config';
import { ConsumerRunner, type SubscriptionOptions } from './consumer-runner';
import { hopStats } from './hop-stats';
import type {
  CommitOffset,
  ConsumerGroupSettings,
  ConsumerListener,
  FetchedBatch,
  InboundMessage,
  KafkaClient,
  KafkaConsumerPort,
  TopicPartitions,
} from './kafka-client';
import type { WireCodec } from './wire-codec';

const TOPIC = 't.game-requested';

class FakeConsumer implements KafkaConsumerPort {
  listener!: ConsumerListener;
  readonly commits: CommitOffset[][] = [];
  readonly events: string[] = [];
  heartbeats = 0;
  paused: string[] = [];

  async start(_topics: string[], _options: { fromBeginning: boolean }, listener: ConsumerListener): Promise<void> {
    this.listener = listener;
    this.assign([{ topic: TOPIC, partitions: [0, 1] }]);
  }
  assign(assignment: TopicPartitions[]): void {
    this.listener.onAssigned(assignment);
  }
  async commit(offsets: CommitOffset[]): Promise<void> {
    this.commits.push(offsets);
    this.events.push('commit');
  }
  async heartbeat(): Promise<void> {
    this.heartbeats++;
  }
  pause(topics: string[]): void {
    this.paused = topics;
  }
  readonly pausedPartitions = new Set<string>();
  pausePartitions(partitions: TopicPartitions[]): void {
    for (const p of partitions) for (const n of p.partitions) this.pausedPartitions.add(`${p.topic}:${n}`);
    this.events.push(`pause ${partitions.map((p) => p.partitions.join(',')).join(' ')}`);
  }
  resumePartitions(partitions: TopicPartitions[]): void {
    for (const p of partitions) for (const n of p.partitions) this.pausedPartitions.delete(`${p.topic}:${n}`);
    this.events.push(`resume ${partitions.map((p) => p.partitions.join(',')).join(' ')}`);
  }
  async disconnect(): Promise<void> {
    this.events.push('disconnect');
  }
  lastCommitted(partition: number): string | undefined {
    for (let i = this.commits.length - 1; i >= 0; i--) {
      const hit = this.commits[i]!.find((c) => c.partition === partition);
      if (hit) return hit.offset;
    }
    return undefined;
  }
}

function batchOf(
  partition: number,
  entries: Array<[offset: number, key: string]>,
  overrides: Partial<FetchedBatch> = {},
): FetchedBatch & { fetched: string[] } {
  const fetched: string[] = [];
  const messages: InboundMessage[] = entries.map(([offset, key]) => ({
    topic: TOPIC,
    partition,
    offset: String(offset),
    key: Buffer.from(key),
    value: Buffer.from(String(offset)),
    headers: [],
    timestamp: '0',
  }));
  return {
    topic: TOPIC,
    partition,
    messages,
    fetched,
    markFetched: (o) => void fetched.push(o),
    heartbeat: async () => {},
    isActive: () => true,
    ...overrides,
  };
}

/** Handler whose every message (by offset) waits until the test releases it. */
class GatedHandler {
  readonly started: string[] = [];
  readonly finished: string[] = [];
  private readonly gates = new Map<string, () => void>();
  private readonly waiting = new Map<string, Promise<void>>();

  handler = async (_event: unknown, ctx: { offset: string; partition: number }): Promise<void> => {
    const id = `${ctx.partition}:${ctx.offset}`;
    this.started.push(id);
    await this.gateFor(id);
    this.finished.push(id);
  };

  release(...ids: string[]): void {
    for (const id of ids) {
      void this.gateFor(id);
      this.gates.get(id)!();
    }
  }

  private gateFor(id: string): Promise<void> {
    let waiting = this.waiting.get(id);
    if (!waiting) {
      waiting = new Promise<void>((resolve) => this.gates.set(id, resolve));
      this.waiting.set(id, waiting);
    }
    return waiting;
  }
}

const codec: WireCodec = {
  topicPrefix: 't.',
  encode: async () => Buffer.alloc(0),
  decode: async (bytes) => ({ value: { n: bytes.toString() }, schemaId: 1, eventName: 'GameRequested' }),
};

async function eventually(check: () => boolean, timeoutMs = 2000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
}

function setup(
  options: {
    maxInFlight?: number;
    maxBuffered?: number;
    shutdownTimeoutMs?: number;
    subscription?: Pick<SubscriptionOptions<'gameRequested'>, 'fetch' | 'recordHops' | 'inOffsetOrder'>;
  } = {},
) {
  const consumer = new FakeConsumer();
  const consumerSettings: ConsumerGroupSettings[] = [];
  const client: KafkaClient = {
    admin: () => {
      throw new Error('not used');
    },
    producer: () => {
      throw new Error('not used');
    },
    consumer: (settings) => {
      consumerSettings.push(settings);
      return consumer;
    },
    readAt: () => {
      throw new Error('not used');
    },
  };
  const gated = new GatedHandler();
  const config = resolveBusConfig({
    topicPrefix: 't.',
    shutdownTimeoutMs: options.shutdownTimeoutMs ?? 2000,
    consumer: { commitIntervalMs: 60_000, heartbeatIntervalMs: 5, maxInFlight: options.maxInFlight ?? 8 },
  });
  const runner = new ConsumerRunner(
    { client, codec, publishDeadLetter: async () => {}, config, logger: createLogger('test') },
    {
      groupId: 'g',
      topics: ['gameRequested'],
      handler: gated.handler,
      ...(options.maxBuffered ? { maxBuffered: options.maxBuffered } : {}),
      ...options.subscription,
    },
  );
  return { consumer, consumerSettings, gated, runner, commitNow: () => (runner as unknown as { commitFinished(): Promise<void> }).commitFinished() };
}

beforeAll(() => {
  jest.spyOn(process.stderr, 'write').mockImplementation(() => true);
});
afterAll(() => jest.restoreAllMocks());

describe('ConsumerRunner', () => {
  it('fetches each record as it lands and counts its hop, unless the subscription batches its fetches as a side reader', async () => {
    const pipeline = setup();
    const side = setup({ subscription: { fetch: { minBytes: 4096, maxWaitTimeMs: 250 }, recordHops: false } });
    expect(pipeline.consumerSettings[0]).toMatchObject({ maxWaitTimeMs: 1_000 });
    expect(pipeline.consumerSettings[0]!.minBytes).toBeUndefined();
    expect(side.consumerSettings[0]).toMatchObject({ minBytes: 4096, maxWaitTimeMs: 250 });

    const hops = (): number => hopStats.snapshot(0).count;
    for (const { consumer, gated, runner } of [pipeline, side]) {
      await runner.start();
      const before = hops();
      await consumer.listener.onBatch(
        batchOf(0, [[0, 'a']], {
          messages: [{ topic: TOPIC, partition: 0, offset: '0', key: Buffer.from('a'), value: Buffer.from('0'), headers: [], timestamp: String(Date.now()) }],
        }),
      );
      await eventually(() => gated.started.length === 1);
      expect(hops() - before).toBe(consumer === pipeline.consumer ? 1 : 0);
      gated.release('0:0');
      await runner.stop();
    }
  });

  it('commits per partition only below the lowest unfinished message', async () => {
    const { consumer, gated, runner, commitNow } = setup();
    await runner.start();
    await consumer.listener.onBatch(
      batchOf(0, [
        [0, 'a'],
        [1, 'b'],
        [2, 'c'],
      ]),
    );
    await consumer.listener.onBatch(batchOf(1, [[5, 'd']]));
    await eventually(() => gated.started.length === 4);

    gated.release('0:1', '0:2', '1:5');
    await eventually(() => gated.finished.length === 3);
    await commitNow();
    expect(consumer.lastCommitted(0)).toBe('0');
    expect(consumer.lastCommitted(1)).toBe('6');

    gated.release('0:0');
    await eventually(() => gated.finished.length === 4);
    await commitNow();
    expect(consumer.lastCommitted(0)).toBe('3');
    const commitsBefore = consumer.commits.length;
    await commitNow();
    expect(consumer.commits.length).toBe(commitsBefore);
    await runner.stop();
  });

  it('handles a partition strictly in offset order when the subscription asks for it, whatever the keys', async () => {
    const { consumer, gated, runner } = setup({ subscription: { inOffsetOrder: true } });
    await runner.start();
    await consumer.listener.onBatch(
      batchOf(0, [
        [0, 'a'],
        [1, 'b'],
        [2, 'a'],
      ]),
    );
    await consumer.listener.onBatch(batchOf(1, [[7, 'c']]));
    // Partition 1 runs beside partition 0; within partition 0, 'b' waits for 'a' although its key differs.
    await eventually(() => gated.started.length === 2);
    expect(gated.started).toEqual(['0:0', '1:7']);
    gated.release('0:0');
    await eventually(() => gated.started.length === 3);
    expect(gated.started.at(-1)).toBe('0:1');
    gated.release('0:1');
    await eventually(() => gated.started.length === 4);
    expect(gated.started.at(-1)).toBe('0:2');
    gated.release('0:2', '1:7');
    await runner.stop();
  });

  it('keeps messages of one key in order while other keys overtake', async () => {
    const { consumer, gated, runner } = setup();
    await runner.start();
    await consumer.listener.onBatch(
      batchOf(0, [
        [0, 'a'],
        [1, 'a'],
        [2, 'b'],
      ]),
    );
    await eventually(() => gated.started.length === 2);
    expect(gated.started).toEqual(['0:0', '0:2']);
    gated.release('0:2');
    await eventually(() => gated.finished.includes('0:2'));
    expect(gated.started).not.toContain('0:1');
    gated.release('0:0');
    await eventually(() => gated.started.includes('0:1'));
    gated.release('0:1');
    await runner.stop();
  });

  it('blocks the batch when the buffer is full, heartbeating while it waits, and marks only accepted messages fetched', async () => {
    const { consumer, gated, runner } = setup({ maxInFlight: 1, maxBuffered: 2 });
    await runner.start();
    let heartbeats = 0;
    const batch = batchOf(
      0,
      [
        [0, 'a'],
        [1, 'b'],
        [2, 'c'],
        [3, 'd'],
      ],
      { heartbeat: async () => void heartbeats++ },
    );
    const delivery = consumer.listener.onBatch(batch);
    await eventually(() => heartbeats >= 3);
    expect(batch.fetched).toEqual(['0', '1']);
    gated.release('0:0');
    await eventually(() => batch.fetched.length === 3);
    gated.release('0:1', '0:2', '0:3');
    await delivery;
    expect(batch.fetched).toEqual(['0', '1', '2', '3']);
    await runner.stop();
  });

  it('does not pause fetching while the buffer is full (kafkajs would sleep a whole fetch wait): it reports it, and the waiting batch takes room as it frees', async () => {
    const { consumer, gated, runner } = setup({ maxInFlight: 2, maxBuffered: 4 });
    await runner.start();
    const batch = batchOf(0, [
      [0, 'a'],
      [1, 'b'],
      [2, 'c'],
      [3, 'd'],
      [4, 'e'],
      [5, 'f'],
    ]);
    const delivery = consumer.listener.onBatch(batch);
    await eventually(() => runner.stats().backpressured && batch.fetched.length === 4);
    expect(runner.stats()).toMatchObject({ backpressurePauses: 1, pending: 4 });
    expect(consumer.events.filter((e) => e.startsWith('pause') || e.startsWith('resume'))).toEqual([]);
    // One finished: its slot goes straight to the batch's next message.
    gated.release('0:0');
    await eventually(() => batch.fetched.length === 5);
    expect(runner.stats().pending).toBe(4);
    gated.release('0:1', '0:2', '0:3', '0:4', '0:5');
    await delivery;
    await eventually(() => gated.finished.length === 6);
    expect(runner.stats().backpressured).toBe(false);
    expect(consumer.pausedPartitions.size).toBe(0);
    await runner.stop();
  });

  it('serves partitions waiting for room in turn, so a long batch does not starve another partition', async () => {
    const { consumer, gated, runner } = setup({ maxInFlight: 1, maxBuffered: 1 });
    await runner.start();
    const long = consumer.listener.onBatch(
      batchOf(
        0,
        Array.from({ length: 6 }, (_, i) => [i, `a${i}`] as [number, string]),
      ),
    );
    const short = consumer.listener.onBatch(
      batchOf(1, [
        [0, 'b0'],
        [1, 'b1'],
      ]),
    );
    for (let i = 0; i < 8; i++) {
      await eventually(() => gated.started.length === i + 1);
      gated.release(gated.started[i]!);
    }
    await Promise.all([long, short]);
    // Partition 1 got every other slot instead of waiting for all of partition 0.
    expect(gated.started.slice(0, 4)).toEqual(['0:0', '1:0', '0:1', '1:1']);
    await runner.stop();
  });

  it('rethrows a heartbeat failure (rebalance) from a blocked batch so the client rejoins', async () => {
    const { consumer, gated, runner } = setup({ maxInFlight: 1, maxBuffered: 1 });
    await runner.start();
    const rebalance = Object.assign(new Error('The group is rebalancing'), { type: 'REBALANCE_IN_PROGRESS' });
    const batch = batchOf(
      0,
      [
        [0, 'a'],
        [1, 'b'],
      ],
      {
        heartbeat: async () => {
          throw rebalance;
        },
      },
    );
    await expect(consumer.listener.onBatch(batch)).rejects.toBe(rebalance);
    expect(batch.fetched).toEqual(['0']);
    gated.release('0:0');
    await runner.stop();
  });

  it('after a rejoin, messages of the old generation finish without committing, and re-fetched ones are accepted again', async () => {
    const { consumer, gated, runner, commitNow } = setup();
    await runner.start();
    await consumer.listener.onBatch(
      batchOf(0, [
        [10, 'a'],
        [11, 'b'],
      ]),
    );
    await eventually(() => gated.started.length === 2);
    consumer.listener.onRebalancing();
    consumer.assign([{ topic: TOPIC, partitions: [1] }]);
    gated.release('0:10', '0:11');
    await eventually(() => gated.finished.length === 2);
    await commitNow();
    expect(consumer.lastCommitted(0)).toBeUndefined();

    consumer.assign([{ topic: TOPIC, partitions: [0, 1] }]);
    const again = batchOf(0, [
      [10, 'a'],
      [11, 'b'],
    ]);
    await consumer.listener.onBatch(again);
    expect(again.fetched).toEqual(['10', '11']);
    gated.release('0:10', '0:11');
    await eventually(() => gated.finished.length === 4);
    await commitNow();
    expect(consumer.lastCommitted(0)).toBe('12');
    await runner.stop();
  });

  it('stops accepting a batch whose generation ended while it waited for room', async () => {
    const { consumer, gated, runner } = setup({ maxInFlight: 1, maxBuffered: 1 });
    await runner.start();
    const batch = batchOf(0, [
      [0, 'a'],
      [1, 'b'],
    ]);
    const delivery = consumer.listener.onBatch(batch);
    await eventually(() => gated.started.length === 1);
    consumer.assign([{ topic: TOPIC, partitions: [0] }]);
    await delivery;
    expect(batch.fetched).toEqual(['0']);
    gated.release('0:0');
    await runner.stop();
  });

  it('on stop: pauses fetching, drains running handlers, drops waiting ones, commits, then disconnects', async () => {
    const { consumer, gated, runner } = setup({ maxInFlight: 1 });
    await runner.start();
    await consumer.listener.onBatch(
      batchOf(0, [
        [0, 'a'],
        [1, 'a'],
        [2, 'b'],
      ]),
    );
    await eventually(() => gated.started.length === 1);
    const stopping = runner.stop();
    await eventually(() => consumer.paused.length > 0);
    expect(consumer.paused).toEqual([TOPIC]);
    gated.release('0:0');
    const report = await stopping;
    expect(report).toEqual({ drained: true, abandoned: 0, dropped: 2 });
    expect(gated.started).toEqual(['0:0']);
    expect(consumer.lastCommitted(0)).toBe('1');
    expect(consumer.events.slice(-2)).toEqual(['commit', 'disconnect']);
  });

  it('on stop past the deadline: abandons the stuck handler and commits only below it', async () => {
    const { consumer, gated, runner } = setup({ shutdownTimeoutMs: 100 });
    await runner.start();
    await consumer.listener.onBatch(
      batchOf(0, [
        [0, 'a'],
        [1, 'b'],
      ]),
    );
    await eventually(() => gated.started.length === 2);
    gated.release('0:0');
    await eventually(() => gated.finished.length === 1);
    const report = await runner.stop();
    expect(report).toEqual({ drained: false, abandoned: 1, dropped: 0 });
    expect(consumer.lastCommitted(0)).toBe('1');
    expect(consumer.events.at(-1)).toBe('disconnect');
    gated.release('0:1');
  });

  it('counts dead-lettered messages as done so the partition keeps flowing', async () => {
    const consumer = new FakeConsumer();
    const deadLetters: string[] = [];
    const client = { admin: () => null, producer: () => null, consumer: () => consumer } as unknown as KafkaClient;
    const runner = new ConsumerRunner(
      {
        client,
        codec: { ...codec, decode: async (bytes) => (bytes.toString() === '0' ? Promise.reject(new DecodeError('not our wire format')) : codec.decode(bytes)) },
        publishDeadLetter: async (record) => void deadLetters.push(record.sourceOffset),
        config: resolveBusConfig({
          topicPrefix: 't.',
          handlerRetry: { maxAttempts: 2, initialDelayMs: 1, maxDelayMs: 1 },
          consumer: { commitIntervalMs: 60_000 },
        }),
        logger: createLogger('test'),
      },
      { groupId: 'g', topics: ['gameRequested'], handler: async () => {} },
    );
    await runner.start();
    await consumer.listener.onBatch(
      batchOf(0, [
        [0, 'a'],
        [1, 'a'],
      ]),
    );
    await eventually(() => runner.stats().handled === 1 && runner.stats().deadLettered === 1);
    expect(deadLetters).toEqual(['0']);
    await runner.stop();
    expect(consumer.lastCommitted(0)).toBe('2');
  });

  describe('a dependency outage (retriable failures past the retry budget)', () => {
    function outageSetup(options: { shutdownTimeoutMs?: number } = {}) {
      const consumer = new FakeConsumer();
      const deadLetters: string[] = [];
      const client = { admin: () => null, producer: () => null, consumer: () => consumer } as unknown as KafkaClient;
      let down = true;
      let partition1Down = false;
      const handled: string[] = [];
      const runner = new ConsumerRunner(
        {
          client,
          codec,
          publishDeadLetter: async (record) => void deadLetters.push(record.sourceOffset),
          config: resolveBusConfig({
            topicPrefix: 't.',
            shutdownTimeoutMs: options.shutdownTimeoutMs ?? 5_000,
            handlerRetry: { maxAttempts: 2, initialDelayMs: 1, maxDelayMs: 5 },
            consumer: { commitIntervalMs: 60_000, heartbeatIntervalMs: 5 },
          }),
          logger: createLogger('test'),
        },
        {
          groupId: 'g',
          topics: ['gameRequested'],
          handler: async (_event, ctx) => {
            if (down && ctx.partition === 0) throw new RetriableError('clickhouse unreachable');
            if (partition1Down && ctx.partition === 1) throw new RetriableError('model endpoint unreachable');
            handled.push(`${ctx.partition}:${ctx.offset}`);
          },
        },
      );
      return {
        consumer,
        runner,
        deadLetters,
        handled,
        recover: () => void (down = false),
        setPartition1Down: (value: boolean) => void (partition1Down = value),
        commitNow: () => (runner as unknown as { commitFinished(): Promise<void> }).commitFinished(),
      };
    }

    it('pauses the partition, takes nothing more from it, never dead-letters, and resumes and commits once it recovers', async () => {
      const { consumer, runner, deadLetters, handled, recover, commitNow } = outageSetup();
      await runner.start();
      await consumer.listener.onBatch(batchOf(1, [[0, 'x']]));
      const batch = batchOf(0, [[0, 'a']]);
      await consumer.listener.onBatch(batch);
      await eventually(() => runner.stats().stalled === 1 && runner.stats().stallRetries >= 20);
      expect(consumer.pausedPartitions).toEqual(new Set([`${TOPIC}:0`]));
      expect(runner.stats()).toMatchObject({ stalled: 1, stalls: 1, pausedPartitions: 1, deadLettered: 0 });
      // A batch of the paused partition that was already fetched is not taken.
      const later = batchOf(0, [[1, 'b']]);
      await consumer.listener.onBatch(later);
      expect(later.fetched).toEqual([]);
      await commitNow();
      // Never past the stalled message: a restart now would read it again.
      expect(consumer.lastCommitted(0)).toBe('0');
      expect(consumer.lastCommitted(1)).toBe('1');

      recover();
      await eventually(() => runner.stats().stalled === 0 && handled.includes('0:0'));
      expect(consumer.pausedPartitions.size).toBe(0);
      expect(consumer.events).toContain('resume 0');
      await commitNow();
      expect(consumer.lastCommitted(0)).toBe('1');
      expect(deadLetters).toEqual([]);
      expect(runner.stats()).toMatchObject({ handled: 2, deadLettered: 0, pausedPartitions: 0 });
      await runner.stop();
    });

    it('when every assigned partition is stalled, holds the last one unpaused: its next batch waits, taking nothing, and goes on at once when it recovers', async () => {
      const { consumer, runner, handled, recover } = outageSetup();
      await runner.start();
      consumer.assign([{ topic: TOPIC, partitions: [0] }]);
      await consumer.listener.onBatch(batchOf(0, [[0, 'a']]));
      await eventually(() => runner.stats().stalled === 1 && runner.stats().stallRetries >= 5);
      // Pausing it would leave kafkajs nothing to fetch: it sleeps a whole fetch wait and no resume wakes it.
      expect(consumer.pausedPartitions.size).toBe(0);
      expect(runner.stats().pausedPartitions).toBe(1);
      const later = batchOf(0, [
        [1, 'b'],
        [2, 'c'],
      ]);
      let delivered = false;
      const delivery = consumer.listener.onBatch(later).then(() => void (delivered = true));
      const retries = runner.stats().stallRetries;
      await eventually(() => runner.stats().stallRetries >= retries + 5);
      expect(later.fetched).toEqual([]);
      expect(delivered).toBe(false);
      recover();
      await delivery;
      expect(later.fetched).toEqual(['1', '2']);
      await eventually(() => handled.length === 3);
      expect(handled).toEqual(['0:0', '0:1', '0:2']);
      expect(consumer.events.filter((e) => e.startsWith('pause') || e.startsWith('resume'))).toEqual([]);
      await runner.stop();
    });

    it('a held partition is paused for real once another partition recovers, and its waiting batch is given back untaken', async () => {
      const { consumer, runner, handled, recover, setPartition1Down } = outageSetup();
      setPartition1Down(true);
      await runner.start();
      await consumer.listener.onBatch(batchOf(0, [[0, 'a']]));
      await eventually(() => runner.stats().stalled === 1);
      expect(consumer.pausedPartitions).toEqual(new Set([`${TOPIC}:0`]));
      await consumer.listener.onBatch(batchOf(1, [[0, 'x']]));
      await eventually(() => runner.stats().stalled === 2);
      // The last one is held, not paused.
      expect(consumer.pausedPartitions).toEqual(new Set([`${TOPIC}:0`]));
      const waiting = batchOf(1, [[1, 'y']]);
      const delivery = consumer.listener.onBatch(waiting);
      recover();
      await delivery;
      expect(waiting.fetched).toEqual([]);
      expect(consumer.pausedPartitions).toEqual(new Set([`${TOPIC}:1`]));
      await eventually(() => runner.stats().stalled === 1 && handled.includes('0:0'));
      setPartition1Down(false);
      await eventually(() => runner.stats().stalled === 0);
      expect(consumer.pausedPartitions.size).toBe(0);
      expect(consumer.events.filter((e) => e.startsWith('pause') || e.startsWith('resume'))).toEqual(['pause 0', 'resume 0', 'pause 1', 'resume 1']);
      await runner.stop();
    });

    it('shutdown during an outage ends the stalled message at once, leaving it uncommitted for redelivery', async () => {
      const { consumer, runner, deadLetters } = outageSetup({ shutdownTimeoutMs: 20_000 });
      await runner.start();
      await consumer.listener.onBatch(batchOf(0, [[7, 'a']]));
      await eventually(() => runner.stats().stalled === 1);
      const started = Date.now();
      const report = await runner.stop();
      expect(Date.now() - started).toBeLessThan(5_000);
      expect(report).toEqual({ drained: true, abandoned: 0, dropped: 0 });
      // The committed position is the stalled message itself: it is redelivered after the restart.
      expect(consumer.lastCommitted(0)).toBe('7');
      expect(deadLetters).toEqual([]);
    });
  });
});
