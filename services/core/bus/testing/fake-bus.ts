import type { DeadLetter } from '../../../../schemas/generated/events';
import { topicName, type TopicEvent, type TopicKey } from '../../../../schemas/topics';
import { EventCodec } from '../../codec/event-codec';
import { InMemorySchemaRegistry } from '../../codec/registry-client';
import { createLogger, type Logger } from '../../logging';
import type { ConsumerStats, StopReport, SubscriptionOptions } from '../consumer-runner';
import type { EventBus, Subscription } from '../event-bus';
import type { AnyPublishRecord } from '../event-publisher';
import type { EventHandler } from '../handler';
import type { InboundMessage, ProducedRecord } from '../kafka-client';
import { MessageProcessor, type Outcome } from '../message-processor';

/**
 * An in-memory event bus for pure unit specs of role services (no broker, no sockets, no registry
 * process). It implements the part of EventBus the roles use (publish, publishBatch, subscribe, readAt):
 *
 * - publish encodes every value with the real EventCodec against an in-memory schema registry, so a
 *   value the real bus would refuse is refused here too, and records what was published;
 * - a published record is delivered to one member of every consumer group reading its topic (a
 *   group's first live member stands for the group), in publish order, which is what the model-call
 *   journal's and the filter's claims readers rely on;
 * - deliver() hands an input to the role's subscription through the real MessageProcessor (decode,
 *   topic/event check, in-place retries, dead letters), so a spec sees exactly what the bus does
 *   with a bad record: a dead letter for a non-retriable failure, 'abandoned' (left for redelivery,
 *   never dead-lettered) for a retriable one that outlasts the retry budget.
 */

/** The EventBus surface role services depend on. */
export type EventBusPort = Pick<EventBus, 'publish' | 'publishBatch' | 'subscribe' | 'readAt'>;

export interface PublishedRecord<K extends TopicKey = TopicKey> {
  topicKey: K;
  key: string | null;
  /** The value as a consumer decodes it (after an Avro round trip). */
  value: TopicEvent<K>;
  bytes: Buffer;
  offset: number;
  headers: Record<string, string | Buffer>;
}

interface FakeSubscription {
  groupId: string;
  topics: readonly TopicKey[];
  handler: EventHandler<TopicKey>;
  processor: MessageProcessor<TopicKey>;
  handled: number;
  deadLettered: number;
  stopped: boolean;
}

export interface FakeEventBusOptions {
  topicPrefix?: string;
  logger?: Logger;
  /** In-place attempts for a failing handler before a non-retriable error is dead-lettered or a retriable one stalls (default 3). */
  maxAttempts?: number;
}

export class FakeEventBus implements EventBusPort {
  readonly topicPrefix: string;
  readonly codec: EventCodec;
  readonly records: PublishedRecord[] = [];
  private readonly subscriptions: FakeSubscription[] = [];
  private readonly offsets = new Map<TopicKey, number>();
  private readonly logger: Logger;
  private readonly maxAttempts: number;
  /** Deliveries to subscriptions still running (publish does not wait for its consumers). */
  private readonly inFlight = new Set<Promise<unknown>>();
  private tail: Promise<unknown> = Promise.resolve();

  constructor(options: FakeEventBusOptions = {}) {
    this.topicPrefix = options.topicPrefix ?? 'fake.';
    this.codec = new EventCodec({ topicPrefix: this.topicPrefix, registry: new InMemorySchemaRegistry() });
    this.logger = options.logger ?? createLogger('fake-bus');
    this.maxAttempts = options.maxAttempts ?? 3;
  }

  /** This fake where a service's constructor asks for an EventBus. */
  asEventBus(): EventBus {
    return this as unknown as EventBus;
  }

  async publish<K extends TopicKey>(topic: K, key: string | Buffer | null, value: TopicEvent<K>, headers: Record<string, string | Buffer> = {}): Promise<void> {
    const bytes = await this.codec.encode(topic, value);
    const decoded = (await this.codec.decodeAs(topic, bytes)) as TopicEvent<K>;
    const offset = this.offsets.get(topic) ?? 0;
    this.offsets.set(topic, offset + 1);
    const record: PublishedRecord<K> = { topicKey: topic, key: key === null ? null : key.toString(), value: decoded, bytes, offset, headers };
    this.records.push(record as unknown as PublishedRecord);
    const consumers = this.consumersOf(topic);
    if (consumers.length > 0) {
      // Asynchronous like a broker, and in publish order (one chain), like one partition.
      const delivery = (this.tail = this.tail.then(() => Promise.all(consumers.map((s) => s.processor.process(this.inbound(record), topic)))));
      this.inFlight.add(delivery);
      void delivery.finally(() => this.inFlight.delete(delivery));
    }
  }

  async publishBatch(records: readonly AnyPublishRecord[]): Promise<ProducedRecord[]> {
    const produced: ProducedRecord[] = [];
    for (const record of records) {
      await this.publish(record.topic, record.key, record.value as never, record.headers);
      produced.push({ topic: topicName(record.topic, this.topicPrefix), partition: 0, offset: String(this.offsets.get(record.topic)! - 1) });
    }
    return produced;
  }

  /** The record published at that offset of the topic (one partition: 0), as EventBus.readAt gives it. */
  async readAt<K extends TopicKey>(topic: K, partition: number, offset: string): Promise<TopicEvent<K> | undefined> {
    if (partition !== 0) return undefined;
    return this.records.find((r) => r.topicKey === topic && r.offset === Number(offset))?.value as TopicEvent<K> | undefined;
  }

  async subscribe<K extends TopicKey>(options: SubscriptionOptions<K>): Promise<Subscription> {
    const sub: FakeSubscription = {
      groupId: options.groupId,
      topics: options.topics,
      handler: options.handler as unknown as EventHandler<TopicKey>,
      processor: undefined as unknown as MessageProcessor<TopicKey>,
      handled: 0,
      deadLettered: 0,
      stopped: false,
    };
    sub.processor = this.processorFor(sub);
    this.subscriptions.push(sub);
    const stats = (): ConsumerStats => ({
      running: 0,
      pending: 0,
      handled: sub.handled,
      deadLettered: sub.deadLettered,
      generation: 1,
      assignment: [],
      stalled: 0,
      stallRetries: 0,
      stalls: 0,
      pausedPartitions: 0,
      backpressured: false,
      backpressurePauses: 0,
    });
    // Records published before the subscription (fromBeginning, the default) are read too.
    if (options.fromBeginning !== false) {
      for (const record of this.records.filter((r) => options.topics.includes(r.topicKey as K)))
        await sub.processor.process(this.inbound(record), record.topicKey);
    }
    return {
      groupId: options.groupId,
      stats,
      stop: async (): Promise<StopReport> => {
        sub.stopped = true;
        await this.settled();
        return { drained: true, abandoned: 0, dropped: 0 };
      },
    };
  }

  /**
   * Delivers one input to the subscription(s) of `topic` as the consumer would: encoded, then
   * decoded and handled by the real MessageProcessor. Resolves with each subscription's outcome once
   * every consequence (records published meanwhile and delivered on) has settled.
   */
  async deliver<K extends TopicKey>(topic: K, value: TopicEvent<K>, key: string | null = gameIdOf(value)): Promise<Outcome[]> {
    return this.deliverBytes(topic, await this.codec.encode(topic, value), key);
  }

  /** Delivers raw bytes (e.g. a poison message) to the subscription(s) of `topic`. */
  async deliverBytes(topic: TopicKey, bytes: Buffer | null, key: string | null = null): Promise<Outcome[]> {
    const consumers = this.consumersOf(topic);
    if (consumers.length === 0) throw new Error(`no subscription reads ${topic}`);
    const offset = this.offsets.get(topic) ?? 0;
    this.offsets.set(topic, offset + 1);
    const message: InboundMessage = {
      topic: topicName(topic, this.topicPrefix),
      partition: 0,
      offset: String(offset),
      key: key === null ? null : Buffer.from(key),
      value: bytes,
      headers: [],
      timestamp: String(Date.now()),
    };
    const outcomes = await Promise.all(consumers.map((s) => s.processor.process(message, topic)));
    await this.settled();
    return outcomes;
  }

  /** Waits until no delivery to a subscription is running. */
  async settled(): Promise<void> {
    while (this.inFlight.size > 0) await Promise.all([...this.inFlight]);
  }

  /** Values published on a topic, in order (dead letters included for 'deadLetter'). */
  published<K extends TopicKey>(topic: K): Array<TopicEvent<K>> {
    return this.records.filter((r) => r.topicKey === topic).map((r) => r.value as TopicEvent<K>);
  }

  deadLetters(): DeadLetter[] {
    return this.published('deadLetter');
  }

  /** One live subscription per consumer group reading `topic` (the group's first member gets every partition). */
  private consumersOf(topic: TopicKey): FakeSubscription[] {
    const byGroup = new Map<string, FakeSubscription>();
    for (const s of this.subscriptions) if (!s.stopped && s.topics.includes(topic) && !byGroup.has(s.groupId)) byGroup.set(s.groupId, s);
    return [...byGroup.values()];
  }

  private processorFor(sub: FakeSubscription): MessageProcessor<TopicKey> {
    const draining = new AbortController();
    return new MessageProcessor<TopicKey>({
      groupId: sub.groupId,
      codec: this.codec,
      handler: async (event, ctx) => {
        await sub.handler(event, ctx);
        sub.handled++;
      },
      publishDeadLetter: async (record) => {
        sub.deadLettered++;
        await this.publish('deadLetter', record.key, record);
      },
      heartbeat: async () => undefined,
      handlerRetry: { maxAttempts: this.maxAttempts, initialDelayMs: 1, maxDelayMs: 1, multiplier: 1 },
      deadLetterBackoff: { initialDelayMs: 1, maxDelayMs: 1 },
      logger: this.logger,
      signal: new AbortController().signal,
      retryTiming: { sleep: async () => undefined },
      // A stalled message (retriable failures past the budget) is left unfinished at once, as at a
      // shutdown: the outcome is 'abandoned' and the record would be redelivered.
      draining: draining.signal,
      onStall: () => draining.abort(),
    });
  }

  private inbound(record: PublishedRecord): InboundMessage {
    return {
      topic: topicName(record.topicKey, this.topicPrefix),
      partition: 0,
      offset: String(record.offset),
      key: record.key === null ? null : Buffer.from(record.key),
      value: record.bytes,
      headers: Object.entries(record.headers).map(([key, value]) => ({ key, value: Buffer.isBuffer(value) ? value : Buffer.from(value) })),
      timestamp: String(Date.now()),
    };
  }
}

function gameIdOf(value: unknown): string | null {
  const game = (value as { game?: { header?: { gameId?: unknown } } }).game;
  return typeof game?.header?.gameId === 'string' ? game.header.gameId : null;
}
