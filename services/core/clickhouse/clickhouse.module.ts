import { DynamicModule, Global, Inject, Injectable, Module, OnApplicationShutdown } from '@nestjs/common';
import { DG_CONFIG, type DgConfig } from '../config';
import { createLogger } from '../logging';
import { ClickHouseConnection } from './client';
import { CuratedGameWriter } from './curated-game-writer';

@Injectable()
class ClickHouseShutdown implements OnApplicationShutdown {
  constructor(
    @Inject(ClickHouseConnection) private readonly connection: ClickHouseConnection,
    @Inject(CuratedGameWriter) private readonly writer: CuratedGameWriter,
  ) {}

  /** Buffered rows are inserted before the connection closes; a failure is logged, not thrown, so shutdown completes. */
  async onApplicationShutdown(): Promise<void> {
    try {
      await this.writer.close();
    } catch (error) {
      createLogger('clickhouse').error('rows buffered at shutdown were not inserted; their events stay uncommitted', { error });
    } finally {
      await this.connection.close();
    }
  }
}

/**
 * Provides ClickHouseConnection (CLICKHOUSE_* config) and CuratedGameWriter (batch size, interval
 * and retries from DG_SINK_* / DG_RETRY_*) to every module. Needs DgConfigModule. Migrations are
 * not run here: `dg stack up` / `dg migrate` own the schema.
 */
@Global()
@Module({})
export class ClickHouseModule {
  static forRoot(): DynamicModule {
    return {
      module: ClickHouseModule,
      providers: [
        { provide: ClickHouseConnection, inject: [DG_CONFIG], useFactory: (config: DgConfig) => new ClickHouseConnection({ ...config.clickhouse }) },
        {
          provide: CuratedGameWriter,
          inject: [ClickHouseConnection, DG_CONFIG],
          useFactory: (connection: ClickHouseConnection, config: DgConfig) =>
            new CuratedGameWriter((table, rows, columns) => connection.insert(table, rows, columns), {
              maxBatchRows: config.sink.batchSize,
              flushIntervalMs: config.sink.flushIntervalMs,
              retry: { ...config.retry },
            }),
        },
        ClickHouseShutdown,
      ],
      exports: [ClickHouseConnection, CuratedGameWriter],
    };
  }
}
