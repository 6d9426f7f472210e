import { readFileSync } from 'node:fs';
import { Kafka, logLevel as KafkaLogLevel, type KafkaConfig, Partitioners, type Consumer, type EachBatchPayload, type IHeaders, type LogEntry } from 'kafkajs';
import { NonRetriableError, RetriableError } from '../errors';
import type { Logger } from '../logging';
import type { KafkaConnectionConfig } from './bus-config';
import { installKafkajsCrc32c } from './crc32c';

/**
 * The one adapter around the Kafka client library (kafkajs 2.2.4, unmaintained). Everything else in
 * the bus talks to these ports, so the client can be swapped by rewriting this file only.
 */

export interface MessageHeader {
  key: string;
  value: Buffer | null;
}

export interface InboundMessage {
  topic: string;
  partition: number;
  /** Decimal string: offsets are 64-bit. */
  offset: string;
  key: Buffer | null;
  value: Buffer | null;
  headers: MessageHeader[];
  timestamp: string;
}

export interface FetchedBatch {
  topic: string;
  partition: number;
  messages: InboundMessage[];
  /** The next fetch of this partition starts after `offset`. Not a commit. */
  markFetched(offset: string): void;
  /** Keeps the member in its group; rejects when the group is rebalancing. */
  heartbeat(): Promise<void>;
  /** False once the consumer stops or the partition was sought elsewhere. */
  isActive(): boolean;
}

export interface TopicPartitions {
  topic: string;
  partitions: number[];
}

export interface ConsumerListener {
  /** Called for one partition's batch at a time; the next fetch waits until it returns. */
  onBatch(batch: FetchedBatch): Promise<void>;
  /** After every (re)join, with this member's new assignment. */
  onAssigned(assignment: TopicPartitions[]): void;
  /** The group started rebalancing; the assignment is about to change. */
  onRebalancing(): void;
  onCrash(error: Error, willRestart: boolean): void;
}

export interface CommitOffset {
  topic: string;
  partition: number;
  /** The next offset to read, i.e. one past the last finished message. */
  offset: string;
}

export interface ConsumerGroupSettings {
  groupId: string;
  sessionTimeoutMs: number;
  rebalanceTimeoutMs: number;
  heartbeatIntervalMs: number;
  maxWaitTimeMs: number;
  maxBytesPerPartition: number;
  /** Least data a fetch waits for, up to maxWaitTimeMs (default 1 byte: answered as soon as anything arrives). */
  minBytes?: number;
  /** Partition batches handed over at once (each may wait for room in the scheduler). */
  partitionsConcurrently: number;
}

export interface KafkaConsumerPort {
  start(topics: string[], options: { fromBeginning: boolean }, listener: ConsumerListener): Promise<void>;
  commit(offsets: CommitOffset[]): Promise<void>;
  /** Heartbeat outside a batch (handlers call it through their context); no-op before the first batch. */
  heartbeat(): Promise<void>;
  /** Stops fetching the topics; the member stays in its group and keeps heartbeating. */
  pause(topics: string[]): void;
  /** Stops fetching these partitions only (a stalled message, backpressure); the member keeps heartbeating. */
  pausePartitions(partitions: TopicPartitions[]): void;
  /** Fetches these partitions again. */
  resumePartitions(partitions: TopicPartitions[]): void;
  disconnect(): Promise<void>;
}

export interface OutboundRecord {
  topic: string;
  key: Buffer | string | null;
  value: Buffer | null;
  headers?: Record<string, string | Buffer>;
  /** Explicit partition; otherwise the key's murmur2 hash (Java-compatible) picks it. */
  partition?: number;
  /** CreateTime in epoch ms as a decimal string; default: when the produce request is built. */
  timestamp?: string;
}

export interface ProducedRecord {
  topic: string;
  partition: number;
  /** Base offset of the produced batch on that partition. */
  offset: string;
}

export interface KafkaProducerPort {
  connect(): Promise<void>;
  send(records: OutboundRecord[]): Promise<ProducedRecord[]>;
  disconnect(): Promise<void>;
}

export interface NewTopic {
  name: string;
  partitions: number;
  replicationFactor: number;
  configs: Array<{ name: string; value: string }>;
}

export interface TopicDescription {
  name: string;
  partitions: number;
  /** Every partition has a leader, so producers and consumers can use the topic. */
  ready: boolean;
}

export interface KafkaAdminPort {
  connect(): Promise<void>;
  listTopics(): Promise<string[]>;
  /** Creates the topics; topics that already exist are not an error. */
  createTopics(topics: NewTopic[]): Promise<void>;
  describeTopics(names: string[]): Promise<TopicDescription[]>;
  /** Committed offsets of a group per partition (-1 when none). */
  committedOffsets(groupId: string, topic: string): Promise<Array<{ partition: number; offset: string }>>;
  /**
   * Moves a group's committed offsets on a topic to the earliest retained message, or to the first
   * message at or after `fromTimestampMs`. The group must have no active members. Returns the new offsets.
   */
  resetGroupOffsets(groupId: string, topic: string, fromTimestampMs?: number): Promise<Array<{ partition: number; offset: string }>>;
  disconnect(): Promise<void>;
}

/** One message to read back by its position (EventBus.readAt). */
export interface ReadAtRequest {
  topic: string;
  partition: number;
  offset: string;
  /** A throw-away consumer group of this id joins, seeks to the offset, and is deleted afterwards. */
  groupId: string;
  timeoutMs: number;
}

export interface KafkaClient {
  admin(): KafkaAdminPort;
  producer(): KafkaProducerPort;
  consumer(settings: ConsumerGroupSettings): KafkaConsumerPort;
  /** The message at a position; undefined when it is no longer (or not yet) in the log. Slow (a group join): for rare reads. */
  readAt(request: ReadAtRequest): Promise<InboundMessage | undefined>;
}

/** Whether kafkajs computes record-batch checksums with core/bus/crc32c (see installKafkajsCrc32c). */
let fastCrc32c: boolean | undefined;

export function createKafkaClient(config: KafkaConnectionConfig, logger: Logger): KafkaClient {
  fastCrc32c ??= installKafkajsCrc32c();
  const kafka = new Kafka({
    clientId: config.clientId,
    brokers: config.brokers,
    connectionTimeout: config.connectionTimeoutMs,
    requestTimeout: config.requestTimeoutMs,
    ...kafkaSecurityOptions(config),
    logLevel: KafkaLogLevel.INFO,
    logCreator: () => (entry) => forwardClientLog(logger, entry),
  });
  return {
    admin: () => new KafkajsAdmin(kafka),
    producer: () => new KafkajsProducer(kafka),
    consumer: (settings) => new KafkajsConsumer(kafka, settings),
    readAt: (request) => readOneMessage(kafka, request),
  };
}

/**
 * kafkajs fetches only inside a consumer group, so reading one message by position means a group of
 * its own: it joins, seeks the partition to the position (other partitions start at their end and
 * are paused), the first fetched batch of the partition has the message, and the group is deleted
 * afterwards. It commits nothing. (admin.setOffsets on a new group took 5 s here; the seek ~30 ms.)
 */
async function readOneMessage(kafka: Kafka, request: ReadAtRequest): Promise<InboundMessage | undefined> {
  const { topic, partition, offset, groupId } = request;
  const admin = kafka.admin();
  await admin.connect();
  let consumer: Consumer | undefined;
  let timer: NodeJS.Timeout | undefined;
  try {
    const range = (await admin.fetchTopicOffsets(topic)).find((p) => p.partition === partition);
    if (range === undefined) throw new NonRetriableError(`topic ${topic} has no partition ${partition}`);
    if (BigInt(offset) < BigInt(range.low) || BigInt(offset) >= BigInt(range.high)) return undefined;
    // A short fetch wait: disconnecting waits for the fetch in flight.
    const joined = kafka.consumer({ groupId, allowAutoTopicCreation: false, maxBytesPerPartition: 1_048_576, maxWaitTimeInMs: 100 });
    consumer = joined;
    await joined.connect();
    await joined.subscribe({ topics: [topic], fromBeginning: false });
    return await new Promise<InboundMessage | undefined>((resolve, reject) => {
      timer = setTimeout(
        () => reject(new RetriableError(`no message read back from ${topic} partition ${partition} offset ${offset} within ${request.timeoutMs} ms`)),
        request.timeoutMs,
      );
      joined.on(joined.events.GROUP_JOIN, (event) => {
        const others = (event.payload.memberAssignment[topic] ?? []).filter((p) => p !== partition);
        if (others.length > 0) joined.pause([{ topic, partitions: others }]);
      });
      joined
        .run({
          autoCommit: false,
          eachBatch: async ({ batch }) => {
            if (batch.partition !== partition || batch.messages.length === 0) return;
            const found = batch.messages.find((m) => m.offset === offset);
            // Retention may have removed it since the range was read: the batch then starts past it.
            if (found === undefined && BigInt(batch.messages[0]!.offset) <= BigInt(offset)) return;
            resolve(
              found && {
                topic,
                partition,
                offset: found.offset,
                key: found.key,
                value: found.value,
                headers: normalizeHeaders(found.headers),
                timestamp: found.timestamp,
              },
            );
          },
        })
        .catch(reject);
      // Applied once the partition is assigned, before its first fetch.
      joined.seek({ topic, partition, offset });
    });
  } finally {
    if (timer) clearTimeout(timer);
    await consumer?.disconnect().catch(() => undefined);
    await admin.deleteGroups([groupId]).catch(() => undefined);
    await admin.disconnect();
  }
}

/** SASL and TLS client options (KAFKA_SASL_*, KAFKA_SSL*), validated at boot by core/config. */
export function kafkaSecurityOptions(config: Pick<KafkaConnectionConfig, 'sasl' | 'ssl'>): Pick<KafkaConfig, 'sasl' | 'ssl'> {
  const options: Pick<KafkaConfig, 'sasl' | 'ssl'> = {};
  if (config.ssl) {
    const { caFile, certFile, keyFile, rejectUnauthorized } = config.ssl;
    options.ssl =
      caFile === null && certFile === null && keyFile === null && rejectUnauthorized
        ? true
        : {
            rejectUnauthorized,
            ...(caFile ? { ca: [readFileSync(caFile, 'utf8')] } : {}),
            ...(certFile ? { cert: readFileSync(certFile, 'utf8') } : {}),
            ...(keyFile ? { key: readFileSync(keyFile, 'utf8') } : {}),
          };
  }
  if (config.sasl) {
    const { mechanism, username, password } = config.sasl;
    options.sasl =
      mechanism === 'plain'
        ? { mechanism, username, password }
        : mechanism === 'scram-sha-256'
          ? { mechanism, username, password }
          : { mechanism, username, password };
  }
  return options;
}

/**
 * kafkajs INFO lines (joins, pauses) are routine: they go to debug. So do its per-request error
 * responses ("Response Heartbeat ... The group is rebalancing"): kafkajs retries or rejoins on them,
 * and a failure that matters surfaces as a rejected call or a consumer crash, logged in its own right.
 */
function forwardClientLog(logger: Logger, entry: LogEntry): void {
  const { message, timestamp: _timestamp, ...fields } = entry.log;
  const scoped = { kafkajs: entry.namespace, ...fields };
  const requestErrorResponse = entry.namespace === 'Connection' && message.startsWith('Response ');
  if (requestErrorResponse) logger.debug(message, scoped);
  else if (entry.level === KafkaLogLevel.ERROR) logger.error(message, scoped);
  else if (entry.level === KafkaLogLevel.WARN) logger.warn(message, scoped);
  else logger.debug(message, scoped);
}

class KafkajsAdmin implements KafkaAdminPort {
  private readonly admin;

  constructor(kafka: Kafka) {
    this.admin = kafka.admin();
  }

  connect(): Promise<void> {
    return this.admin.connect();
  }

  listTopics(): Promise<string[]> {
    return this.admin.listTopics();
  }

  async createTopics(topics: NewTopic[]): Promise<void> {
    // kafkajs returns false when every topic already existed and throws when only some did.
    try {
      await this.admin.createTopics({
        waitForLeaders: true,
        topics: topics.map((t) => ({ topic: t.name, numPartitions: t.partitions, replicationFactor: t.replicationFactor, configEntries: t.configs })),
      });
    } catch (err) {
      const nested = (err as { errors?: Array<{ type?: string }> }).errors;
      if (Array.isArray(nested) && nested.length > 0 && nested.every((e) => e.type === 'TOPIC_ALREADY_EXISTS')) return;
      throw err;
    }
  }

  async describeTopics(names: string[]): Promise<TopicDescription[]> {
    const { topics } = await this.admin.fetchTopicMetadata({ topics: names });
    return topics.map((t) => ({
      name: t.name,
      partitions: t.partitions.length,
      ready: t.partitions.length > 0 && t.partitions.every((p) => p.leader >= 0 && p.partitionErrorCode === 0),
    }));
  }

  async committedOffsets(groupId: string, topic: string): Promise<Array<{ partition: number; offset: string }>> {
    const [result] = await this.admin.fetchOffsets({ groupId, topics: [topic] });
    return (result?.partitions ?? []).map((p) => ({ partition: p.partition, offset: p.offset }));
  }

  async resetGroupOffsets(groupId: string, topic: string, fromTimestampMs?: number): Promise<Array<{ partition: number; offset: string }>> {
    const partitions =
      fromTimestampMs === undefined
        ? (await this.admin.fetchTopicOffsets(topic)).map((p) => ({ partition: p.partition, offset: p.low }))
        : (await this.admin.fetchTopicOffsetsByTimestamp(topic, fromTimestampMs)).map((p) => ({ partition: p.partition, offset: p.offset }));
    await this.admin.setOffsets({ groupId, topic, partitions });
    return partitions;
  }

  disconnect(): Promise<void> {
    return this.admin.disconnect();
  }
}

/** The broker's default message.max.bytes is 1048588 per record batch; leave room for batch and record overhead. */
export const MAX_RECORD_BYTES = 1_000_000;
const MAX_REQUEST_BYTES = 900_000;

/** A record too large for Kafka; never retried (the same bytes would be refused again). */
export class RecordTooLargeError extends NonRetriableError {
  constructor(message: string) {
    super(message, { code: 'RECORD_TOO_LARGE' });
    this.name = 'RecordTooLargeError';
  }
}

export function recordBytes(record: OutboundRecord): number {
  let size = (record.value?.length ?? 0) + (typeof record.key === 'string' ? Buffer.byteLength(record.key) : (record.key?.length ?? 0)) + 64;
  for (const [key, value] of Object.entries(record.headers ?? {}))
    size += Buffer.byteLength(key) + (typeof value === 'string' ? Buffer.byteLength(value) : value.length);
  return size;
}

/** Consecutive chunks, in order, each under `limit` bytes (a single record above it is a chunk of its own). */
export function chunksByBytes(records: OutboundRecord[], limit: number): OutboundRecord[][] {
  const chunks: OutboundRecord[][] = [];
  let current: OutboundRecord[] = [];
  let bytes = 0;
  for (const record of records) {
    const size = recordBytes(record);
    if (current.length > 0 && bytes + size > limit) {
      chunks.push(current);
      current = [];
      bytes = 0;
    }
    current.push(record);
    bytes += size;
  }
  if (current.length > 0) chunks.push(current);
  return chunks;
}

class KafkajsProducer implements KafkaProducerPort {
  private readonly producer;

  constructor(kafka: Kafka) {
    // Idempotent: the broker drops duplicates of a retried batch, so a retry never writes a message
    // twice. It forces acks=-1 and unbounded retries. kafkajs also holds a per-broker lock around
    // sequence numbers; one in-flight request per connection keeps retried batches from overtaking
    // newer ones (KIP-98's original rule), at a small throughput cost we accept.
    this.producer = kafka.producer({
      idempotent: true,
      maxInFlightRequests: 1,
      allowAutoTopicCreation: false,
      createPartitioner: Partitioners.DefaultPartitioner,
    });
  }

  connect(): Promise<void> {
    return this.producer.connect();
  }

  async send(records: OutboundRecord[]): Promise<ProducedRecord[]> {
    // A record the broker would refuse (message.max.bytes, 1 MiB by default) is refused here, before it
    // reaches the idempotent producer: kafkajs never recovers the partition's sequence numbers after a
    // refused batch (every later produce fails with OUT_OF_ORDER_SEQUENCE_NUMBER), found by test/fuzz.
    for (const record of records) {
      const size = recordBytes(record);
      if (size > MAX_RECORD_BYTES)
        throw new RecordTooLargeError(`record for ${record.topic} is ${size} bytes, above the ${MAX_RECORD_BYTES}-byte limit of one Kafka record`);
    }
    // Coalesced records are sent in requests that stay under the limit together.
    const produced: ProducedRecord[] = [];
    for (const chunk of chunksByBytes(records, MAX_REQUEST_BYTES)) produced.push(...(await this.sendOne(chunk)));
    return produced;
  }

  private async sendOne(records: OutboundRecord[]): Promise<ProducedRecord[]> {
    const byTopic = new Map<string, OutboundRecord[]>();
    for (const record of records) {
      const list = byTopic.get(record.topic) ?? [];
      list.push(record);
      byTopic.set(record.topic, list);
    }
    const metadata = await this.producer.sendBatch({
      acks: -1,
      topicMessages: [...byTopic].map(([topic, list]) => ({
        topic,
        messages: list.map((r) => ({
          key: r.key,
          value: r.value,
          ...(r.headers ? { headers: r.headers } : {}),
          ...(r.partition === undefined ? {} : { partition: r.partition }),
          ...(r.timestamp === undefined ? {} : { timestamp: r.timestamp }),
        })),
      })),
    });
    return metadata.map((m) => ({ topic: m.topicName, partition: m.partition, offset: m.baseOffset ?? m.offset ?? '-1' }));
  }

  disconnect(): Promise<void> {
    return this.producer.disconnect();
  }
}

class KafkajsConsumer implements KafkaConsumerPort {
  private readonly consumer: Consumer;
  private readonly partitionsConcurrently: number;
  private latestHeartbeat: (() => Promise<void>) | undefined;

  constructor(kafka: Kafka, settings: ConsumerGroupSettings) {
    this.partitionsConcurrently = settings.partitionsConcurrently;
    this.consumer = kafka.consumer({
      groupId: settings.groupId,
      sessionTimeout: settings.sessionTimeoutMs,
      rebalanceTimeout: settings.rebalanceTimeoutMs,
      heartbeatInterval: settings.heartbeatIntervalMs,
      maxWaitTimeInMs: settings.maxWaitTimeMs,
      maxBytesPerPartition: settings.maxBytesPerPartition,
      ...(settings.minBytes === undefined ? {} : { minBytes: settings.minBytes }),
      allowAutoTopicCreation: false,
    });
  }

  async start(topics: string[], options: { fromBeginning: boolean }, listener: ConsumerListener): Promise<void> {
    const { GROUP_JOIN, REBALANCING, CRASH } = this.consumer.events;
    this.consumer.on(GROUP_JOIN, (event) => {
      listener.onAssigned(Object.entries(event.payload.memberAssignment).map(([topic, partitions]) => ({ topic, partitions: [...partitions] })));
    });
    this.consumer.on(REBALANCING, () => listener.onRebalancing());
    this.consumer.on(CRASH, (event) => listener.onCrash(event.payload.error, event.payload.restart));
    await this.consumer.connect();
    await this.consumer.subscribe({ topics, fromBeginning: options.fromBeginning });
    // eachBatch with manual resolution and no auto-commit: the bus hands messages to its own
    // per-key scheduler, marks them fetched as it accepts them, and commits only offsets below the
    // lowest unfinished message itself (eachMessage would serialise a partition and commit in
    // kafkajs's order). Several partition batches are handed over at once so that one partition
    // waiting for room does not starve the others; handler concurrency comes from the scheduler.
    await this.consumer.run({
      autoCommit: false,
      eachBatchAutoResolve: false,
      partitionsConsumedConcurrently: this.partitionsConcurrently,
      eachBatch: (payload) => this.deliver(payload, listener),
    });
  }

  private deliver(payload: EachBatchPayload, listener: ConsumerListener): Promise<void> {
    const { batch } = payload;
    this.latestHeartbeat = payload.heartbeat;
    return listener.onBatch({
      topic: batch.topic,
      partition: batch.partition,
      messages: batch.messages.map((m) => ({
        topic: batch.topic,
        partition: batch.partition,
        offset: m.offset,
        key: m.key,
        value: m.value,
        headers: normalizeHeaders(m.headers),
        timestamp: m.timestamp,
      })),
      markFetched: (offset) => payload.resolveOffset(offset),
      heartbeat: () => payload.heartbeat(),
      isActive: () => payload.isRunning() && !payload.isStale(),
    });
  }

  commit(offsets: CommitOffset[]): Promise<void> {
    return this.consumer.commitOffsets(offsets);
  }

  async heartbeat(): Promise<void> {
    await this.latestHeartbeat?.();
  }

  pause(topics: string[]): void {
    this.consumer.pause(topics.map((topic) => ({ topic })));
  }

  pausePartitions(partitions: TopicPartitions[]): void {
    this.consumer.pause(partitions.map((p) => ({ topic: p.topic, partitions: [...p.partitions] })));
  }

  resumePartitions(partitions: TopicPartitions[]): void {
    this.consumer.resume(partitions.map((p) => ({ topic: p.topic, partitions: [...p.partitions] })));
  }

  disconnect(): Promise<void> {
    return this.consumer.disconnect();
  }
}

function normalizeHeaders(headers: IHeaders | undefined): MessageHeader[] {
  const out: MessageHeader[] = [];
  for (const [key, raw] of Object.entries(headers ?? {})) {
    const values = Array.isArray(raw) ? raw : [raw];
    for (const value of values) {
      out.push({ key, value: value === undefined ? null : Buffer.isBuffer(value) ? value : Buffer.from(value) });
    }
  }
  return out;
}
