import type { DeadLetter } from '../../../schemas/generated/events';
import { TOPICS, type TopicEvent, type TopicKey } from '../../../schemas/topics';
import { AbortedError, DecodeError, isRetriable, retry, type RetryPolicy, type RetryOptions } from '../errors';
import type { Logger } from '../logging';
import type { BusConfig } from './bus-config';
import { buildDeadLetter, type DeadLetterKind } from './dead-letter';
import type { EventHandler, MessageContext } from './handler';
import type { InboundMessage } from './kafka-client';
import type { DecodedValue, WireCodec } from './wire-codec';

/** handled / dead-lettered: done, the offset may be committed. abandoned: not done, must be redelivered. */
export type Outcome = 'handled' | 'dead-lettered' | 'abandoned';

export interface MessageProcessorDeps<K extends TopicKey> {
  groupId: string;
  codec: WireCodec;
  handler: EventHandler<K>;
  publishDeadLetter(record: DeadLetter): Promise<void>;
  heartbeat(): Promise<void>;
  handlerRetry: RetryPolicy;
  deadLetterBackoff: BusConfig['deadLetterBackoff'];
  logger: Logger;
  /** Aborted at the shutdown deadline: stop retrying, leave the message unfinished. */
  signal: AbortSignal;
  /** Injected by tests. */
  retryTiming?: Pick<RetryOptions, 'random' | 'sleep'>;
}

/**
 * One message from bytes to outcome: decode, check the event matches the topic, run the handler
 * with in-place retries for retriable failures, and dead-letter what cannot be handled. Never
 * throws: a message is either done or explicitly abandoned.
 */
export class MessageProcessor<K extends TopicKey> {
  constructor(private readonly deps: MessageProcessorDeps<K>) {}

  async process(message: InboundMessage, topicKey: K): Promise<Outcome> {
    const gameId = message.key?.toString('utf8');
    const logger = this.deps.logger.child({ topic: message.topic, partition: message.partition, offset: message.offset, ...(gameId === undefined ? {} : { gameId }) });

    let decoded: DecodedValue;
    let decodeAttempts = 0;
    try {
      decoded = await this.withRetries(logger, 'decode', (attempt) => {
        decodeAttempts = attempt;
        return this.decode(message);
      });
    } catch (error) {
      if (this.deps.signal.aborted) return 'abandoned';
      return this.deadLetter(message, logger, 'decode', error, decodeAttempts);
    }

    const expected = TOPICS[topicKey].valueEvent;
    if (decoded.eventName !== expected) {
      const error = new DecodeError(`topic carries ${expected}, got ${decoded.eventName ?? 'a foreign schema'} (schema id ${decoded.schemaId})`);
      return this.deadLetter(message, logger, 'unexpected-event', error, 1);
    }

    let attempts = 0;
    try {
      await this.withRetries(logger, 'handler', (attempt) => {
        attempts = attempt;
        return this.deps.handler(decoded.value as TopicEvent<K>, this.context(message, topicKey, decoded, attempt, logger));
      });
      return 'handled';
    } catch (error) {
      if (this.deps.signal.aborted) return 'abandoned';
      if (isRetriable(error)) {
        logger.error('handler kept failing with retriable errors; dead-lettering', { attempts, error });
        return this.deadLetter(message, logger, 'retries-exhausted', error, attempts);
      }
      return this.deadLetter(message, logger, 'handler', error, attempts);
    }
  }

  private async decode(message: InboundMessage): Promise<DecodedValue> {
    if (message.value === null || message.value.length === 0) throw new DecodeError('message has no value');
    return this.deps.codec.decode(message.value);
  }

  private withRetries<T>(logger: Logger, stage: string, operation: (attempt: number) => Promise<T>): Promise<T> {
    return retry(operation, {
      ...this.deps.handlerRetry,
      ...this.deps.retryTiming,
      signal: this.deps.signal,
      onRetry: ({ attempt, delayMs, error }) => logger.warn(`${stage} failed, retrying`, { attempt, delayMs, error }),
    });
  }

  private context(message: InboundMessage, topicKey: K, decoded: DecodedValue, attempt: number, logger: Logger): MessageContext<K> {
    const expected = TOPICS[topicKey].valueEvent;
    return {
      topicKey,
      topic: message.topic,
      partition: message.partition,
      offset: message.offset,
      key: message.key?.toString('utf8') ?? null,
      headers: message.headers,
      timestamp: message.timestamp,
      eventName: expected,
      schemaId: decoded.schemaId,
      attempt,
      groupId: this.deps.groupId,
      logger: logger.child({ eventName: expected }),
      signal: this.deps.signal,
      heartbeat: () => this.deps.heartbeat(),
      header: (name) => message.headers.find((h) => h.key === name)?.value?.toString('utf8'),
    };
  }

  /** Publishes the dead letter, retrying until it is written or shutdown gives up: never dropped. */
  private async deadLetter(message: InboundMessage, logger: Logger, kind: DeadLetterKind, error: unknown, attempts: number): Promise<Outcome> {
    const record = buildDeadLetter(message, this.deps.groupId, kind, error, attempts);
    logger.warn('dead-lettering message', { errorKind: kind, attempts, error });
    try {
      await retry(() => this.deps.publishDeadLetter(record), {
        maxAttempts: Number.POSITIVE_INFINITY,
        ...this.deps.deadLetterBackoff,
        ...this.deps.retryTiming,
        signal: this.deps.signal,
        shouldRetry: () => true,
        onRetry: ({ attempt, delayMs, error: publishError }) =>
          logger.error('dead-letter produce failed; the message stays unfinished until it succeeds', { attempt, delayMs, error: publishError }),
      });
      return 'dead-lettered';
    } catch (publishError) {
      if (publishError instanceof AbortedError && this.deps.signal.aborted) return 'abandoned';
      throw publishError;
    }
  }
}
