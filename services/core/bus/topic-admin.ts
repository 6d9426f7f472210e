import { TOPIC_KEYS, TOPICS, topicConfigEntries, topicName, type TopicKey } from '../../../schemas/topics';
import { RetriableError, sleep } from '../errors';
import { createLogger, type Logger } from '../logging';
import type { KafkaConnectionConfig } from './bus-config';
import { createKafkaClient, type KafkaAdminPort, type TopicDescription } from './kafka-client';

export interface EnsureTopicsOptions {
  /** Default: every topic of the topic map. */
  topics?: readonly TopicKey[];
  /** Overrides every topic's partition count (tests keep topics small). */
  partitions?: number;
  replicationFactor?: number;
  /** Deadline for creation plus leaders showing in metadata. Default 30 s. */
  timeoutMs?: number;
  logger?: Logger;
}

export interface EnsureTopicsReport {
  /** Missing when the call started, present now (created by this call or a concurrent one). */
  created: string[];
  /** Already there when the call started (left as they are, even if their partitions differ). */
  existing: string[];
}

/**
 * Creates the project's topics that are missing (prefix + base name, partitions, retention) and
 * waits until metadata shows a leader for every partition: kafkajs on KRaft fails to subscribe to a
 * topic it cannot see yet. Safe to run any number of times, also concurrently. Usable without Nest
 * (`dg stack up` calls it).
 */
export async function ensureTopics(kafka: KafkaConnectionConfig, topicPrefix: string, options: EnsureTopicsOptions = {}): Promise<EnsureTopicsReport> {
  const logger = options.logger ?? createLogger('bus.topics');
  const admin = createKafkaClient(kafka, logger).admin();
  await admin.connect();
  try {
    return await ensureTopicsWith(admin, topicPrefix, { ...options, logger });
  } finally {
    await admin.disconnect();
  }
}

export async function ensureTopicsWith(admin: KafkaAdminPort, topicPrefix: string, options: EnsureTopicsOptions = {}): Promise<EnsureTopicsReport> {
  const logger = options.logger ?? createLogger('bus.topics');
  const deadline = Date.now() + (options.timeoutMs ?? 30_000);
  const wanted = (options.topics ?? TOPIC_KEYS).map((key) => ({
    name: topicName(key, topicPrefix),
    partitions: options.partitions ?? TOPICS[key].partitions,
    replicationFactor: options.replicationFactor ?? 1,
    configs: topicConfigEntries(key),
  }));
  const existingNames = new Set(await admin.listTopics());
  const missing = wanted.filter((t) => !existingNames.has(t.name));
  // Another process may create some of the same topics at the same moment; re-list and retry then.
  for (let attempt = 1, toCreate = missing; toCreate.length > 0; attempt++) {
    try {
      await admin.createTopics(toCreate);
      logger.info('created missing topics', { topics: toCreate.map((t) => t.name) });
      break;
    } catch (error) {
      if (attempt >= 3 || Date.now() >= deadline) throw error;
      const nowExisting = new Set(await admin.listTopics());
      toCreate = toCreate.filter((t) => !nowExisting.has(t.name));
      logger.debug('topic creation raced, retrying for the rest', { error, remaining: toCreate.map((t) => t.name) });
    }
  }

  const names = wanted.map((t) => t.name);
  let described: TopicDescription[] = [];
  for (;;) {
    try {
      described = await admin.describeTopics(names);
      if (described.length === names.length && described.every((d) => d.ready)) break;
    } catch (error) {
      logger.debug('topic metadata not available yet', { error });
    }
    if (Date.now() >= deadline) {
      const notReady = names.filter((name) => !described.some((d) => d.name === name && d.ready));
      throw new RetriableError(`topics not ready before the deadline: ${notReady.join(', ')}`);
    }
    await sleep(100);
  }

  for (const topic of wanted) {
    const actual = described.find((d) => d.name === topic.name);
    if (actual && actual.partitions < topic.partitions && existingNames.has(topic.name)) {
      logger.warn('existing topic has fewer partitions than the topic map asks for (not changed)', {
        topic: topic.name,
        actual: actual.partitions,
        wanted: topic.partitions,
      });
    }
  }
  return { created: missing.map((t) => t.name), existing: wanted.filter((t) => existingNames.has(t.name)).map((t) => t.name) };
}
