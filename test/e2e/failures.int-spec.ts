import type { GameRequested } from '../../schemas/generated/events';
import { gameSummary } from '../../services/analytics';
import type { ConfigOverrides } from '../../services/core/config';
import type { DatasetImage } from '../../services/datasets/dataset';
import { buildGameRequest } from '../../services/launcher/game-requests';
import { planFrom } from '../../services/launcher/launcher';
import { startSimVlm, type SimVlmServer } from '../../services/sim-vlm/server';
import { createE2eEnvironment, topicMessageCount, type E2eEnvironment } from '../helpers/e2e-env';
import { datasetLines, gameRecords, launch, publishRequests, syntheticImages, waitForRunRows, type GameRecord } from '../helpers/e2e-games';
import { closedPort, startRecordingProxy } from '../helpers/e2e-vlm';

/**
 * Failures are named and isolated: a model that answers nonsense, an image that is missing or not
 * the bytes its hash promises, a model slower than the game's deadline, an endpoint nobody listens
 * on. Each game ends with a verdict naming what went wrong, the other games of the same run play
 * on, and nothing reaches the dead-letter topic.
 */

const NONSENSE = 'Lorem ipsum dolor sit amet, consectetur adipiscing elit.';
const NONSENSE_MODEL = 'nonsense-vlm';
const SIM_MODEL = 'sim-vlm';

let sim: SimVlmServer;
let images: DatasetImage[];

beforeAll(async () => {
  sim = await startSimVlm({ port: 0 });
}, 30_000);

afterAll(async () => {
  await sim?.close();
}, 30_000);

describe('unparseable model output, unusable images and missed deadlines, mixed into a run of good games', () => {
  let env: E2eEnvironment;
  let overrides: ConfigOverrides;

  beforeAll(async () => {
    env = await createE2eEnvironment('failures');
    // Requests for the nonsense model never reach the simulator: the proxy answers them with prose.
    const proxy = await startRecordingProxy({ upstreamBaseUrl: sim.baseUrl, reply: (r) => (r.model === NONSENSE_MODEL ? NONSENSE : undefined) });
    env.track(() => proxy.close());
    overrides = { QUESTIONER_BASE_URL: proxy.baseUrl, ANSWERER_BASE_URL: proxy.baseUrl };
    await env.startRoles(overrides);
    images = await syntheticImages(env.config(overrides));
  }, 60_000);

  afterAll(async () => {
    await env?.cleanup();
  }, 60_000);

  it('ends each broken game with its named failure while the good games of the run succeed', async () => {
    const config = env.config(overrides);
    const runId = `${env.topicPrefix}mixed`;
    const plan = (answererModel: string, questionerModel = SIM_MODEL) =>
      planFrom(config, { datasetName: 'synthetic-v1', runId, seed: 1_618, candidates: 4, maxTurns: 10, questionerModel, answererModel });

    const broken = brokenImageRequests(plan(SIM_MODEL), env.topicPrefix);
    // A one-second deadline and an answerer that takes longer than that for every answer.
    const tooSlow = planFrom(env.config({ ...overrides, DG_GAME_DEADLINE_MS: 1_000 }), {
      datasetName: 'synthetic-v1',
      runId,
      seed: 1_618,
      answererModel: `${SIM_MODEL}@latency=1500`,
    });
    const startedAt = Date.now();
    const [good, nonsenseAnswers, nonsenseQuestions, late] = await Promise.all([
      launch(config, plan(SIM_MODEL), images, 20),
      launch(config, plan(NONSENSE_MODEL), images, 4, 100),
      launch(config, plan(SIM_MODEL, NONSENSE_MODEL), images, 4, 200),
      launch(config, tooSlow, images, 3, 400),
      publishRequests(
        config,
        broken.map((b) => b.request),
      ),
    ]);
    const total = good.length + nonsenseAnswers.length + nonsenseQuestions.length + late.length + broken.length;
    const summary = await waitForRunRows(env.clickhouse, env.database, runId, total, startedAt, 90_000);
    expect(summary.games).toBe(total);
    const byId = new Map((await gameRecords(env.clickhouse, runId)).map((r) => [r.game_id, r]));
    const outcome = (r: GameRecord) => [r.verdict, r.failure_reason, r.ending_kind, r.ended_by];

    for (const id of good) expect(outcome(byId.get(id)!)).toEqual(['success', '', 'guess', 'questioner']);
    for (const id of nonsenseAnswers) {
      expect(outcome(byId.get(id)!)).toEqual(['failure', 'unparseable_output', 'unparseable_output', 'answerer']);
      expect(byId.get(id)!.judgement_detail).toContain('Lorem ipsum');
    }
    for (const id of nonsenseQuestions) {
      expect(outcome(byId.get(id)!)).toEqual(['failure', 'unparseable_output', 'unparseable_output', 'questioner']);
      expect(byId.get(id)!.judgement_detail).toContain('Lorem ipsum');
    }
    for (const id of late) {
      const record = byId.get(id)!;
      expect([record.verdict, record.failure_reason, record.ending_kind]).toEqual(['failure', 'timeout', 'timeout']);
      expect(record.judgement_detail).toMatch(/deadline/);
    }
    for (const { request, badImageId, endedBy } of broken) {
      const record = byId.get(request.game.header.gameId)!;
      expect(outcome(record)).toEqual(['failure', 'bad_input', 'bad_image', endedBy]);
      expect(record.judgement_detail).toContain(badImageId);
    }

    expect(summary.failed).toEqual({ unparseable_output: nonsenseAnswers.length + nonsenseQuestions.length, bad_input: broken.length, timeout: late.length });
    expect(summary.succeeded).toBe(good.length);
    expect((await datasetLines(env.dataDir)).map((l) => l.gameId).sort()).toEqual([...good].sort());
    expect(await topicMessageCount(env.admin, env.topic('deadLetter'))).toBe(0);
  }, 150_000);
});

describe('an answerer endpoint nobody listens on', () => {
  let env: E2eEnvironment;

  beforeAll(async () => {
    env = await createE2eEnvironment('unreachable');
  }, 60_000);

  afterAll(async () => {
    await env?.cleanup();
  }, 60_000);

  it('ends its games as model_error naming the endpoint, and the same roles play on once it answers', async () => {
    const port = await closedPort();
    const overrides: ConfigOverrides = { QUESTIONER_BASE_URL: sim.baseUrl, ANSWERER_BASE_URL: `http://127.0.0.1:${port}/v1` };
    await env.startRoles(overrides);
    const config = env.config(overrides);
    const scenes = await syntheticImages(config);
    const plan = (runId: string) => planFrom(config, { datasetName: 'synthetic-v1', runId, seed: 4_669, candidates: 4, maxTurns: 10 });

    const downRun = `${env.topicPrefix}down`;
    let startedAt = Date.now();
    const down = await launch(config, plan(downRun), scenes, 4);
    const downSummary = await waitForRunRows(env.clickhouse, env.database, downRun, down.length, startedAt, 60_000);
    expect(downSummary.failed).toEqual({ model_error: down.length });
    for (const record of await gameRecords(env.clickhouse, downRun)) {
      expect([record.verdict, record.failure_reason, record.ending_kind, record.ended_by]).toEqual(['failure', 'model_error', 'model_error', 'answerer']);
      expect(record.judgement_detail).toContain(`127.0.0.1:${port}`);
      expect(record.judgement_detail).toMatch(/connection failed/);
    }

    // The endpoint comes up on that port: the roles that saw it fail carry on with the next games.
    const proxy = await startRecordingProxy({ upstreamBaseUrl: sim.baseUrl, port });
    env.track(() => proxy.close());
    const upRun = `${env.topicPrefix}up`;
    startedAt = Date.now();
    const up = await launch(config, plan(upRun), scenes, 4, 10);
    await waitForRunRows(env.clickhouse, env.database, upRun, up.length, startedAt, 60_000);
    expect(await gameSummary(env.clickhouse, env.database, { runId: upRun })).toMatchObject({ games: up.length, succeeded: up.length });
    expect(await topicMessageCount(env.admin, env.topic('deadLetter'))).toBe(0);
  }, 150_000);
});

interface BrokenRequest {
  request: GameRequested;
  badImageId: string;
  endedBy: 'questioner' | 'answerer';
}

/**
 * Games whose images cannot be used: a distractor whose file does not exist, a target whose bytes
 * do not match its sha256 (both found by the questioner, which loads every candidate), and a
 * describeFirst game with that target (found by the answerer, which opens the game).
 */
function brokenImageRequests(plan: ReturnType<typeof planFrom>, prefix: string): BrokenRequest[] {
  const now = Date.now();
  const missing = buildGameRequest(plan, images, 300, now, `${prefix}missing-distractor`);
  const distractorIndex = (missing.game.setup.targetIndex + 1) % missing.game.setup.candidates.length;
  missing.game.setup.candidates[distractorIndex] = {
    ...missing.game.setup.candidates[distractorIndex]!,
    id: 'missing-scene',
    uri: 'file:///nonexistent/dg-e2e/missing-scene.png',
  };

  const wrongHash = (gameId: string, index: number, describeFirst: boolean): GameRequested => {
    const request = buildGameRequest({ ...plan, describeFirst }, images, index, now, gameId);
    const target = request.game.setup.candidates[request.game.setup.targetIndex]!;
    request.game.setup.candidates[request.game.setup.targetIndex] = { ...target, id: 'tampered-scene', sha256: '0'.repeat(64) };
    return request;
  };

  return [
    { request: missing, badImageId: 'missing-scene', endedBy: 'questioner' },
    { request: wrongHash(`${prefix}wrong-hash-target`, 301, false), badImageId: 'tampered-scene', endedBy: 'questioner' },
    { request: wrongHash(`${prefix}wrong-hash-describe-first`, 302, true), badImageId: 'tampered-scene', endedBy: 'answerer' },
  ];
}
