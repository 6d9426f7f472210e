import { outcomesBy, type GroupedOutcome } from '../../services/analytics';
import { planFrom } from '../../services/launcher/launcher';
import { startSimVlm } from '../../services/sim-vlm/server';
import { createE2eEnvironment, type E2eEnvironment } from '../helpers/e2e-env';
import { launch, syntheticImages, tableCounts, waitForRunRows } from '../helpers/e2e-games';

/**
 * Model quality shows in the analytics: two arms in one run, told apart only by the answerer's model
 * name, whose simulator presets differ in answer error rate. The success rate per answerer model,
 * read back through the analytics query, must be near perfect for the exact answerer and clearly
 * lower for the noisy one.
 */

const GAMES_PER_ARM = 100;
const EXACT = 'sim-exact';
const NOISY = 'sim-noisy-40';

let env: E2eEnvironment;

beforeAll(async () => {
  env = await createE2eEnvironment('quality');
}, 60_000);

afterAll(async () => {
  await env?.cleanup();
}, 60_000);

it(`shows the answer error rate in the success rate per answerer model (${GAMES_PER_ARM} games per arm, 4 candidates, 10 questions)`, async () => {
  const sim = await startSimVlm({ port: 0, models: { [EXACT]: { errorRate: 0 }, [NOISY]: { errorRate: 0.4 } } });
  env.track(() => sim.close());
  const overrides = { QUESTIONER_BASE_URL: sim.baseUrl, ANSWERER_BASE_URL: sim.baseUrl, QUESTIONER_MODEL: EXACT };
  await env.startRoles(overrides);
  const config = env.config(overrides);
  const images = await syntheticImages(config);
  const runId = `${env.topicPrefix}quality`;
  const arm = (answererModel: string) => planFrom(config, { datasetName: 'synthetic-v1', runId, seed: 271_828, candidates: 4, maxTurns: 10, answererModel });

  const startedAt = Date.now();
  // Same seed, so both arms play the same candidate sets: only the answerer differs.
  await Promise.all([launch(config, arm(EXACT), images, GAMES_PER_ARM), launch(config, arm(NOISY), images, GAMES_PER_ARM)]);
  const summary = await waitForRunRows(env.clickhouse, env.database, runId, 2 * GAMES_PER_ARM, startedAt, 150_000);
  const seconds = (Date.now() - startedAt) / 1000;
  expect(summary.games).toBe(2 * GAMES_PER_ARM);

  const byModel = new Map<string, GroupedOutcome>(
    (await outcomesBy(env.clickhouse, env.database, ['answerer_model'], { runId })).map((row) => [String(row.answerer_model), row]),
  );
  const exact = byModel.get(EXACT);
  const noisy = byModel.get(NOISY);
  process.stdout.write(
    `e2e quality: ${2 * GAMES_PER_ARM} games in ${seconds.toFixed(1)} s (${((2 * GAMES_PER_ARM) / seconds).toFixed(2)} games/s); ` +
      `success rate ${EXACT} (error 0) ${exact?.successRate.toFixed(3)}, ${NOISY} (error 0.4) ${noisy?.successRate.toFixed(3)}; failures ${JSON.stringify(summary.failed)}\n`,
  );
  expect([...byModel.keys()].sort()).toEqual([EXACT, NOISY].sort());
  expect(exact!.games).toBe(GAMES_PER_ARM);
  expect(noisy!.games).toBe(GAMES_PER_ARM);
  expect(exact!.successRate).toBeGreaterThanOrEqual(0.95);
  expect(noisy!.successRate).toBeLessThanOrEqual(0.8);
  expect(exact!.successRate - noisy!.successRate).toBeGreaterThanOrEqual(0.15);
  // Wrong answers make the questioner pick a wrong image, not break the protocol.
  expect(Object.keys(summary.failed)).toEqual(['wrong_guess']);

  // The grouped numbers are the table's numbers.
  const counts = await tableCounts(env.clickhouse, runId);
  expect(exact!.succeeded + noisy!.succeeded).toBe(counts.succeeded);
  expect(exact!.kept + noisy!.kept).toBe(counts.kept);
}, 240_000);
