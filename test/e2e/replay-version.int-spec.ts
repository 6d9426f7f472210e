import { sql } from '../../services/core/clickhouse';
import { roleGroupId } from '../../services/core/bus';
import { FILTER_VERSION } from '../../services/game';
import { planFrom, standaloneBus } from '../../services/launcher/launcher';
import { startSimVlm } from '../../services/sim-vlm/server';
import type { GameJudged } from '../../schemas/generated/events';
import { curatedEvent } from '../clickhouse/curated-event';
import { consumerLag, createE2eEnvironment, waitForGroupCaughtUp, type E2eEnvironment } from '../helpers/e2e-env';
import { runDg } from '../helpers/dg-cli';
import { launch, syntheticImages, waitForRunRows } from '../helpers/e2e-games';
import { dgChildEnv } from '../helpers/e2e-sim';

/**
 * `dg replay` as a user runs it. Player roles are refused (they call models and would end old games
 * as timeout over their recorded verdicts: issue 6 defect 2 — this failed before, when the replay
 * rewound the questioner's group). `dg replay filter --version V` re-filters 10,000 judged games
 * (published directly) with a fresh consumer group and writes V's decisions next to the live
 * filter's: no duplicate rows, both versions in `dg stats --by filter_version`.
 */

const CLI_TIMEOUT_MS = 300_000;
const JUDGED = 10_000;
/** Games the first test plays in the same world: the replay re-decides them too. */
const PLAYED = 3;

let env: E2eEnvironment;
let childEnv: NodeJS.ProcessEnv;

beforeAll(async () => {
  env = await createE2eEnvironment('replayversion');
  childEnv = dgChildEnv(env);
}, 60_000);

afterAll(async () => {
  await env?.cleanup();
}, 60_000);

it(
  'refuses to replay the questioner or the answerer and leaves their groups where they were',
  async () => {
    const sim = await startSimVlm({ port: 0 });
    env.track(() => sim.close());
    const overrides = { QUESTIONER_BASE_URL: sim.baseUrl, ANSWERER_BASE_URL: sim.baseUrl };
    const app = await env.startRoles(overrides);
    const config = env.config(overrides);
    const plan = planFrom(config, { datasetName: 'synthetic-v1', seed: 99, runId: `${env.topicPrefix}players` });
    const startedAt = Date.now();
    await launch(config, plan, await syntheticImages(config), PLAYED);
    await waitForRunRows(env.clickhouse, env.database, plan.runId, PLAYED, startedAt, 120_000);
    const questionerGroup = roleGroupId(env.topicPrefix, 'questioner');
    await waitForGroupCaughtUp(env.admin, questionerGroup, env.topic('gameRequested'), 60_000);
    await env.stopRoles(app);

    for (const role of ['questioner', 'answerer']) {
      const replay = await runDg(['replay', role], childEnv, CLI_TIMEOUT_MS);
      expect(replay.code).toBe(2);
      expect(replay.stderr).toContain(`${role} calls a model`);
    }
    expect(await consumerLag(env.admin, questionerGroup, env.topic('gameRequested'))).toBe(0);

    // The referee re-judges under a new version into referee_decisions, next to the live verdicts.
    const rejudged = await runDg(['replay', 'referee', '--version', 'referee-next', '--json'], childEnv, CLI_TIMEOUT_MS);
    expect(JSON.parse(rejudged.stdout.trim().split('\n').pop()!)).toEqual(expect.objectContaining({ handled: PLAYED, written: PLAYED }));
    const pairs = await env.clickhouse.query<{ live: string; replayed: string }>(sql`
    SELECT toString(g.verdict) AS live, toString(r.verdict) AS replayed
    FROM ${env.clickhouse.table('games')} AS g FINAL
    ANY INNER JOIN (SELECT game_id, verdict FROM ${env.clickhouse.table('referee_decisions')} FINAL WHERE referee_version = 'referee-next') AS r USING game_id
    WHERE g.run_id = ${plan.runId}`);
    expect(pairs).toHaveLength(PLAYED);
    for (const p of pairs) expect(p.replayed).toBe(p.live);
  },
  CLI_TIMEOUT_MS,
);

it(
  're-filters 10,000 judged games into a new filter version next to the live decisions, without duplicates',
  async () => {
    const runId = `${env.topicPrefix}judged`;
    const bus = standaloneBus(env.config());
    try {
      for (let start = 0; start < JUDGED; start += 1000) {
        const records = Array.from({ length: Math.min(1000, JUDGED - start) }, (_, i) => {
          const n = start + i;
          const { curation: _curation, ...judged } = curatedEvent({
            gameId: `g-${n}`,
            runId,
            success: n % 4 !== 0,
            questions: 1 + (n % 5),
            requestedAtMs: 1_764_255_000_000 + n,
          });
          return { topic: 'gameJudged' as const, key: judged.game.header.gameId, value: judged as GameJudged };
        });
        await bus.publishBatch(records);
      }
    } finally {
      await bus.close();
    }
    // The live filter and sink decide them with the filter's own version.
    const curators = await env.startRoles({}, ['filter', 'sink']);
    await waitForGroupCaughtUp(env.admin, roleGroupId(env.topicPrefix, 'filter'), env.topic('gameJudged'), 240_000);
    await waitForGroupCaughtUp(env.admin, roleGroupId(env.topicPrefix, 'sink'), env.topic('gameCurated'), 240_000);
    await env.stopRoles(curators);

    const replay = await runDg(['replay', 'filter', '--version', 'filter-next', '--json'], childEnv, CLI_TIMEOUT_MS);
    expect({ code: replay.code, stderr: replay.code === 0 ? '' : replay.stderr }).toEqual({ code: 0, stderr: '' });
    const result = JSON.parse(replay.stdout.trim().split('\n').pop()!) as { handled: number; written: number; games_per_s: number };
    expect(result).toEqual(expect.objectContaining({ handled: JUDGED + PLAYED, written: JUDGED + PLAYED }));
    process.stdout.write(`replay filter --version: ${result.handled} games at ${result.games_per_s} games/s (shared, loaded machine)\n`);

    // Once more: the group has finished, nothing is read or written again.
    const again = await runDg(['replay', 'filter', '--version', 'filter-next', '--json'], childEnv, CLI_TIMEOUT_MS);
    expect(JSON.parse(again.stdout.trim().split('\n').pop()!)).toEqual(expect.objectContaining({ handled: 0, written: 0 }));

    // No FINAL: every physical row counts, so a duplicate would show.
    const rows = await env.clickhouse.query<{ filter_version: string; n: number; games: number }>(
      sql`SELECT filter_version, count() AS n, uniqExact(game_id) AS games FROM ${env.clickhouse.table('filter_decisions')} WHERE run_id = ${runId} GROUP BY filter_version ORDER BY filter_version`,
    );
    expect(rows.map((r) => ({ ...r, n: Number(r.n), games: Number(r.games) }))).toEqual(
      [
        { filter_version: FILTER_VERSION, n: JUDGED, games: JUDGED },
        { filter_version: 'filter-next', n: JUDGED, games: JUDGED },
      ].sort((a, b) => a.filter_version.localeCompare(b.filter_version)),
    );
    // The live games rows still carry the live version: the replay published nothing.
    const [live] = await env.clickhouse.query<{ v: string[] }>(
      sql`SELECT groupUniqArray(filter_version) AS v FROM ${env.clickhouse.table('games')} FINAL WHERE run_id = ${runId}`,
    );
    expect(live!.v).toEqual([FILTER_VERSION]);

    const stats = await runDg(['stats', '--by', 'filter_version', '--json'], childEnv, CLI_TIMEOUT_MS);
    const versions = (JSON.parse(stats.stdout.trim().split('\n').pop()!) as { by_filter_version: Array<{ filter_version: string; games: number }> })
      .by_filter_version;
    expect(versions.map((v) => v.filter_version).sort()).toEqual([FILTER_VERSION, 'filter-next'].sort());
    for (const v of versions) expect(v.games).toBeGreaterThanOrEqual(JUDGED);
  },
  CLI_TIMEOUT_MS * 3,
);
