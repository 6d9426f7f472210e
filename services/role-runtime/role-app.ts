import 'reflect-metadata';
import { Module, type DynamicModule, type INestApplicationContext, type Type } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { BusModule } from '../core/bus';
import { DgConfigModule, type DgConfig } from '../core/config';
import { createLogger, NestLoggerAdapter } from '../core/logging';
import { adminLagSource, MetricsModule, RoleMetrics } from '../core/metrics';
import type { RoleName } from '../core/bus';
import { AnswererModule } from '../answerer/answerer.module';
import { FilterModule } from '../filter/filter.module';
import { QuestionerModule } from '../questioner/questioner.module';
import { RefereeModule } from '../referee/referee.module';
import { SinkModule } from '../sink/sink.module';

const ROLE_MODULES: Record<RoleName, Type<unknown>> = {
  questioner: QuestionerModule,
  answerer: AnswererModule,
  referee: RefereeModule,
  filter: FilterModule,
  sink: SinkModule,
};

@Module({})
class RolesAppModule {
  static with(config: DgConfig, roles: readonly RoleName[]): DynamicModule {
    // A consumer kafkajs gave up on never comes back by itself: stop the process (draining the other
    // roles) and exit non-zero, so a supervisor restarts it rather than leaving a silent zombie.
    const metrics = new RoleMetrics({ lag: adminLagSource(config, roles, createLogger('metrics')) });
    const onFatalError = (error: Error): void => {
      metrics.markFatal(`a consumer stopped for good: ${error.message}`);
      createLogger('dg.run').error('a consumer stopped for good; shutting down to be restarted', { error });
      process.exitCode = 1;
      process.kill(process.pid, 'SIGTERM');
    };
    return {
      module: RolesAppModule,
      imports: [
        DgConfigModule.forRoot(config),
        BusModule.forRoot({ onFatalError, hooks: metrics.busHooks }),
        MetricsModule.forRoot(metrics),
        ...roles.map((r) => ROLE_MODULES[r]),
      ],
    };
  }
}

/**
 * One Nest application context hosting the chosen roles: they share the process's config, producer
 * and codec, and each role has its own consumer group. Roles only speak Kafka; the one HTTP server
 * is /metrics + /healthz (DG_METRICS_PORT).
 * Resolves once every role has joined its group.
 */
export async function startRoles(config: DgConfig, roles: readonly RoleName[]): Promise<INestApplicationContext> {
  const app = await NestFactory.createApplicationContext(RolesAppModule.with(config, roles), {
    logger: new NestLoggerAdapter(),
    abortOnError: false,
  });
  await app.init();
  return app;
}
