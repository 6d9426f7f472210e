import { Kafka, logLevel, type Admin } from 'kafkajs';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import { topicName } from '../../../schemas/topics';
import type { BusHooks } from '../bus/hooks';
import { kafkaSecurityOptions } from '../bus/kafka-client';
import type { DgConfig } from '../config';
import type { Logger } from '../logging';
import { ROLE_INPUTS, roleGroupId, type RoleName } from '../bus/role-names';
import { modelLimiterSnapshots, type ModelLimiterSnapshot } from './model-limiter-adapter';
import { observeModelCalls } from './model-call-observer';

export interface ConsumerLagSource {
  /** Lag per group/topic/partition: high watermark minus committed offset. */
  lag(): Promise<Array<{ group: string; topic: string; partition: number; lag: number }>>;
  close(): Promise<void>;
}

/**
 * Lag of the process's role groups read with a kafkajs admin client, at most once per `cacheMs`
 * (scrapes of several Prometheus servers must not each hit the broker).
 */
export function adminLagSource(config: DgConfig, roles: readonly RoleName[], logger: Logger, cacheMs = 5_000): ConsumerLagSource {
  const kafka = new Kafka({
    clientId: `${config.kafka.clientId}-metrics`,
    brokers: [...config.kafka.brokers],
    logLevel: logLevel.NOTHING,
    retry: { retries: 1 },
    ...kafkaSecurityOptions(config.kafka),
  });
  let admin: Admin | undefined;
  let cached: { at: number; value: Awaited<ReturnType<ConsumerLagSource['lag']>> } | undefined;
  const read = async (): Promise<Awaited<ReturnType<ConsumerLagSource['lag']>>> => {
    if (!admin) {
      admin = kafka.admin();
      await admin.connect();
    }
    const out: Awaited<ReturnType<ConsumerLagSource['lag']>> = [];
    for (const role of roles) {
      const group = roleGroupId(config.topics.prefix, role);
      for (const key of ROLE_INPUTS[role]) {
        const topic = topicName(key, config.topics.prefix);
        const [high, committed] = await Promise.all([admin.fetchTopicOffsets(topic), admin.fetchOffsets({ groupId: group, topics: [topic] })]);
        const done = new Map((committed[0]?.partitions ?? []).map((p) => [p.partition, Number(p.offset)]));
        for (const p of high) {
          const c = done.get(p.partition) ?? -1;
          out.push({ group, topic, partition: p.partition, lag: Math.max(0, Number(p.high) - (c < 0 ? Number(p.low) : c)) });
        }
      }
    }
    return out;
  };
  return {
    async lag() {
      if (cached && Date.now() - cached.at < cacheMs) return cached.value;
      try {
        cached = { at: Date.now(), value: await read() };
      } catch (error) {
        logger.debug('consumer lag not available', { error });
        if (!cached) return [];
      }
      return cached.value;
    },
    async close() {
      await admin?.disconnect().catch(() => undefined);
      admin = undefined;
    },
  };
}

/**
 * Counts per label set in a plain Map (one or two labels, keyed by their values), for metrics
 * updated per message or per model call; the metric's collect() hands them to prom-client.
 */
class Tally {
  private readonly entries = new Map<string, { labels: Record<string, string>; value: number; flushed: number }>();

  add(delta: number, name1: string, value1: string, name2?: string, value2?: string): void {
    const key = name2 === undefined ? value1 : `${value1}\u0000${value2}`;
    let entry = this.entries.get(key);
    if (!entry) {
      entry = { labels: name2 === undefined ? { [name1]: value1 } : { [name1]: value1, [name2]: value2! }, value: 0, flushed: 0 };
      this.entries.set(key, entry);
    }
    entry.value += delta;
  }

  /** Gauges: every label set's current value. */
  setEach(apply: (labels: Record<string, string>, value: number) => void): void {
    for (const entry of this.entries.values()) apply(entry.labels, entry.value);
  }

  /** Counters: what each label set gained since the last drain (label sets seen once stay, at 0 gain). */
  drain(apply: (labels: Record<string, string>, delta: number) => void): void {
    for (const entry of this.entries.values()) {
      const delta = entry.value - entry.flushed;
      if (delta <= 0) continue;
      entry.flushed = entry.value;
      apply(entry.labels, delta);
    }
  }
}

export interface RoleMetricsOptions {
  lag?: ConsumerLagSource;
  limiter?: () => ModelLimiterSnapshot[];
  /** Process metrics (CPU, memory, event loop lag); default true. */
  defaultMetrics?: boolean;
}

/**
 * The Prometheus metrics of one role process, in a registry of its own. Bus counters come in
 * through `busHooks` (given to the bus once), model calls from HTTP diagnostics, consumer lag and
 * model concurrency are read when scraped.
 */
export class RoleMetrics {
  readonly registry = new Registry();
  readonly busHooks: BusHooks;
  /** Why /healthz fails (a consumer stopped for good), or null. */
  problem: string | null = null;
  private readonly stopObservingModelCalls: () => void;

  constructor(private readonly options: RoleMetricsOptions = {}) {
    const registers = [this.registry];
    if (options.defaultMetrics !== false) collectDefaultMetrics({ register: this.registry });
    // Per-message counts are kept in plain tallies and handed to prom-client when scraped: a
    // labelled prom-client update validates and hashes its labels every time (visible in profiles).
    const gamesInFlight = new Tally();
    new Gauge({
      name: 'dg_games_in_flight',
      help: 'Messages (one game each) whose handler is running, per consumer group',
      labelNames: ['group'],
      registers,
      collect() {
        gamesInFlight.setEach((labels, value) => this.set(labels, value));
      },
    });
    const handled = new Tally();
    new Counter({
      name: 'dg_messages_handled_total',
      help: 'Consumed messages finished, per topic and outcome (handled, dead-lettered, abandoned)',
      labelNames: ['topic', 'outcome'],
      registers,
      collect() {
        handled.drain((labels, delta) => this.inc(labels, delta));
      },
    });
    const latency = new Histogram({
      name: 'dg_handler_duration_seconds',
      help: 'Time from a handler starting on a message to its outcome (retries included), per topic',
      labelNames: ['topic'],
      buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
      registers,
    });
    const deadLetters = new Counter({
      name: 'dg_dead_letters_total',
      help: 'Messages sent to the dead-letter topic, per source topic and group',
      labelNames: ['topic', 'group'],
      registers,
    });
    this.busHooks = {
      messageStarted: (topic, group) => {
        const started = performance.now();
        gamesInFlight.add(1, 'group', group);
        return (outcome) => {
          gamesInFlight.add(-1, 'group', group);
          handled.add(1, 'topic', topic, 'outcome', outcome);
          latency.observe({ topic }, (performance.now() - started) / 1000);
          if (outcome === 'dead-lettered') deadLetters.inc({ topic, group });
        };
      },
    };

    const modelCalls = new Tally();
    new Counter({
      name: 'dg_model_calls_total',
      help: 'Model HTTP calls (every attempt) per endpoint and outcome: ok, rate_limited, client_error, server_error, timeout, network, aborted',
      labelNames: ['endpoint', 'outcome'],
      registers,
      collect() {
        modelCalls.drain((labels, delta) => this.inc(labels, delta));
      },
    });
    const modelErrors = new Counter({
      name: 'dg_model_errors_total',
      help: 'Failed model calls per endpoint and error class',
      labelNames: ['endpoint', 'class'],
      registers,
    });
    const modelLatency = new Histogram({
      name: 'dg_model_call_duration_seconds',
      help: 'Model call time to response headers',
      labelNames: ['endpoint'],
      buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120],
      registers,
    });
    const modelInFlight = new Tally();
    new Gauge({
      name: 'dg_model_requests_in_flight',
      help: 'Model HTTP requests in flight per endpoint',
      labelNames: ['endpoint'],
      registers,
      collect() {
        modelInFlight.setEach((labels, value) => this.set(labels, value));
      },
    });
    this.stopObservingModelCalls = observeModelCalls({
      started: (endpoint) => modelInFlight.add(1, 'endpoint', endpoint),
      ended: (endpoint, outcome, seconds) => {
        modelCalls.add(1, 'endpoint', endpoint, 'outcome', outcome);
        modelLatency.observe({ endpoint }, seconds);
        if (outcome !== 'ok') modelErrors.inc({ endpoint, class: outcome });
      },
      settled: (endpoint) => modelInFlight.add(-1, 'endpoint', endpoint),
    });

    const limiter = options.limiter ?? modelLimiterSnapshots;
    const concurrency = (name: string, help: string, pick: (s: ModelLimiterSnapshot) => number): void => {
      new Gauge({
        name,
        help,
        labelNames: ['endpoint', 'model'],
        registers,
        collect() {
          this.reset();
          for (const s of limiter()) this.set({ endpoint: s.endpoint, model: s.model }, pick(s));
        },
      });
    };
    concurrency('dg_model_concurrency_limit', 'Current concurrency limit of the adaptive model limiter', (s) => s.limit);
    concurrency('dg_model_concurrency_in_flight', 'Model calls the limiter has let through and not yet finished', (s) => s.inFlight);
    concurrency('dg_model_concurrency_queued', 'Model calls waiting for the limiter', (s) => s.queued);

    const lagSource = options.lag;
    new Gauge({
      name: 'dg_consumer_lag',
      help: 'Messages not yet committed by the role consumer group, per topic and partition',
      labelNames: ['group', 'topic', 'partition'],
      registers,
      async collect() {
        if (!lagSource) return;
        const rows = await lagSource.lag();
        this.reset();
        for (const r of rows) this.set({ group: r.group, topic: r.topic, partition: String(r.partition) }, r.lag);
      },
    });
  }

  markFatal(problem: string): void {
    this.problem = problem;
  }

  async close(): Promise<void> {
    this.stopObservingModelCalls();
    await this.options.lag?.close();
  }
}
