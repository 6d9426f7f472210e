import { Inject, Injectable, Module, type DynamicModule, type OnApplicationShutdown, type OnModuleInit } from '@nestjs/common';
import { DG_CONFIG, type DgConfig } from '../config';
import { createLogger } from '../logging';
import { startMetricsServer, type MetricsServer } from './metrics-server';
import { RoleMetrics } from './role-metrics';

/** The injection token of the process's RoleMetrics. */
export const ROLE_METRICS = Symbol('ROLE_METRICS');

/**
 * Serves /metrics and /healthz for a role process on DG_METRICS_HOST:DG_METRICS_PORT (none when
 * the port is `off`). Healthy until a consumer stopped for good (RoleMetrics.markFatal).
 */
@Injectable()
export class MetricsEndpoint implements OnModuleInit, OnApplicationShutdown {
  private server: MetricsServer | undefined;
  private readonly logger = createLogger('metrics');

  constructor(
    @Inject(DG_CONFIG) private readonly config: DgConfig,
    @Inject(ROLE_METRICS) private readonly metrics: RoleMetrics,
  ) {}

  /** The server's address (undefined when metrics are off). */
  get url(): string | undefined {
    return this.server?.url;
  }

  async onModuleInit(): Promise<void> {
    const { host, port } = this.config.metrics;
    if (port === null) return;
    this.server = await startMetricsServer({ host, port, registry: this.metrics.registry, health: { problem: () => this.metrics.problem } });
    this.logger.info('metrics and health', { url: `${this.server.url}/metrics` });
  }

  async onApplicationShutdown(): Promise<void> {
    await this.server?.close();
    this.server = undefined;
    await this.metrics.close();
  }
}

@Module({})
export class MetricsModule {
  static forRoot(metrics: RoleMetrics): DynamicModule {
    return { module: MetricsModule, providers: [{ provide: ROLE_METRICS, useValue: metrics }, MetricsEndpoint], exports: [ROLE_METRICS, MetricsEndpoint] };
  }
}
