import type { BeforeApplicationShutdown, OnApplicationShutdown, OnModuleInit } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { TOPICS, topicName, type TopicEvent, type TopicKey } from '../../../schemas/topics';
import { NonRetriableError, type RetryOptions } from '../errors';
import { createLogger, type Logger } from '../logging';
import type { BusConfig } from './bus-config';
import { ConsumerRunner, type ConsumerStats, type StopReport, type SubscriptionOptions } from './consumer-runner';
import { EventPublisher, type AnyPublishRecord } from './event-publisher';
import type { BusHooks } from './hooks';
import { createKafkaClient, type KafkaClient, type KafkaProducerPort, type ProducedRecord } from './kafka-client';
import { ensureTopicsWith } from './topic-admin';
import type { WireCodec } from './wire-codec';

export interface EventBusOptions {
  config: BusConfig;
  codec: WireCodec;
  logger?: Logger;
  /** Create missing topics on start (default true). */
  ensureTopicsOnStart?: boolean;
  /** Another client adapter (tests). */
  client?: KafkaClient;
  /** Injected by tests. */
  retryTiming?: Pick<RetryOptions, 'random' | 'sleep'>;
  /**
   * A consumer the client gave up on for good (non-retriable crash); default: logged. A role process
   * should exit non-zero here so its supervisor restarts it. A subscription's own handler wins.
   */
  onFatalError?: (error: Error, groupId: string) => void;
  /** Metrics: told when each consumed message starts and ends. */
  hooks?: BusHooks;
}

export interface Subscription {
  readonly groupId: string;
  stats(): ConsumerStats;
  /** Drains and leaves the group; also done for every subscription when the bus closes. */
  stop(): Promise<StopReport>;
}

/**
 * The only way roles read and write events: one idempotent producer per process and one consumer
 * group member per subscription, owned here and shut down with the Nest application (enable
 * shutdown hooks so SIGTERM reaches it). Usable without Nest: start() / close().
 *
 * Consumers drain in beforeApplicationShutdown, i.e. before any provider's onApplicationShutdown
 * closes what handlers use (Nest runs a global module's shutdown hooks last, so draining there would
 * be too late); the producer disconnects in onApplicationShutdown.
 */
export class EventBus implements OnModuleInit, BeforeApplicationShutdown, OnApplicationShutdown {
  private readonly client: KafkaClient;
  private readonly logger: Logger;
  private readonly producer: KafkaProducerPort;
  private readonly publisher: EventPublisher;
  private readonly runners = new Set<ConsumerRunner<TopicKey>>();
  private startPromise: Promise<void> | undefined;
  private closePromise: Promise<void> | undefined;
  private accepting = true;

  constructor(private readonly options: EventBusOptions) {
    if (options.codec.topicPrefix !== options.config.topicPrefix) {
      throw new Error(
        `codec topic prefix ${JSON.stringify(options.codec.topicPrefix)} differs from the bus prefix ${JSON.stringify(options.config.topicPrefix)}`,
      );
    }
    this.logger = options.logger ?? createLogger('bus');
    this.client = options.client ?? createKafkaClient(options.config.kafka, this.logger.child({ component: 'kafka' }));
    this.producer = this.client.producer();
    this.publisher = new EventPublisher(this.producer, options.codec, options.config.topicPrefix);
  }

  get config(): BusConfig {
    return this.options.config;
  }

  /** Ensures topics (unless disabled) and connects the producer. Idempotent. */
  start(): Promise<void> {
    this.startPromise ??= this.connect();
    return this.startPromise;
  }

  async onModuleInit(): Promise<void> {
    await this.start();
  }

  async beforeApplicationShutdown(): Promise<void> {
    await this.stopSubscriptions();
  }

  async onApplicationShutdown(): Promise<void> {
    await this.close();
  }

  /** Resolves once the broker acknowledged the record (acks=all); concurrent publishes share produce requests. */
  async publish<K extends TopicKey>(topic: K, key: string | Buffer | null, value: TopicEvent<K>, headers?: Record<string, string | Buffer>): Promise<void> {
    await this.start();
    return this.publisher.publish(topic, key, value, headers);
  }

  async publishBatch(records: readonly AnyPublishRecord[]): Promise<ProducedRecord[]> {
    await this.start();
    return this.publisher.publishBatch(records);
  }

  /**
   * Reads back and decodes the event at one position of a topic, or undefined when the log no longer
   * holds it. Slow (a throw-away consumer group joins): for rare reads such as an old journal entry.
   */
  async readAt<K extends TopicKey>(topic: K, partition: number, offset: string, options: { timeoutMs?: number } = {}): Promise<TopicEvent<K> | undefined> {
    const name = topicName(topic, this.options.config.topicPrefix);
    const message = await this.client.readAt({
      topic: name,
      partition,
      offset,
      groupId: `${this.options.config.topicPrefix}read-at.${hostname()}.${process.pid}.${randomUUID().slice(0, 8)}`,
      timeoutMs: options.timeoutMs ?? 30_000,
    });
    if (message?.value == null) return undefined;
    const decoded = await this.options.codec.decode(message.value);
    const expected = TOPICS[topic].valueEvent;
    if (decoded.eventName !== expected)
      throw new NonRetriableError(`${name} partition ${partition} offset ${offset} holds ${decoded.eventName ?? 'an unknown schema'}, not ${expected}`);
    return decoded.value as TopicEvent<K>;
  }

  /** Joins the group and starts handling; resolves once the member has its first assignment. */
  async subscribe<K extends TopicKey>(options: SubscriptionOptions<K>): Promise<Subscription> {
    if (!this.accepting) throw new Error('event bus is shutting down: no new subscriptions');
    await this.start();
    const runner = new ConsumerRunner<K>(
      {
        client: this.client,
        codec: this.options.codec,
        publishDeadLetter: async (record) => {
          await this.publisher.publish('deadLetter', record.key, record);
        },
        config: this.options.config,
        logger: this.logger,
        ...(this.options.retryTiming ? { retryTiming: this.options.retryTiming } : {}),
        ...(this.options.hooks ? { hooks: this.options.hooks } : {}),
      },
      { ...options, onFatalError: options.onFatalError ?? ((error) => this.options.onFatalError?.(error, options.groupId)) },
    );
    const tracked = runner as unknown as ConsumerRunner<TopicKey>;
    this.runners.add(tracked);
    try {
      await runner.start();
    } catch (error) {
      this.runners.delete(tracked);
      await runner.stop();
      throw error;
    }
    return {
      groupId: runner.groupId,
      stats: () => runner.stats(),
      stop: async () => {
        const report = await runner.stop();
        this.runners.delete(tracked);
        return report;
      },
    };
  }

  /** Drains every subscription (in parallel), then disconnects the producer they may still use. */
  close(): Promise<void> {
    this.closePromise ??= this.disconnect();
    return this.closePromise;
  }

  private async connect(): Promise<void> {
    if (this.options.ensureTopicsOnStart !== false) {
      const admin = this.client.admin();
      await admin.connect();
      try {
        await ensureTopicsWith(admin, this.options.config.topicPrefix, { replicationFactor: this.options.config.replicationFactor, logger: this.logger });
      } finally {
        await admin.disconnect();
      }
    }
    await this.producer.connect();
  }

  /** Drains every subscription in parallel; each has its own shutdown deadline. */
  private async stopSubscriptions(): Promise<void> {
    this.accepting = false;
    await Promise.all([...this.runners].map((runner) => runner.stop()));
  }

  private async disconnect(): Promise<void> {
    await this.stopSubscriptions();
    this.runners.clear();
    if (this.startPromise) {
      try {
        await this.startPromise;
        await this.producer.disconnect();
      } catch (error) {
        this.logger.warn('producer disconnect failed', { error });
      }
    }
  }
}
