import type { EventName } from '../../../schemas/generated/events';
import type { TopicEvent, TopicKey } from '../../../schemas/topics';

export interface DecodedValue {
  value: unknown;
  schemaId: number;
  /** Undefined when the writer schema is not one of our events. */
  eventName: EventName | undefined;
}

/**
 * What the bus needs from core/codec (Confluent wire format through the registry); EventCodec
 * satisfies it. Encoding validates first; decoding fails with a non-retriable DecodeError for bytes
 * that are not ours (bad framing, unknown schema id, corrupt body) and a retriable error when the
 * registry is unreachable.
 */
export interface WireCodec {
  /** Topic names the codec registers subjects for; must equal the bus prefix. */
  readonly topicPrefix: string;
  encode<K extends TopicKey>(topic: K, value: TopicEvent<K>): Promise<Buffer>;
  decode(bytes: Buffer): Promise<DecodedValue>;
}
