import { defaultConfig } from '../config/config';
import type { RetryPolicy } from '../errors';

/** How to reach the brokers; shared by the admin, the producer and every consumer. */
export interface KafkaConnectionConfig {
  brokers: string[];
  clientId: string;
  connectionTimeoutMs: number;
  requestTimeoutMs: number;
  /** SASL authentication (KAFKA_SASL_*); absent: none. */
  sasl?: { mechanism: 'plain' | 'scram-sha-256' | 'scram-sha-512'; username: string; password: string } | null;
  /** TLS (KAFKA_SSL*); absent: plaintext. Files are PEM, read when the client is created. */
  ssl?: { caFile: string | null; certFile: string | null; keyFile: string | null; rejectUnauthorized: boolean } | null;
}

export interface ConsumerTuning {
  /** The broker evicts a member that has not heartbeaten for this long. */
  sessionTimeoutMs: number;
  /** How long the group waits for members to rejoin during a rebalance. */
  rebalanceTimeoutMs: number;
  /** Must be well below sessionTimeoutMs (a third is usual). */
  heartbeatIntervalMs: number;
  /** Handlers running at once per consumer. */
  maxInFlight: number;
  /** How often finished offsets are committed. */
  commitIntervalMs: number;
  /** Longest a fetch waits on the broker for new data (also bounds how fast a paused consumer notices stop). */
  maxWaitTimeMs: number;
  maxBytesPerPartition: number;
}

/** Everything the bus needs, resolved once at boot by core/config. */
export interface BusConfig {
  kafka: KafkaConnectionConfig;
  /** Prefix of every topic name (`dg.` by default; tests use a unique one). */
  topicPrefix: string;
  /** Replication factor for topics the bus creates (1 on the single local broker). */
  replicationFactor: number;
  consumer: ConsumerTuning;
  /** Handler attempts and backoff for retriable failures before a message is dead-lettered. */
  handlerRetry: RetryPolicy;
  /** Backoff while the dead-letter produce itself fails; attempts are unbounded (a message is never dropped). */
  deadLetterBackoff: Pick<RetryPolicy, 'initialDelayMs' | 'maxDelayMs'>;
  /** Deadline for draining in-flight handlers, committing and disconnecting on shutdown. */
  shutdownTimeoutMs: number;
}

/** Defaults derived from the config module's one table of defaults; core/config overrides them from the environment. */
const tableDefaults = defaultConfig();
export const DEFAULT_BUS_CONFIG: Readonly<BusConfig> = {
  kafka: { brokers: [...tableDefaults.kafka.brokers], clientId: tableDefaults.kafka.clientId, connectionTimeoutMs: 3_000, requestTimeoutMs: 30_000 },
  topicPrefix: tableDefaults.topics.prefix,
  replicationFactor: 1,
  consumer: {
    sessionTimeoutMs: tableDefaults.kafka.sessionTimeoutMs,
    rebalanceTimeoutMs: tableDefaults.kafka.rebalanceTimeoutMs,
    heartbeatIntervalMs: tableDefaults.kafka.heartbeatIntervalMs,
    maxInFlight: tableDefaults.kafka.maxInFlight,
    commitIntervalMs: 1_000,
    maxWaitTimeMs: 1_000,
    maxBytesPerPartition: 1_048_576,
  },
  handlerRetry: {
    maxAttempts: tableDefaults.retry.maxAttempts,
    initialDelayMs: tableDefaults.retry.initialDelayMs,
    maxDelayMs: tableDefaults.retry.maxDelayMs,
    multiplier: 2,
  },
  deadLetterBackoff: { initialDelayMs: tableDefaults.retry.initialDelayMs, maxDelayMs: tableDefaults.retry.maxDelayMs },
  shutdownTimeoutMs: tableDefaults.shutdownTimeoutMs,
};

/** Defaults overlaid with a partial config (nested sections merged one level deep). */
export function resolveBusConfig(overrides: BusConfigOverrides = {}): BusConfig {
  const base = DEFAULT_BUS_CONFIG;
  return {
    ...base,
    ...overrides,
    kafka: { ...base.kafka, ...overrides.kafka },
    consumer: { ...base.consumer, ...overrides.consumer },
    handlerRetry: { ...base.handlerRetry, ...overrides.handlerRetry },
    deadLetterBackoff: { ...base.deadLetterBackoff, ...overrides.deadLetterBackoff },
  };
}

export type BusConfigOverrides = Partial<Omit<BusConfig, 'kafka' | 'consumer' | 'handlerRetry' | 'deadLetterBackoff'>> & {
  kafka?: Partial<KafkaConnectionConfig>;
  consumer?: Partial<ConsumerTuning>;
  handlerRetry?: Partial<RetryPolicy>;
  deadLetterBackoff?: Partial<BusConfig['deadLetterBackoff']>;
};
