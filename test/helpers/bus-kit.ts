import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { join, resolve } from 'node:path';
import { Kafka, logLevel, type Admin } from 'kafkajs';
import { subjectFor, TOPIC_KEYS, topicName, type TopicKey } from '../../schemas/topics';
import {
  busConfigFrom,
  createKafkaClient,
  ensureTopics,
  EventBus,
  type BusConfig,
  type BusConfigOverrides,
  type KafkaClient,
  type ProducedRecord,
} from '../../services/core/bus';
import { EventCodec } from '../../services/core/codec';
import { loadConfig, type DgConfig } from '../../services/core/config';
import { configureLogging, createLogger } from '../../services/core/logging';

/**
 * Test kit for the bus on the shared local stack: every world has a unique topic prefix, so its own
 * topics, registry subjects and consumer groups (group ids start with the prefix too), and cleanup()
 * removes them again. Settings are short (fast commits, short fetch waits) to keep tests quick.
 */

/** Lowercase, unique per call: safe in topic names and group ids. */
export function uniqueSuffix(): string {
  return `${Date.now().toString(36)}${randomBytes(3).toString('hex')}`;
}

export function uniqueTopicPrefix(label: string): string {
  return `it-bus-${label}-${uniqueSuffix()}.`;
}

/** Bus settings tuned for tests; the environment still decides where the stack is. */
export function testBusConfig(prefix: string, overrides: BusConfigOverrides = {}): BusConfig {
  return busConfigFrom(testDgConfig(prefix), {
    ...overrides,
    consumer: { sessionTimeoutMs: 10_000, heartbeatIntervalMs: 1_000, commitIntervalMs: 200, maxWaitTimeMs: 200, ...overrides.consumer },
    handlerRetry: { maxAttempts: 3, initialDelayMs: 10, maxDelayMs: 50, ...overrides.handlerRetry },
    deadLetterBackoff: { initialDelayMs: 50, maxDelayMs: 500, ...overrides.deadLetterBackoff },
    shutdownTimeoutMs: overrides.shutdownTimeoutMs ?? 10_000,
  });
}

export function testDgConfig(prefix: string): DgConfig {
  return loadConfig(process.env, { DG_TOPIC_PREFIX: prefix });
}

export interface BusTestWorld {
  readonly prefix: string;
  readonly config: BusConfig;
  readonly codec: EventCodec;
  /** Raw kafkajs admin for checks (offsets, watermarks). */
  readonly admin: Admin;
  /** The bus adapter, for producing bytes the codec would refuse to write. */
  readonly client: KafkaClient;
  topic(key: TopicKey): string;
  /** A group id under the world's prefix (cleaned up with it). */
  groupId(label: string): string;
  /** A started EventBus on the world's topics, closed by cleanup(). */
  newBus(overrides?: BusConfigOverrides): Promise<EventBus>;
  produceRaw(
    topic: TopicKey,
    records: Array<{ key: string | null; value: Buffer | null; partition?: number; headers?: Record<string, string> }>,
  ): Promise<ProducedRecord[]>;
  /** Committed offset per partition (-1 when none). */
  committedOffsets(groupId: string, topic: TopicKey): Promise<Map<number, bigint>>;
  /** High watermark (next offset to be written) per partition. */
  highWatermarks(topic: TopicKey): Promise<Map<number, bigint>>;
  /** A child process running a TypeScript module (killed by cleanup() if still alive). */
  spawnTs(modulePath: string, env: Record<string, string>): ChildProcess;
  cleanup(): Promise<void>;
}

const RUN_TS = resolve(__dirname, 'run-ts.js');

export async function createBusTestWorld(label: string, options: { partitions?: number; topics?: readonly TopicKey[] } = {}): Promise<BusTestWorld> {
  const prefix = uniqueTopicPrefix(label);
  const dgConfig = testDgConfig(prefix);
  const config = testBusConfig(prefix);
  // Bus logs (dead letters, retries) are expected in these tests; DG_LOG_LEVEL brings them back.
  configureLogging({ level: process.env.DG_LOG_LEVEL ? dgConfig.log.level : 'error' });
  await ensureTopics(config.kafka, prefix, { partitions: options.partitions ?? 2, ...(options.topics ? { topics: options.topics } : {}) });

  const codec = EventCodec.fromConfig(dgConfig);
  const kafka = new Kafka({ clientId: `it-bus-${label}`, brokers: config.kafka.brokers, logLevel: logLevel.NOTHING });
  const admin = kafka.admin();
  await admin.connect();
  const client = createKafkaClient(config.kafka, createLogger('test.kafka'));
  const rawProducer = client.producer();
  await rawProducer.connect();
  const buses: EventBus[] = [];
  const children = new Set<ChildProcess>();

  return {
    prefix,
    config,
    codec,
    admin,
    client,
    topic: (key) => topicName(key, prefix),
    groupId: (name) => `${prefix}${name}`,
    async newBus(overrides = {}) {
      const bus = new EventBus({ config: testBusConfig(prefix, overrides), codec, ensureTopicsOnStart: false });
      buses.push(bus);
      await bus.start();
      return bus;
    },
    produceRaw(topic, records) {
      return rawProducer.send(
        records.map((r) => ({
          topic: topicName(topic, prefix),
          key: r.key,
          value: r.value,
          ...(r.partition === undefined ? {} : { partition: r.partition }),
          ...(r.headers ? { headers: r.headers } : {}),
        })),
      );
    },
    async committedOffsets(groupId, topic) {
      const [result] = await admin.fetchOffsets({ groupId, topics: [topicName(topic, prefix)] });
      return new Map((result?.partitions ?? []).map((p) => [p.partition, BigInt(p.offset)]));
    },
    async highWatermarks(topic) {
      const offsets = await admin.fetchTopicOffsets(topicName(topic, prefix));
      return new Map(offsets.map((p) => [p.partition, BigInt(p.high)]));
    },
    spawnTs(modulePath, env) {
      const child = spawn(process.execPath, [RUN_TS, modulePath], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
      children.add(child);
      child.once('exit', () => children.delete(child));
      return child;
    },
    async cleanup() {
      for (const child of children) child.kill('SIGKILL');
      await Promise.allSettled(buses.map((bus) => bus.close()));
      await rawProducer.disconnect().catch(() => undefined);
      // Best effort: the stack is shared and leftovers must not pile up, but cleanup must not fail a test.
      try {
        const groups = (await admin.listGroups()).groups.map((g) => g.groupId).filter((id) => id.startsWith(prefix));
        if (groups.length > 0) await admin.deleteGroups(groups);
        const topics = (await admin.listTopics()).filter((t) => t.startsWith(prefix));
        if (topics.length > 0) await admin.deleteTopics({ topics, timeout: 10_000 });
      } catch {
        // The broker cleans up with retention eventually.
      }
      await admin.disconnect().catch(() => undefined);
      for (const key of TOPIC_KEYS) {
        const subject = encodeURIComponent(subjectFor(topicName(key, prefix)));
        await fetch(`${dgConfig.schemaRegistry.url}/subjects/${subject}`, { method: 'DELETE', signal: AbortSignal.timeout(5_000) }).catch(() => undefined);
      }
    },
  };
}

/** Path of a module under test/bus/workers. */
export function busWorker(name: string): string {
  return join(__dirname, '..', 'bus', 'workers', name);
}
