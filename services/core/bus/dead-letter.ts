import type { DeadLetter } from '../../../schemas/generated/events';
import { describeError } from '../errors';
import type { InboundMessage } from './kafka-client';

/** Why a message was dead-lettered; recorded as DeadLetter.errorKind. */
export type DeadLetterKind =
  /** The bytes could not be decoded (not our wire format, unknown schema id, corrupt body, empty). */
  | 'decode'
  /** Decoded fine, but into an event the topic does not carry. */
  | 'unexpected-event'
  /** The handler failed with a non-retriable error. */
  | 'handler'
  /**
   * No longer produced: retriable failures stall the message (its partition paused) until the
   * dependency returns instead of dead-lettering it. Kept so older dead letters still read.
   */
  | 'retries-exhausted';

export function buildDeadLetter(
  message: InboundMessage,
  consumerGroup: string,
  kind: DeadLetterKind,
  error: unknown,
  attempts: number,
  now: () => number = Date.now,
): DeadLetter {
  const described = describeError(error);
  return {
    sourceTopic: message.topic,
    sourcePartition: message.partition,
    sourceOffset: message.offset,
    key: message.key,
    headers: message.headers.map((h) => ({ key: h.key, value: h.value })),
    value: message.value,
    consumerGroup,
    errorKind: kind,
    errorName: described.name,
    errorMessage: described.message,
    errorStack: described.stack,
    attempts,
    failedAtMs: now(),
  };
}
