import { sql } from '../../services/core/clickhouse';
import { isEvalImage, wilsonInterval } from '../../services/iterations/eval-sets';
import { trainingDataset } from '../../services/launcher/holdout';
import { loadDataset } from '../../services/datasets/resolve';
import type { E2eEnvironment } from '../helpers/e2e-env';
import { runDg } from '../helpers/dg-cli';
import { datasetLines } from '../helpers/e2e-games';
import { dgJson, startSimE2e } from '../helpers/e2e-sim';

/**
 * Frozen evaluation sets as a user runs them: `dg eval create` stores the setups once (on the eval
 * split of the dataset, which training launches then hold out); `dg eval run` plays exactly those
 * games, tagged as evaluation so no training example is written; the same models twice give
 * identical setups, and a worse answerer (the simulator lying 40% of the time) a lower success rate.
 */

const GAMES = 30;
const CLI_TIMEOUT_MS = 300_000;

let env: E2eEnvironment;
let childEnv: NodeJS.ProcessEnv;

beforeAll(async () => {
  ({ env, childEnv } = await startSimE2e('eval'));
}, 120_000);

afterAll(async () => {
  await env?.cleanup();
}, 60_000);

function dg(args: string[]): Promise<Record<string, unknown>> {
  return dgJson([...args, '--json'], childEnv, CLI_TIMEOUT_MS);
}

interface PlayedSetup {
  seed: number;
  candidate_ids: string[];
  target_index: number;
}

async function setupsOf(runId: string): Promise<PlayedSetup[]> {
  const rows = await env.clickhouse.query<PlayedSetup>(
    sql`SELECT seed, candidate_ids, target_index FROM ${env.clickhouse.table('games')} FINAL WHERE run_id = ${runId} ORDER BY seed`,
  );
  return rows.map((r) => ({ ...r, seed: Number(r.seed) }));
}

it(
  'stores a frozen set once, on the eval split, held out of training launches',
  async () => {
    const created = await dg(['eval', 'create', '--name', 'e1', '--games', String(GAMES), '--seed', '11']);
    expect(created).toEqual(expect.objectContaining({ outcome: 'created', games: GAMES }));
    expect(await dg(['eval', 'create', '--name', 'e1', '--games', String(GAMES), '--seed', '11'])).toEqual(
      expect.objectContaining({ outcome: 'exists', setups_hash: created.setups_hash }),
    );
    const changed = await runDg(['eval', 'create', '--name', 'e1', '--games', String(GAMES), '--seed', '12'], childEnv, CLI_TIMEOUT_MS);
    expect(changed.code).not.toBe(0);
    expect(changed.stderr).toMatch(/eval set e1 already exists with other setups/);

    const [row] = await env.clickhouse.query<{ setups: string; eval_image_ids: string[] }>(
      sql`SELECT setups, eval_image_ids FROM ${env.clickhouse.table('eval_sets')} FINAL WHERE name = 'e1'`,
    );
    const setups = JSON.parse(row!.setups) as Array<{ candidates: Array<{ id: string }> }>;
    expect(setups).toHaveLength(GAMES);
    for (const setup of setups) for (const c of setup.candidates) expect(isEvalImage(c.id)).toBe(true);

    const config = env.config();
    const all = await loadDataset('synthetic-v1', { datasetsDir: config.paths.datasetsDir });
    const training = await trainingDataset(config, all);
    const heldOut = new Set(row!.eval_image_ids);
    expect(training.images.length).toBe(all.images.length - heldOut.size);
    expect(training.images.some((i) => heldOut.has(i.id))).toBe(false);
  },
  CLI_TIMEOUT_MS,
);

it(
  'plays exactly the stored games, twice identically, and a worse answerer scores lower',
  async () => {
    const first = await dg(['eval', 'run', 'e1', '--answerer-model', 'sim-vlm', '--iteration', '1']);
    const second = await dg(['eval', 'run', 'e1', '--answerer-model', 'sim-vlm', '--iteration', '1']);
    const worse = await dg(['eval', 'run', 'e1', '--answerer-model', 'sim-vlm@err=0.4', '--iteration', '1']);
    for (const r of [first, second, worse]) expect(r).toEqual(expect.objectContaining({ games: GAMES, judged: GAMES, missing: 0 }));

    const [a, b, c] = await Promise.all([first, second, worse].map((r) => setupsOf(r.run_id as string)));
    expect(a).toHaveLength(GAMES);
    expect(b).toEqual(a);
    expect(c).toEqual(a);

    expect(worse.success_rate as number).toBeLessThan(first.success_rate as number);
    const ci = wilsonInterval(first.succeeded as number, GAMES);
    expect([first.ci_low, first.ci_high]).toEqual([Number(ci.low.toFixed(4)), Number(ci.high.toFixed(4))]);
    expect(first.ci_low as number).toBeLessThanOrEqual(first.success_rate as number);

    // Evaluation games are measured, never trained on: no dataset line, and no export picks them up.
    const evalRunIds = new Set([first, second, worse].map((r) => r.run_id as string));
    expect((await datasetLines(env.dataDir)).filter((l) => evalRunIds.has(l.runId))).toEqual([]);
    const [kept] = await env.clickhouse.query<{ n: number }>(
      sql`SELECT count() AS n FROM ${env.clickhouse.table('games')} FINAL WHERE kept = 1 AND iteration = 1`,
    );
    expect(Number(kept!.n)).toBeGreaterThan(0);
    const exported = await dg(['export', '--iteration', '1', '--view', 'answerer', '--out', `${env.dataDir}/export`]);
    expect((exported as { counts: { games: number } }).counts.games).toBe(0);
  },
  CLI_TIMEOUT_MS * 4,
);
