import type { GameCurated } from '../../schemas/generated/events';
import { topicName } from '../../schemas/topics';
import { busConfigFrom, EventBus } from '../core/bus';
import { EventCodec } from '../core/codec';
import { createLogger } from '../core/logging';
import { pollUntil, type Bench, type BenchContext } from './context';
import { benchCuratedEvents } from './fixtures';
import { benchTopicPrefix, deferIsolationCleanup, rawKafka, uniqueSuffix } from './isolation';
import { perSecond, ratioFigure, significant } from './stats';

export interface BusBenchResult {
  messages: number;
  message_bytes: number;
  partitions: number;
  publish_batch_size: number;
  max_in_flight: number;
  /** EventBus: publishBatch (encode + validate + idempotent produce) into a subscription with a no-op handler. */
  bus_publish_msgs_per_s: number;
  /** First publish to last message handled. */
  bus_end_to_end_msgs_per_s: number;
  /** kafkajs producer (same producer settings) + eachBatch consumer counting messages, same bytes. */
  raw_publish_msgs_per_s: number;
  raw_end_to_end_msgs_per_s: number;
  /** bus / raw, end to end (1 = the bus costs nothing over kafkajs). */
  end_to_end_ratio: number | null;
  publish_ratio: number | null;
}

const PUBLISH_BATCH = 500;
const MAX_IN_FLIGHT = 64;

/**
 * Messages per second through the EventBus against a raw kafkajs producer and consumer on the same
 * broker, with the same message bytes (10-turn GameCurated events, framed once by the codec for
 * the raw side). The raw run goes first, on its own topic and group; then the bus run, with a
 * no-op handler. Both produce in batches of 500 with the producer settings the bus uses
 * (idempotent, one request in flight), so the ratio is the bus's own cost: validation and encoding
 * on publish, decoding, per-key scheduling and offset tracking on consume.
 */
export function busBench(): Bench<BusBenchResult> {
  return { name: 'bus', timeoutMs: 180_000, run: (ctx) => runBusBench(ctx) };
}

async function runBusBench(ctx: BenchContext): Promise<BusBenchResult> {
  const count = ctx.quick ? 5_000 : 20_000;
  const prefix = benchTopicPrefix('bus', uniqueSuffix());
  deferIsolationCleanup(ctx, prefix);

  const config = ctx.configWith({ DG_TOPIC_PREFIX: prefix });
  const busConfig = busConfigFrom(config, { consumer: { maxInFlight: MAX_IN_FLIGHT } });
  const codec = EventCodec.fromConfig(config, { topicPrefix: prefix });
  const bus = new EventBus({ config: busConfig, codec, logger: createLogger('bench.bus') });
  ctx.defer('event bus', () => bus.close());
  await bus.start();

  const events = benchCuratedEvents(count, { turns: 10, idPrefix: 'bus' });
  const bytes = await Promise.all(events.map((event) => codec.encode('gameCurated', event)));
  const messageBytes = bytes.reduce((sum, b) => sum + b.length, 0) / bytes.length;
  const partitions = await topicPartitions(ctx, prefix);

  ctx.progress(`raw kafkajs: ${count} messages of ${Math.round(messageBytes)} bytes`);
  const raw = await rawRun(ctx, prefix, events, bytes, partitions);
  ctx.progress(`raw: ${Math.round(raw.endToEnd)} msgs/s end to end`);

  ctx.progress(`event bus: ${count} messages, maxInFlight ${MAX_IN_FLIGHT}`);
  let handled = 0;
  const subscription = await bus.subscribe({
    groupId: `${prefix}bench-bus`,
    topics: ['gameCurated'],
    maxInFlight: MAX_IN_FLIGHT,
    handler: async () => {
      handled++;
    },
  });
  ctx.defer('bus subscription', () => subscription.stop());
  const started = performance.now();
  for (let i = 0; i < count; i += PUBLISH_BATCH) {
    ctx.checkpoint();
    await bus.publishBatch(events.slice(i, i + PUBLISH_BATCH).map((value) => ({ topic: 'gameCurated' as const, key: value.game.header.gameId, value })));
  }
  const published = performance.now();
  await pollUntil(
    ctx,
    () => handled,
    (n) => n >= count,
    5,
  );
  const consumed = performance.now();
  const busPublish = perSecond(count, published - started);
  const busEndToEnd = perSecond(count, consumed - started);
  ctx.progress(`bus: ${Math.round(busEndToEnd)} msgs/s end to end`);
  await subscription.stop();

  return {
    messages: count,
    message_bytes: significant(messageBytes),
    partitions,
    publish_batch_size: PUBLISH_BATCH,
    max_in_flight: MAX_IN_FLIGHT,
    bus_publish_msgs_per_s: significant(busPublish),
    bus_end_to_end_msgs_per_s: significant(busEndToEnd),
    raw_publish_msgs_per_s: significant(raw.publish),
    raw_end_to_end_msgs_per_s: significant(raw.endToEnd),
    end_to_end_ratio: ratioFigure(busEndToEnd, raw.endToEnd),
    publish_ratio: ratioFigure(busPublish, raw.publish),
  };
}

/** Partitions of the bus's game-curated topic, so the raw topic gets as many. */
async function topicPartitions(ctx: BenchContext, prefix: string): Promise<number> {
  const admin = rawKafka(ctx.config, 'dg-bench-bus-admin').admin();
  await admin.connect();
  try {
    const { topics } = await admin.fetchTopicMetadata({ topics: [topicName('gameCurated', prefix)] });
    const partitions = topics[0]?.partitions.length;
    if (!partitions) throw new Error(`topic ${topicName('gameCurated', prefix)} has no partitions in the broker's metadata`);
    return partitions;
  } finally {
    await admin.disconnect();
  }
}

async function rawRun(
  ctx: BenchContext,
  prefix: string,
  events: readonly GameCurated[],
  bytes: readonly Buffer[],
  partitions: number,
): Promise<{ publish: number; endToEnd: number }> {
  const topic = `${prefix}raw.game-curated`;
  const kafka = rawKafka(ctx.config, 'dg-bench-raw');
  const admin = kafka.admin();
  await admin.connect();
  try {
    await admin.createTopics({ waitForLeaders: true, topics: [{ topic, numPartitions: partitions, replicationFactor: 1 }] });
  } finally {
    await admin.disconnect();
  }
  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1, allowAutoTopicCreation: false });
  const consumer = kafka.consumer({ groupId: `${prefix}raw-consumer`, allowAutoTopicCreation: false, maxWaitTimeInMs: 1_000 });
  ctx.defer('raw producer', () => producer.disconnect());
  ctx.defer('raw consumer', () => consumer.disconnect());
  await producer.connect();
  await consumer.connect();
  await consumer.subscribe({ topics: [topic], fromBeginning: true });
  let joined = false;
  consumer.on(consumer.events.GROUP_JOIN, () => {
    joined = true;
  });
  let received = 0;
  await consumer.run({
    eachBatch: async ({ batch }) => {
      received += batch.messages.length;
    },
  });
  await pollUntil(
    ctx,
    () => joined,
    (j) => j,
    20,
  );

  const started = performance.now();
  for (let i = 0; i < bytes.length; i += PUBLISH_BATCH) {
    ctx.checkpoint();
    const messages = bytes.slice(i, i + PUBLISH_BATCH).map((value, j) => ({ key: events[i + j]!.game.header.gameId, value }));
    await producer.sendBatch({ acks: -1, topicMessages: [{ topic, messages }] });
  }
  const published = performance.now();
  await pollUntil(
    ctx,
    () => received,
    (n) => n >= bytes.length,
    5,
  );
  const consumed = performance.now();
  await consumer.disconnect();
  await producer.disconnect();
  return { publish: perSecond(bytes.length, published - started), endToEnd: perSecond(bytes.length, consumed - started) };
}
