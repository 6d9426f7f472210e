import { DynamicModule, Global, Module } from '@nestjs/common';
import { DG_CONFIG, type DgConfig } from '../config';
import { EventCodec } from '../codec/event-codec';
import { resolveBusConfig, type BusConfig, type BusConfigOverrides } from './bus-config';
import { EventBus } from './event-bus';
import type { BusHooks } from './hooks';
import type { WireCodec } from './wire-codec';

/** Injection token of the resolved BusConfig. */
export const BUS_CONFIG = Symbol('BUS_CONFIG');
/** Injection token of the codec the bus encodes and decodes with. */
export const WIRE_CODEC = Symbol('WIRE_CODEC');

export interface BusModuleOptions {
  /** Tuning beyond what DgConfig carries (commit interval, buffer sizes). */
  overrides?: BusConfigOverrides;
  /** Create missing topics when the bus starts (default true). */
  ensureTopicsOnStart?: boolean;
  /** See EventBusOptions.onFatalError. */
  onFatalError?: (error: Error, groupId: string) => void;
  /** See EventBusOptions.hooks. */
  hooks?: BusHooks;
}

/** The bus settings that DgConfig carries, over the bus defaults. */
export function busConfigFrom(config: DgConfig, overrides: BusConfigOverrides = {}): BusConfig {
  return resolveBusConfig({
    ...overrides,
    topicPrefix: overrides.topicPrefix ?? config.topics.prefix,
    shutdownTimeoutMs: overrides.shutdownTimeoutMs ?? config.shutdownTimeoutMs,
    kafka: {
      brokers: [...config.kafka.brokers],
      clientId: config.kafka.clientId,
      sasl: config.kafka.sasl ? { ...config.kafka.sasl } : null,
      ssl: config.kafka.ssl ? { ...config.kafka.ssl } : null,
      ...overrides.kafka,
    },
    consumer: {
      sessionTimeoutMs: config.kafka.sessionTimeoutMs,
      rebalanceTimeoutMs: config.kafka.rebalanceTimeoutMs,
      heartbeatIntervalMs: config.kafka.heartbeatIntervalMs,
      maxInFlight: config.kafka.maxInFlight,
      ...overrides.consumer,
    },
    handlerRetry: {
      maxAttempts: config.retry.maxAttempts,
      initialDelayMs: config.retry.initialDelayMs,
      maxDelayMs: config.retry.maxDelayMs,
      ...overrides.handlerRetry,
    },
    deadLetterBackoff: { initialDelayMs: config.retry.initialDelayMs, maxDelayMs: config.retry.maxDelayMs, ...overrides.deadLetterBackoff },
  });
}

/**
 * Provides EventBus (publish + subscribe) to every module. Needs DgConfigModule. The EventBus
 * owns the producer and every consumer: it starts in onModuleInit (topics ensured, producer
 * connected) and drains on application shutdown, so roles subscribe in onApplicationBootstrap.
 */
@Global()
@Module({})
export class BusModule {
  static forRoot(options: BusModuleOptions = {}): DynamicModule {
    return {
      module: BusModule,
      providers: [
        { provide: BUS_CONFIG, inject: [DG_CONFIG], useFactory: (config: DgConfig) => busConfigFrom(config, options.overrides) },
        {
          provide: WIRE_CODEC,
          inject: [DG_CONFIG, BUS_CONFIG],
          useFactory: (config: DgConfig, bus: BusConfig): WireCodec => EventCodec.fromConfig(config, { topicPrefix: bus.topicPrefix }),
        },
        {
          provide: EventBus,
          inject: [BUS_CONFIG, WIRE_CODEC],
          useFactory: (config: BusConfig, codec: WireCodec) =>
            new EventBus({
              config,
              codec,
              ...(options.ensureTopicsOnStart === undefined ? {} : { ensureTopicsOnStart: options.ensureTopicsOnStart }),
              ...(options.onFatalError ? { onFatalError: options.onFatalError } : {}),
              ...(options.hooks ? { hooks: options.hooks } : {}),
            }),
        },
      ],
      exports: [EventBus, BUS_CONFIG, WIRE_CODEC],
    };
  }
}
