import { failuresByReason } from '../../services/analytics';
import type { ConfigOverrides } from '../../services/core/config';
import type { RunSummary } from '../../services/launcher/run-summary';
import { startSimVlm } from '../../services/sim-vlm/server';
import { createE2eEnvironment, type E2eEnvironment } from '../helpers/e2e-env';
import { runDg } from '../helpers/dg-cli';
import { datasetLines, tableCounts } from '../helpers/e2e-games';

/**
 * `dg play --wait --json` as a user runs it: a child process launching games that the roles of this
 * test process play; the JSON object on its last stdout line equals what ClickHouse and the dataset
 * hold. bin/dg may rebuild dist/ first when sources changed, hence the generous deadline.
 */

const GAMES = 5;
const CLI_TIMEOUT_MS = 240_000;

let env: E2eEnvironment;

beforeAll(async () => {
  env = await createE2eEnvironment('play');
}, 60_000);

afterAll(async () => {
  await env?.cleanup();
}, 60_000);

it(`prints as its last line a summary of ${GAMES} games that equals ClickHouse and the dataset`, async () => {
  const sim = await startSimVlm({ port: 0 });
  env.track(() => sim.close());
  const overrides: ConfigOverrides = { QUESTIONER_BASE_URL: sim.baseUrl, ANSWERER_BASE_URL: sim.baseUrl };
  await env.startRoles(overrides);

  const childEnv: NodeJS.ProcessEnv = {
    ...process.env,
    DG_TOPIC_PREFIX: env.topicPrefix,
    CLICKHOUSE_DATABASE: env.database,
    DG_DATA_DIR: env.dataDir,
    QUESTIONER_BASE_URL: sim.baseUrl,
    ANSWERER_BASE_URL: sim.baseUrl,
    DG_LOG_LEVEL: 'warn',
  };
  const result = await runDg(['play', '--games', String(GAMES), '--seed', '99', '--wait', '--json', '--timeout', '120'], childEnv, CLI_TIMEOUT_MS);
  expect({ code: result.code, stderr: result.code === 0 ? '' : result.stderr }).toEqual({ code: 0, stderr: '' });

  const lines = result.stdout.trim().split('\n');
  const summary = JSON.parse(lines[lines.length - 1]!) as RunSummary;
  expect(summary).toMatchObject({ requested: GAMES, games: GAMES, missing: 0 });

  const counts = await tableCounts(env.clickhouse, summary.run_id);
  expect({ games: summary.games, succeeded: summary.succeeded, kept: summary.kept }).toEqual({ games: counts.games, succeeded: counts.succeeded, kept: counts.kept });
  expect(summary.failed).toEqual(await failuresByReason(env.clickhouse, env.database, { runId: summary.run_id }));
  expect(summary.failed_total).toBe(counts.games - counts.succeeded);
  expect(summary.success_rate).toBeCloseTo(counts.succeeded / counts.games, 4);
  const dataset = (await datasetLines(env.dataDir)).filter((l) => l.runId === summary.run_id);
  expect(dataset).toHaveLength(summary.kept);
  expect(summary.kept).toBeGreaterThan(0);
}, CLI_TIMEOUT_MS + 30_000);
