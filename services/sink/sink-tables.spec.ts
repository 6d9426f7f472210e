import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { EventBus, MessageContext } from '../core/bus';
import type { ClickHouseConnection } from '../core/clickhouse';
import { loadConfig } from '../core/config';
import { curatedEvent } from '../../test/clickhouse/curated-event';
import { SINK_TABLE_NAMES, TABLES_NOT_WRITTEN_BY_THE_SINK, tablesCreatedByMigrations, unclassifiedTables } from '../../test/clickhouse/table-owners';
import { SinkService } from './sink.service';
import { SINK_TABLES } from './tables';

/**
 * SINK_TABLES is the one list of the sink's tables that the ClickHouse parity tests iterate
 * (test/clickhouse/migrations.int-spec.ts on 18.16, modern-engine.int-spec.ts on chdb). These
 * checks keep it complete: a table the sink writes, or a table a migration adds, cannot be missing.
 */
describe('SINK_TABLES', () => {
  it('has one entry per table, each naming its columns once', () => {
    expect(new Set(SINK_TABLE_NAMES).size).toBe(SINK_TABLES.length);
    for (const spec of SINK_TABLES) {
      expect(spec.columns.length).toBeGreaterThan(0);
      expect(new Set(spec.columns).size).toBe(spec.columns.length);
    }
  });

  it('every table the migrations create is either a sink table or classified as written by someone else', () => {
    const created = tablesCreatedByMigrations();
    expect(created).toEqual(expect.arrayContaining([...SINK_TABLE_NAMES]));
    expect(unclassifiedTables(created)).toEqual([]);
    expect(SINK_TABLE_NAMES.filter((t) => t in TABLES_NOT_WRITTEN_BY_THE_SINK)).toEqual([]);
    // The other list stays true too: nothing in it that no migration creates (the runner's own table aside).
    expect(Object.keys(TABLES_NOT_WRITTEN_BY_THE_SINK).filter((t) => t !== 'schema_migrations' && !created.includes(t))).toEqual([]);
  });

  it('names a migration table nobody classified', () => {
    expect(unclassifiedTables([...SINK_TABLE_NAMES, 'models', 'new_sink_table'])).toEqual(['new_sink_table']);
  });

  describe('the sink', () => {
    let dir: string;
    let sink: SinkService;
    const inserted = new Set<string>();

    beforeEach(async () => {
      dir = await mkdtemp(join(tmpdir(), 'dg-sink-tables-'));
      inserted.clear();
      const clickhouse = {
        insert: async (table: string) => void inserted.add(table),
        close: async () => undefined,
      } as unknown as ClickHouseConnection;
      sink = new SinkService(loadConfig({}, { DG_DATA_DIR: dir, DG_SINK_FLUSH_INTERVAL_MS: 10, DG_SINK_BATCH_SIZE: 1 }), {} as EventBus, clickhouse);
    });

    afterEach(async () => {
      await sink.onApplicationShutdown().catch(() => undefined);
      await rm(dir, { recursive: true, force: true });
    });

    it('inserts into exactly the tables of SINK_TABLES, for a kept and for a rejected game', async () => {
      const ctx = (offset: string) => ({ topic: 'dg.game-curated', partition: 0, offset }) as MessageContext<'gameCurated'>;
      await sink.handle(curatedEvent({ gameId: 'g-kept', success: true }), ctx('1'));
      await sink.handle(curatedEvent({ gameId: 'g-rejected', success: false }), ctx('2'));
      expect([...inserted].sort()).toEqual([...SINK_TABLE_NAMES].sort());
    });
  });
});
