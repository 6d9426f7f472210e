import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { GameCurated } from '../../schemas/generated/events';
import { FakeEventBus } from '../core/bus/testing/fake-bus';
import type { ClickHouseConnection } from '../core/clickhouse';
import { loadConfig } from '../core/config';
import { RetriableError } from '../core/errors';
import { curate } from '../game';
import { datasetLines } from '../../test/helpers/e2e-games';
import { guessedGame, judgedGame } from '../../test/helpers/role-fakes';
import { SinkService } from './sink.service';

/**
 * The sink behind a fake bus (pure: a fake ClickHouse, a temp dataset folder): what a delivery
 * writes, what is dead-lettered, that an outage is never dead-lettered, and that a redelivery adds
 * no second dataset line. handle() alone is in sink.service.spec.ts; the real stack in test/e2e.
 */
describe('SinkService behind the bus', () => {
  let dir: string;
  let inserts: Array<{ table: string; rows: number }>;
  let down: boolean;
  let bus: FakeEventBus;
  let sink: SinkService;

  beforeAll(() => jest.spyOn(process.stderr, 'write').mockImplementation(() => true));
  afterAll(() => jest.restoreAllMocks());

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'dg-sink-bus-'));
    inserts = [];
    down = false;
    const clickhouse = {
      waitUntilReady: async () => undefined,
      insert: async (table: string, rows: unknown[]) => {
        if (down) throw new RetriableError('ClickHouse unreachable (connect ECONNREFUSED)');
        inserts.push({ table, rows: rows.length });
      },
      close: async () => undefined,
    } as unknown as ClickHouseConnection;
    bus = new FakeEventBus();
    sink = new SinkService(
      loadConfig({}, { DG_TOPIC_PREFIX: bus.topicPrefix, DG_DATA_DIR: dir, DG_SINK_FLUSH_INTERVAL_MS: 10, DG_SINK_BATCH_SIZE: 1 }),
      bus.asEventBus(),
      clickhouse,
    );
    await sink.onApplicationBootstrap();
  });

  afterEach(async () => {
    await sink.onApplicationShutdown().catch(() => undefined);
    await rm(dir, { recursive: true, force: true });
  });

  function curated(gameId: string, guessIndex = 1): GameCurated {
    const judged = judgedGame(guessedGame({ gameId, targetIndex: 1, guessIndex }));
    return { ...judged, curation: curate(judged, { now: Date.now() }) };
  }

  it('writes the rows of every curated game and a dataset line for a kept one', async () => {
    expect(await bus.deliver('gameCurated', curated('g-kept'))).toEqual(['handled']);
    expect(await bus.deliver('gameCurated', curated('g-lost', 3))).toEqual(['handled']);
    expect(new Set(inserts.map((i) => i.table))).toEqual(new Set(['games', 'turns', 'filter_decisions']));
    expect(inserts.filter((i) => i.table === 'games')).toHaveLength(2);
    expect((await datasetLines(dir)).map((l) => l.gameId)).toEqual(['g-kept']);
  });

  it('adds no second dataset line when a kept game is redelivered', async () => {
    const event = curated('g-twice');
    await bus.deliver('gameCurated', event);
    await bus.deliver('gameCurated', event);
    expect((await datasetLines(dir)).map((l) => l.gameId)).toEqual(['g-twice']);
  });

  it('dead-letters a game it cannot build, writing nothing', async () => {
    const event = curated('g-broken');
    event.game.setup.questioner.promptVersion = 'v999';
    expect(await bus.deliver('gameCurated', event)).toEqual(['dead-lettered']);
    expect(bus.deadLetters()).toMatchObject([
      { errorKind: 'handler', errorMessage: expect.stringMatching(/game g-broken, nothing written: unknown prompt version v999/) },
    ]);
    expect(inserts).toEqual([]);
    expect(await datasetLines(dir)).toEqual([]);
  });

  it('never dead-letters during a ClickHouse outage: the message stays unfinished and lands once ClickHouse is back', async () => {
    down = true;
    const event = curated('g-outage');
    expect(await bus.deliver('gameCurated', event)).toEqual(['abandoned']);
    expect(bus.deadLetters()).toEqual([]);
    down = false;
    expect(await bus.deliver('gameCurated', event)).toEqual(['handled']);
    expect(inserts.filter((i) => i.table === 'games')).toHaveLength(1);
    expect((await datasetLines(dir)).map((l) => l.gameId)).toEqual(['g-outage']);
  });
});
