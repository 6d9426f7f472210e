import type { DeadLetter } from '../../../schemas/generated/events';
import { TOPICS, type TopicEvent, type TopicKey } from '../../../schemas/topics';
import { AbortedError, backoffDelayMs, DecodeError, isRetriable, retry, sleep as abortableSleep, type RetryPolicy, type RetryOptions } from '../errors';
import type { LogBindings, LogFields, Logger, LogLevel } from '../logging';
import type { BusConfig } from './bus-config';
import { buildDeadLetter, type DeadLetterKind } from './dead-letter';
import type { EventHandler, MessageContext } from './handler';
import type { InboundMessage } from './kafka-client';
import { hopStats } from './hop-stats';
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
  /**
   * A message whose retriable failures outlasted `handlerRetry` is stalled, not dead-lettered: a
   * dependency (ClickHouse, the registry, a model endpoint) is down. Called once when it stalls
   * (the runner pauses its partition) and once when it leaves that state (recovered, failed for
   * good, or abandoned at shutdown; the runner resumes the partition when none is left stalled).
   */
  onStall?(message: InboundMessage, error: unknown): void;
  onStallEnd?(message: InboundMessage): void;
  /** Counts every attempt made while stalled (the runner's stall counters). */
  onStallRetry?(message: InboundMessage): void;
  /** Aborted when shutdown starts: stalled messages give up at once (they are redelivered), healthy ones drain. */
  draining?: AbortSignal;
  /** How often a stalled message repeats its alarm log line (default 30 s). */
  stallAlarmIntervalMs?: number;
  /** Records each message's hop in the process's hop stats (default true; false for side readers such as the journal's). */
  recordHops?: boolean;
  /** Injected by tests. */
  now?: () => number;
}

/** Default interval of the alarm line a stalled message repeats. */
export const STALL_ALARM_INTERVAL_MS = 30_000;

/**
 * One message from bytes to outcome: decode, check the event matches the topic, run the handler
 * with in-place retries for retriable failures, and dead-letter what cannot be handled. Never
 * throws: a message is either done or explicitly abandoned.
 */
export class MessageProcessor<K extends TopicKey> {
  constructor(private readonly deps: MessageProcessorDeps<K>) {}

  async process(message: InboundMessage, topicKey: K): Promise<Outcome> {
    // Hot path: the bound logger is only built when something is logged, and the first attempt of
    // decode and handler runs without the retry machinery (it joins in only after a failure).
    const logger = new LazyChildLogger(this.deps.logger, message);

    let decoded: DecodedValue;
    let decodeAttempts = 1;
    try {
      try {
        decoded = await this.decode(message);
      } catch (firstError) {
        decoded = await this.withRetries(logger, 'decode', (attempt) => {
          decodeAttempts = attempt;
          return attempt === 1 ? Promise.reject(firstError) : this.decode(message);
        });
      }
    } catch (error) {
      if (this.deps.signal.aborted) return 'abandoned';
      if (isRetriable(error)) {
        const stalled = await this.stall(message, logger, 'decode', error, decodeAttempts, () => this.decode(message));
        if (stalled.outcome !== 'done')
          return stalled.outcome === 'abandoned' ? 'abandoned' : this.deadLetter(message, logger, 'decode', stalled.error, stalled.attempts);
        decoded = stalled.value;
      } else {
        return this.deadLetter(message, logger, 'decode', error, decodeAttempts);
      }
    }

    const expected = TOPICS[topicKey].valueEvent;
    if (decoded.eventName !== expected) {
      const error = new DecodeError(`topic carries ${expected}, got ${decoded.eventName ?? 'a foreign schema'} (schema id ${decoded.schemaId})`);
      return this.deadLetter(message, logger, 'unexpected-event', error, 1);
    }

    let attempts = 1;
    try {
      if (this.deps.recordHops !== false) hopStats.record(Date.now() - Number(message.timestamp));
      try {
        await this.deps.handler(decoded.value as TopicEvent<K>, this.context(message, topicKey, decoded, 1, logger));
      } catch (firstError) {
        await this.withRetries(logger, 'handler', (attempt) => {
          attempts = attempt;
          return attempt === 1
            ? Promise.reject(firstError)
            : this.deps.handler(decoded.value as TopicEvent<K>, this.context(message, topicKey, decoded, attempt, logger));
        });
      }
      return 'handled';
    } catch (error) {
      if (this.deps.signal.aborted) return 'abandoned';
      if (!isRetriable(error)) return this.deadLetter(message, logger, 'handler', error, attempts);
      // Retriable failures are never dead-lettered: the dependency is down, not the message bad.
      const stalled = await this.stall(message, logger, 'handler', error, attempts, (attempt) =>
        this.deps.handler(decoded.value as TopicEvent<K>, this.context(message, topicKey, decoded, attempt, logger)),
      );
      if (stalled.outcome === 'done') return 'handled';
      if (stalled.outcome === 'abandoned') return 'abandoned';
      return this.deadLetter(message, logger, 'handler', stalled.error, stalled.attempts);
    }
  }

  /**
   * Keeps retrying a message whose retriable failures outlasted the normal budget, with full-jitter
   * backoff capped at handlerRetry.maxDelayMs, until it succeeds, fails with a non-retriable error,
   * or shutdown starts. Meanwhile its partition is paused (onStall) and an alarm line is logged
   * when it stalls and every stallAlarmIntervalMs after.
   */
  private async stall<T>(
    message: InboundMessage,
    logger: Logger,
    stage: string,
    firstError: unknown,
    attemptsSoFar: number,
    operation: (attempt: number) => Promise<T>,
  ): Promise<{ outcome: 'done'; value: T } | { outcome: 'failed'; error: unknown; attempts: number } | { outcome: 'abandoned' }> {
    const now = this.deps.now ?? Date.now;
    const wait = this.deps.retryTiming?.sleep ?? abortableSleep;
    const random = this.deps.retryTiming?.random ?? Math.random;
    const alarmEveryMs = this.deps.stallAlarmIntervalMs ?? STALL_ALARM_INTERVAL_MS;
    const signal = this.deps.draining ? AbortSignal.any([this.deps.signal, this.deps.draining]) : this.deps.signal;
    const policy = this.deps.handlerRetry;
    const since = now();
    let lastError = firstError;
    let attempt = attemptsSoFar;
    let nextAlarm = since;
    this.deps.onStall?.(message, firstError);
    try {
      for (;;) {
        if (now() >= nextAlarm) {
          logger.error(
            `ALARM ${stage} stalled: a dependency keeps failing; the partition is paused and the message is retried until it returns (never dead-lettered)`,
            {
              alarm: 'bus.stalled',
              stage,
              attempts: attempt,
              stalledForMs: now() - since,
              error: lastError,
            },
          );
          nextAlarm = now() + alarmEveryMs;
        }
        if (signal.aborted) return { outcome: 'abandoned' };
        // The retry window keeps growing from where the normal budget stopped, capped at maxDelayMs.
        const suggested = (lastError as { retryAfterMs?: unknown } | null)?.retryAfterMs;
        const jittered = Math.max(policy.initialDelayMs, backoffDelayMs(attempt, policy, random));
        const delayMs = typeof suggested === 'number' ? Math.min(policy.maxDelayMs, Math.max(jittered, suggested)) : jittered;
        try {
          await wait(delayMs, signal);
        } catch {
          return { outcome: 'abandoned' };
        }
        if (signal.aborted) return { outcome: 'abandoned' };
        attempt++;
        this.deps.onStallRetry?.(message);
        try {
          const value = await operation(attempt);
          logger.warn(`${stage} recovered after a stall; the partition resumes`, {
            alarm: 'bus.stall-cleared',
            attempts: attempt,
            stalledForMs: now() - since,
          });
          return { outcome: 'done', value };
        } catch (error) {
          lastError = error;
          if (this.deps.signal.aborted) return { outcome: 'abandoned' };
          if (!isRetriable(error)) return { outcome: 'failed', error, attempts: attempt };
        }
      }
    } finally {
      this.deps.onStallEnd?.(message);
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
      logger: new LazyChildLogger(logger, undefined, { eventName: expected }),
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

/**
 * A child logger bound to a message's coordinates, built on first use: most messages log nothing,
 * and binding the fields of every message cost more than the rest of the bus's per-message work.
 */
class LazyChildLogger implements Logger {
  private bound: Logger | undefined;

  constructor(
    private readonly parent: Logger,
    private readonly message: InboundMessage | undefined,
    private readonly extra: LogBindings = {},
  ) {}

  get namespace(): string {
    return this.parent.namespace;
  }

  private get target(): Logger {
    if (!this.bound) {
      const m = this.message;
      const gameId = m?.key?.toString('utf8');
      this.bound = this.parent.child(
        m ? { topic: m.topic, partition: m.partition, offset: m.offset, ...(gameId === undefined ? {} : { gameId }), ...this.extra } : this.extra,
      );
    }
    return this.bound;
  }

  trace(message: string, fields?: LogFields): void {
    if (this.parent.isLevelEnabled('trace')) this.target.trace(message, fields);
  }
  debug(message: string, fields?: LogFields): void {
    if (this.parent.isLevelEnabled('debug')) this.target.debug(message, fields);
  }
  info(message: string, fields?: LogFields): void {
    if (this.parent.isLevelEnabled('info')) this.target.info(message, fields);
  }
  warn(message: string, fields?: LogFields): void {
    if (this.parent.isLevelEnabled('warn')) this.target.warn(message, fields);
  }
  error(message: string, fields?: LogFields): void {
    if (this.parent.isLevelEnabled('error')) this.target.error(message, fields);
  }
  child(bindings: LogBindings): Logger {
    return this.target.child(bindings);
  }
  isLevelEnabled(level: LogLevel): boolean {
    return this.parent.isLevelEnabled(level);
  }
}
