import type { EventName } from '../../../schemas/generated/events';
import type { TopicEvent, TopicKey } from '../../../schemas/topics';
import type { Logger } from '../logging';
import type { MessageHeader } from './kafka-client';

/** Where a message came from and what a handler may do about it. */
export interface MessageContext<K extends TopicKey = TopicKey> {
  readonly topicKey: K;
  readonly topic: string;
  readonly partition: number;
  readonly offset: string;
  /** The Kafka key as UTF-8 (the game id), null for unkeyed messages. */
  readonly key: string | null;
  readonly headers: readonly MessageHeader[];
  readonly timestamp: string;
  readonly eventName: EventName;
  readonly schemaId: number;
  /** 1 on first delivery to the handler, higher on in-place retries. */
  readonly attempt: number;
  readonly groupId: string;
  /** Bound to topic, partition, offset and gameId. */
  readonly logger: Logger;
  /** Aborted when shutdown gives up waiting for this handler. */
  readonly signal: AbortSignal;
  /** Long handlers may call this; the bus also heartbeats on its own while it waits for handlers. */
  heartbeat(): Promise<void>;
  /** First header with that name, as UTF-8. */
  header(name: string): string | undefined;
}

/**
 * Handles one event. Must be idempotent: a rebalance or a crash redelivers messages whose offsets
 * were not committed yet. Throw an error with `retriable: true` (see core/errors) to be retried in
 * place; any other error sends the message to the dead-letter topic.
 */
export type EventHandler<K extends TopicKey = TopicKey> = (event: TopicEvent<K>, ctx: MessageContext<K>) => Promise<void>;
