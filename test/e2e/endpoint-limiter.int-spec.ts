import { endpointLimiterSnapshots, type EndpointLimiterSnapshot } from '../../services/core/model-client';
import { planFrom } from '../../services/launcher/launcher';
import { startSimVlm } from '../../services/sim-vlm/server';
import { createE2eEnvironment, type E2eEnvironment } from '../helpers/e2e-env';
import { gameRecords, launch, syntheticImages, tableCounts, waitForRunRows } from '../helpers/e2e-games';
import { pollUntil } from '../helpers/e2e-wait';

/**
 * The adaptive limiter against an endpoint of unknown capacity: the SIMULATOR answers 429 at once
 * above 16 requests in flight (a saturated server), the roles may go up to 64 and start at 4, and
 * far more games are in flight than the endpoint can serve. The shared limiter of the process
 * (questioner and answerer call the same endpoint and model) must find the cap and stay there:
 * its limit settles at or below 16, the endpoint stays busy (mean in flight >= 12, from the
 * simulator's time integral of in-flight calls), and every game still reaches a verdict.
 */

const CAP = 16;
const CEILING = 64;
const GAMES = 200;
/** How long the limit is watched once it has found the cap. */
const WINDOW_MS = 8_000;

let env: E2eEnvironment;

beforeAll(async () => {
  env = await createE2eEnvironment('limiter');
}, 60_000);

afterAll(async () => {
  await env?.cleanup();
}, 60_000);

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

it(`settles at or below a simulator cap of ${CAP} with a ceiling of ${CEILING}, keeps the endpoint busy and finishes all ${GAMES} games`, async () => {
  // Latency makes the endpoint, not Kafka, the bottleneck (16 slots of ~800 ms is ~20 calls/s), and
  // keeps the per-call overhead outside the simulator (request building, HTTP, a CPU shared with
  // everything else) small against the time a call holds a slot.
  const sim = await startSimVlm({ port: 0, defaults: { latencyMs: 800, latencyJitterMs: 100, maxConcurrency: CAP } });
  env.track(() => sim.close());
  const overrides = {
    QUESTIONER_BASE_URL: sim.baseUrl,
    ANSWERER_BASE_URL: sim.baseUrl,
    QUESTIONER_CONCURRENCY: 4,
    ANSWERER_CONCURRENCY: 4,
    QUESTIONER_MAX_CONCURRENCY: CEILING,
    ANSWERER_MAX_CONCURRENCY: CEILING,
    // Enough games handled at once that model calls always wait for the endpoint.
    DG_MAX_IN_FLIGHT: CEILING,
  };
  await env.startRoles(overrides);
  const config = env.config(overrides);
  const images = await syntheticImages(config);
  const plan = planFrom(config, { datasetName: 'synthetic-v1', runId: `${env.topicPrefix}limiter`, seed: 1_607 });
  const limiter = (): EndpointLimiterSnapshot => {
    const found = endpointLimiterSnapshots().filter((s) => s.endpoint === sim.baseUrl);
    expect(found).toHaveLength(1); // one limiter for both roles: same endpoint, same model
    return found[0]!;
  };

  const startedAt = Date.now();
  const gameIds = await launch(config, plan, images, GAMES);
  // Found the cap: the limit has come down at least once from a 429 of the saturated simulator.
  await pollUntil(
    'the limiter to meet the simulator cap',
    async () => limiter(),
    (s) => s.decreases >= 1,
    { timeoutMs: 90_000, intervalMs: 50 },
  );
  const foundAfterMs = Date.now() - startedAt;

  // Watch a window: the limit every 50 ms, in-flight as the simulator's time integral.
  const before = sim.stats();
  const limits: number[] = [];
  const clientInFlight: number[] = [];
  const windowEnd = Date.now() + WINDOW_MS;
  while (Date.now() < windowEnd) {
    const s = limiter();
    limits.push(s.limit);
    clientInFlight.push(s.inFlight);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  const after = sim.stats();
  const snapshot = limiter();
  const finishedAtWindowEnd = (await tableCounts(env.clickhouse, plan.runId)).games;
  const meanInFlight = (after.inFlightIntegralMs - before.inFlightIntegralMs) / (after.atMs - before.atMs);
  const settled = median(limits);
  const p90 = [...limits].sort((a, b) => a - b)[Math.floor(limits.length * 0.9)]!;

  const summary = await waitForRunRows(env.clickhouse, env.database, plan.runId, GAMES, startedAt, 300_000);
  const served = sim.stats().models[plan.questioner.model]!.served;
  process.stdout.write(
    `e2e limiter (machine shared, figures indicative): cap ${CAP}, ceiling ${CEILING}, start 4; cap found after ${(foundAfterMs / 1000).toFixed(1)} s; ` +
      `over ${WINDOW_MS / 1000} s: limit median ${settled}, p90 ${p90}, min ${Math.min(...limits)}, max ${Math.max(...limits)}; ` +
      `simulator mean in flight ${meanInFlight.toFixed(2)}, peak ${after.peakInFlight}; client-side mean in flight ${(clientInFlight.reduce((a, b) => a + b, 0) / clientInFlight.length).toFixed(2)}; limiter queue at window end ${snapshot.queued}, ` +
      `increases ${snapshot.increases}, decreases ${snapshot.decreases}; calls served ${JSON.stringify(served)}; ` +
      `games finished at window end ${finishedAtWindowEnd}, all ${GAMES} in ${((Date.now() - startedAt) / 1000).toFixed(1)} s\n`,
  );

  // The window was measured under demand: calls were still queueing for the endpoint at its end.
  expect(finishedAtWindowEnd).toBeLessThan(GAMES - CAP);
  expect(snapshot.queued).toBeGreaterThan(0);
  // The limiter found the cap within a bounded time and settled at or below it.
  expect(foundAfterMs).toBeLessThan(90_000);
  expect(settled).toBeLessThanOrEqual(CAP);
  expect(settled).toBeGreaterThanOrEqual(CAP / 2);
  // The endpoint stayed busy, never busier than its cap.
  expect(meanInFlight).toBeGreaterThanOrEqual(12);
  expect(after.peakInFlight).toBeLessThanOrEqual(CAP);
  // No game starved: every one reached a verdict.
  expect(summary).toMatchObject({ games: GAMES, missing: 0 });
  const records = await gameRecords(env.clickhouse, plan.runId);
  expect(records.map((r) => r.game_id).sort()).toEqual([...gameIds].sort());
  expect(records.filter((r) => r.failure_reason === 'model_error')).toEqual([]);
}, 420_000);
