import type { DeadLetter } from '../../../schemas/generated/events';
import { createHash } from 'node:crypto';
import { describeError } from '../errors';
import { redactText } from '../logging/redact';
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

/** Dead letters keep at most this much of the original value (the rest of the record fits easily under Kafka's 1 MiB). */
export const MAX_DEAD_LETTER_VALUE_BYTES = 256 * 1024;

export function buildDeadLetter(
  message: InboundMessage,
  consumerGroup: string,
  kind: DeadLetterKind,
  error: unknown,
  attempts: number,
  now: () => number = Date.now,
): DeadLetter {
  const described = describeError(error);
  // A value near Kafka's record limit would make the dead letter itself too large to produce (and its
  // partition would wait for it forever): keep a prefix; the whole record stays at its source offset.
  const value = message.value && message.value.length > MAX_DEAD_LETTER_VALUE_BYTES ? message.value.subarray(0, MAX_DEAD_LETTER_VALUE_BYTES) : message.value;
  const truncated =
    value !== message.value
      ? ` [dead-letter value truncated to ${MAX_DEAD_LETTER_VALUE_BYTES} of ${message.value!.length} bytes, sha256 ${createHash('sha256').update(message.value!).digest('hex')}; the whole record stays at ${message.topic}[${message.partition}]@${message.offset}]`
      : '';
  return {
    sourceTopic: message.topic,
    sourcePartition: message.partition,
    sourceOffset: message.offset,
    key: message.key,
    headers: message.headers.map((h) => ({ key: h.key, value: h.value })),
    value,
    consumerGroup,
    errorKind: kind,
    errorName: described.name,
    // Secrets registered from config (API keys, passwords) never travel in a dead letter.
    errorMessage: redactText(described.message) + truncated,
    errorStack: described.stack === null || described.stack === undefined ? described.stack : redactText(described.stack),
    attempts,
    failedAtMs: now(),
  };
}
