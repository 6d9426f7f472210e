import 'reflect-metadata';
import { Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { ClickHouseConnection, ClickHouseModule, CuratedGameWriter, gameSummary, runMigrations } from '../../services/core/clickhouse';
import { DgConfigModule, loadConfig } from '../../services/core/config';
import { curatedEvent } from './curated-event';
import { connectTestDatabase } from './helpers';

/** The Nest wiring the sink uses: CuratedGameWriter from config, rows flushed when the application closes. */
describe('ClickHouseModule', () => {
  it('writes curated games in batches and flushes what is buffered on shutdown', async () => {
    const { connection: admin, database, drop } = await connectTestDatabase('module');
    try {
      await runMigrations(admin, { database });
      const config = loadConfig({ ...process.env, CLICKHOUSE_DATABASE: database, DG_SINK_BATCH_SIZE: '1000', DG_SINK_FLUSH_INTERVAL_MS: '600000' });

      @Module({ imports: [DgConfigModule.forRoot(config), ClickHouseModule.forRoot()] })
      class SinkLikeModule {}

      const app = await NestFactory.createApplicationContext(SinkLikeModule, { logger: false });
      const writer = app.get(CuratedGameWriter);
      expect(app.get(ClickHouseConnection).database).toBe(database);

      const events = ['m1', 'm2', 'm3'].map((id) => curatedEvent({ gameId: id, runId: 'run-module' }));
      let written = 0;
      const writes = events.map((e, i) => writer.write(e, { topic: 'dg.game-curated', partition: 0, offset: String(i) }).then(() => written++));
      // Batch size and interval are far away: nothing is inserted before shutdown.
      expect(writer.stats().bufferedRows).toBe(3 * (1 + 4 + 1));
      expect(written).toBe(0);

      await app.close();
      await Promise.all(writes);
      expect(written).toBe(3);
      expect(await gameSummary(admin, database, { runId: 'run-module' })).toMatchObject({ games: 3, succeeded: 3, kept: 3 });
      await expect(writer.write(events[0]!, { topic: 'dg.game-curated', partition: 0, offset: '9' })).rejects.toMatchObject({ retriable: true });
    } finally {
      await drop();
    }
  });
});
