import { Module } from '@nestjs/common';
import { DG_CONFIG, type DgConfig } from '../core/config';
import { ClickHouseConnection } from '../core/clickhouse';
import { SINK_CLICKHOUSE, SinkService } from './sink.service';

@Module({
  providers: [
    SinkService,
    {
      provide: SINK_CLICKHOUSE,
      inject: [DG_CONFIG],
      useFactory: (config: DgConfig) =>
        new ClickHouseConnection({
          url: config.clickhouse.url,
          database: config.clickhouse.database,
          user: config.clickhouse.user,
          password: config.clickhouse.password,
        }),
    },
  ],
})
export class SinkModule {}
