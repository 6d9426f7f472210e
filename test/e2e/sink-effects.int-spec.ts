import type { DeadLetter, GameCurated } from '../../schemas/generated/events';
import { sql } from '../../services/core/clickhouse';
import { roleGroupId } from '../../services/core/bus';
import { standaloneBus } from '../../services/launcher/launcher';
import { curatedEvent } from '../clickhouse/curated-event';
import { createE2eEnvironment, waitForGroupCaughtUp, type E2eEnvironment } from '../helpers/e2e-env';
import { datasetLines } from '../helpers/e2e-games';
import { waitFor } from '../helpers/wait-for';

/**
 * The sink's order of effects (issue 6, defect 5): a kept game whose fine-tuning example cannot be
 * built (here: a prompt version that does not exist) must write nothing — no kept=1 row without its
 * dataset line — and be dead-lettered with a cause that says so, while the games around it land.
 */

let env: E2eEnvironment;

beforeAll(async () => {
  env = await createE2eEnvironment('sinkfx');
  await env.startRoles({}, ['sink']);
}, 60_000);

afterAll(async () => {
  await env?.cleanup();
}, 60_000);

it('writes nothing for a game it cannot build, dead-letters it with the cause, and writes the others', async () => {
  const config = env.config();
  const good = [curatedEvent({ gameId: `${env.topicPrefix}good-1` }), curatedEvent({ gameId: `${env.topicPrefix}good-2` })];
  const broken: GameCurated = curatedEvent({ gameId: `${env.topicPrefix}broken` });
  broken.game.setup.questioner.promptVersion = 'v999';

  const bus = standaloneBus(config);
  env.track(() => bus.close());
  const deadLetters: DeadLetter[] = [];
  await bus.subscribe({ groupId: `${env.topicPrefix}dlq-reader`, topics: ['deadLetter'], handler: async (event) => void deadLetters.push(event) });
  await bus.publishBatch([good[0]!, broken, good[1]!].map((value) => ({ topic: 'gameCurated' as const, key: value.game.header.gameId, value })));

  await waitForGroupCaughtUp(env.admin, roleGroupId(env.topicPrefix, 'sink'), env.topic('gameCurated'), 60_000);
  await waitFor(() => deadLetters.length >= 1, { timeoutMs: 30_000, what: 'the broken game dead-lettered' });
  expect(deadLetters).toHaveLength(1);
  expect(deadLetters[0]!.key?.toString()).toBe(broken.game.header.gameId);

  const rows = await waitFor(
    async () => {
      const result = await env.clickhouse.query<{ game_id: string; kept: number }>(
        sql`SELECT game_id, kept FROM ${env.clickhouse.table('games')} FINAL ORDER BY game_id`,
      );
      return result.length >= 2 ? result : undefined;
    },
    { timeoutMs: 30_000, what: 'the good games in ClickHouse' },
  );
  expect(rows.map((r) => r.game_id)).toEqual(good.map((g) => g.game.header.gameId).sort());
  const turns = await env.clickhouse.query<{ n: string }>(
    sql`SELECT count() AS n FROM ${env.clickhouse.table('turns')} FINAL WHERE game_id = ${broken.game.header.gameId}`,
  );
  expect(Number(turns[0]!.n)).toBe(0);
  const decisions = await env.clickhouse.query<{ n: string }>(
    sql`SELECT count() AS n FROM ${env.clickhouse.table('filter_decisions')} FINAL WHERE game_id = ${broken.game.header.gameId}`,
  );
  expect(Number(decisions[0]!.n)).toBe(0);
  expect(deadLetters[0]!.errorMessage).toMatch(/cannot build .*fine-tuning example .*nothing written/);
  expect(deadLetters[0]!.errorMessage).toContain('v999');
  expect((await datasetLines(env.dataDir)).map((l) => l.gameId).sort()).toEqual(good.map((g) => g.game.header.gameId).sort());
}, 120_000);
