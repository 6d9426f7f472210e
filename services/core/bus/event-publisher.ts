import { topicName, type TopicEvent, type TopicKey } from '../../../schemas/topics';
import type { KafkaProducerPort, OutboundRecord, ProducedRecord } from './kafka-client';
import type { WireCodec } from './wire-codec';

export interface PublishRecord<K extends TopicKey = TopicKey> {
  topic: K;
  /** The game id; Buffer only for re-publishing an original key (dead letters). */
  key: string | Buffer | null;
  value: TopicEvent<K>;
  headers?: Record<string, string | Buffer>;
}

/** Every record of a batch, each typed by its own topic. */
export type AnyPublishRecord = { [K in TopicKey]: PublishRecord<K> }[TopicKey];

/** Encodes through the codec (which validates before anything is produced) and produces idempotently. */
export class EventPublisher {
  constructor(
    private readonly producer: KafkaProducerPort,
    private readonly codec: WireCodec,
    private readonly topicPrefix: string,
  ) {}

  async publish<K extends TopicKey>(topic: K, key: string | Buffer | null, value: TopicEvent<K>, headers?: Record<string, string | Buffer>): Promise<ProducedRecord> {
    const [produced] = await this.producer.send([await this.encode({ topic, key, value, ...(headers ? { headers } : {}) })]);
    return produced!;
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
