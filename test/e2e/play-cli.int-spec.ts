import { failuresByReason } from '../../services/analytics';
import type { E2eEnvironment } from '../helpers/e2e-env';
import { datasetLines, tableCounts } from '../helpers/e2e-games';
import { playAndWait, startSimE2e } from '../helpers/e2e-sim';

/**
 * `dg play --wait --json` as a user runs it: a child process launching games that the roles of this
 * test process play; the JSON object on its last stdout line equals what ClickHouse and the dataset
 * hold. bin/dg may rebuild dist/ first when sources changed, hence the generous deadline.
 */

const GAMES = 5;
const CLI_TIMEOUT_MS = 240_000;

let env: E2eEnvironment;
let childEnv: NodeJS.ProcessEnv;

beforeAll(async () => {
  ({ env, childEnv } = await startSimE2e('play'));
}, 120_000);

afterAll(async () => {
  await env?.cleanup();
}, 60_000);

it(
  `prints as its last line a summary of ${GAMES} games that equals ClickHouse and the dataset`,
  async () => {
    const summary = await playAndWait(['--games', String(GAMES), '--seed', '99', '--timeout', '120'], childEnv, CLI_TIMEOUT_MS);
    expect(summary).toMatchObject({ requested: GAMES, games: GAMES, missing: 0 });

    const counts = await tableCounts(env.clickhouse, summary.run_id);
    expect({ games: summary.games, succeeded: summary.succeeded, kept: summary.kept }).toEqual({
      games: counts.games,
      succeeded: counts.succeeded,
      kept: counts.kept,
    });
    expect(summary.failed).toEqual(await failuresByReason(env.clickhouse, env.database, { runId: summary.run_id }));
    expect(summary.failed_total).toBe(counts.games - counts.succeeded);
    expect(summary.success_rate).toBeCloseTo(counts.succeeded / counts.games, 4);
    const dataset = (await datasetLines(env.dataDir)).filter((l) => l.runId === summary.run_id);
    expect(dataset).toHaveLength(summary.kept);
    expect(summary.kept).toBeGreaterThan(0);
  },
  CLI_TIMEOUT_MS + 30_000,
);
