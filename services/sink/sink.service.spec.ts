import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { EventBus, MessageContext } from '../core/bus';
import type { ClickHouseConnection } from '../core/clickhouse';
import { loadConfig } from '../core/config';
import { curatedEvent } from '../../test/clickhouse/curated-event';
import { datasetLines } from '../../test/helpers/e2e-games';
import { SinkService } from './sink.service';

/** The sink's order of effects against a fake ClickHouse (issue 6, defect 5); the real-stack test is test/e2e/sink-effects.int-spec.ts. */
describe('SinkService.handle', () => {
  let dir: string;
  let inserts: string[];
  let insertError: Error | undefined;
  let sink: SinkService;
  const ctx = { topic: 'dg.game-curated', partition: 2, offset: '7' } as MessageContext<'gameCurated'>;
  const unhandled: unknown[] = [];
  const onUnhandled = (reason: unknown): void => void unhandled.push(reason);

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'dg-sink-spec-'));
    inserts = [];
    insertError = undefined;
    unhandled.length = 0;
    process.on('unhandledRejection', onUnhandled);
    const clickhouse = {
      insert: async (table: string) => {
        inserts.push(table);
        if (insertError) throw insertError;
      },
      close: async () => undefined,
    } as unknown as ClickHouseConnection;
    sink = new SinkService(loadConfig({}, { DG_DATA_DIR: dir, DG_SINK_FLUSH_INTERVAL_MS: 10, DG_SINK_BATCH_SIZE: 1 }), {} as EventBus, clickhouse);
  });

  afterEach(async () => {
    await sink.onApplicationShutdown().catch(() => undefined);
    process.off('unhandledRejection', onUnhandled);
    await rm(dir, { recursive: true, force: true });
  });

  it('writes nothing when the fine-tuning example cannot be built, and says why', async () => {
    insertError = new Error('ClickHouse is down');
    const event = curatedEvent({ gameId: 'g-broken' });
    event.game.setup.questioner.promptVersion = 'v999';
    await expect(sink.handle(event, ctx)).rejects.toMatchObject({
      retriable: false,
      message: expect.stringMatching(/game g-broken, nothing written: unknown prompt version v999/),
    });
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(inserts).toEqual([]);
    expect(await datasetLines(dir)).toEqual([]);
    expect(unhandled).toEqual([]);
  });

  it('awaits every write: an insert failure rejects the message only after the dataset line is settled', async () => {
    insertError = new Error('ClickHouse is down');
    await expect(sink.handle(curatedEvent({ gameId: 'g-1' }), ctx)).rejects.toThrow(/ClickHouse is down/);
    expect((await datasetLines(dir)).map((l) => l.gameId)).toEqual(['g-1']);
    expect(unhandled).toEqual([]);
  });
});
