import { topicName, type TopicEvent, type TopicKey } from '../../../schemas/topics';
import type { KafkaProducerPort, OutboundRecord, ProducedRecord } from './kafka-client';
import type { WireCodec } from './wire-codec';
import { produceRequestStats, publishAckStats } from './hop-stats';

export interface PublishRecord<K extends TopicKey = TopicKey> {
  topic: K;
  /** The game id; Buffer only for re-publishing an original key (dead letters). */
  key: string | Buffer | null;
  value: TopicEvent<K>;
  headers?: Record<string, string | Buffer>;
}

/** Every record of a batch, each typed by its own topic. */
export type AnyPublishRecord = { [K in TopicKey]: PublishRecord<K> }[TopicKey];

interface Pending {
  record: OutboundRecord;
  resolve: () => void;
  reject: (error: unknown) => void;
}

/** Most records one coalesced produce request carries. */
const MAX_COALESCED_RECORDS = 500;

/**
 * Encodes through the codec (which validates before anything is produced) and produces idempotently.
 *
 * Single publishes are coalesced (group commit): while one produce request is in flight, the
 * records published meanwhile wait and go out together in the next request. The idempotent
 * producer allows one request in flight per broker, so without this every handler's publish
 * queues behind every other's, one round trip each; with it, an idle publisher adds no delay and a
 * busy one sends one request per round trip. A failed request fails every publish it carried.
 */
export class EventPublisher {
  private readonly queue: Pending[] = [];
  private sending = false;

  constructor(
    private readonly producer: KafkaProducerPort,
    private readonly codec: WireCodec,
    private readonly topicPrefix: string,
  ) {}

  async publish<K extends TopicKey>(topic: K, key: string | Buffer | null, value: TopicEvent<K>, headers?: Record<string, string | Buffer>): Promise<void> {
    // The record's CreateTime is the publish call, so a consumer's hop measure (core/bus/hop-stats)
    // includes the time a record waits here for the produce request in flight.
    const publishedAt = Date.now();
    const record = await this.encode({ topic, key, value, ...(headers ? { headers } : {}) });
    record.timestamp = String(publishedAt);
    await new Promise<void>((resolve, reject) => {
      this.queue.push({ record, resolve, reject });
      if (!this.sending) void this.drain();
    });
    publishAckStats.record(Date.now() - publishedAt);
  }

  private async drain(): Promise<void> {
    this.sending = true;
    try {
      while (this.queue.length > 0) {
        const batch = this.queue.splice(0, MAX_COALESCED_RECORDS);
        try {
          const sentAt = Date.now();
          await this.producer.send(batch.map((p) => p.record));
          produceRequestStats.record(Date.now() - sentAt);
          for (const p of batch) p.resolve();
        } catch (error) {
          for (const p of batch) p.reject(error);
        }
      }
    } finally {
      this.sending = false;
    }
  }

  /** One produce request for all records; nothing is produced when any record fails to encode. */
  async publishBatch(records: readonly AnyPublishRecord[]): Promise<ProducedRecord[]> {
    if (records.length === 0) return [];
    const encoded = await Promise.all(records.map((record) => this.encode(record)));
    return this.producer.send(encoded);
  }

  private async encode<K extends TopicKey>(record: PublishRecord<K>): Promise<OutboundRecord> {
    const value = await this.codec.encode(record.topic, record.value);
    return { topic: topicName(record.topic, this.topicPrefix), key: record.key, value, ...(record.headers ? { headers: record.headers } : {}) };
  }
}
