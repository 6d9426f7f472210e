import type { INestApplicationContext } from '@nestjs/common';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { planFrom } from '../launcher/launcher';
import type { RunSummary } from '../launcher/run-summary';
import { startSimVlm } from '../sim-vlm/server';
import { createE2eEnvironment, type E2eEnvironment } from '../../test/helpers/e2e-env';
import { gameRecords, launch, syntheticImages, waitForRunRows, type GameRecord } from '../../test/helpers/e2e-games';
import { INIT_HYPER } from './defaults';
import { startTinyVlmServer, type TinyVlmServer } from './server';
import { initBaseModel } from './trainer';

/**
 * TinyVLM as the answerer of the real pipeline: games through Kafka, every role in process, the
 * simulator as questioner and `dg tiny-vlm serve`'s server as the answerer's endpoint, the model
 * chosen by NAME per game (plan.answerer.model), as `dg iterate` switches models.
 */

const GAMES = 12;
const RUN_TIMEOUT_MS = 240_000;

let dir: string;
let env: E2eEnvironment;
let tiny: TinyVlmServer;
let app: INestApplicationContext;
let summary: RunSummary;
let records: GameRecord[];

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'tiny-vlm-int-'));
  // A quickly trained M_0 (fewer examples and epochs than the default): the pipeline is under test here.
  await initBaseModel({ seedExamples: 300, seed: 7, out: path.join(dir, 'models', 'tiny-int-m0'), hyper: { ...INIT_HYPER, epochs: 6 }, heldOut: 50 });
  env = await createE2eEnvironment('tinyvlm');
  const sim = await startSimVlm({ port: 0, defaults: { errorRate: 0 } });
  env.track(() => sim.close());
  tiny = await startTinyVlmServer({ modelsDir: path.join(dir, 'models'), port: 0 });
  env.track(() => tiny.close());
  const overrides = { QUESTIONER_BASE_URL: sim.baseUrl, ANSWERER_BASE_URL: tiny.baseUrl };
  app = await env.startRoles(overrides);
  const config = env.config(overrides);
  const images = await syntheticImages(config);
  const plan = planFrom(config, {
    datasetName: 'synthetic-v1',
    seed: 2_718,
    candidates: 4,
    maxTurns: 3,
    runId: `${env.topicPrefix}tiny`,
    answererModel: 'tiny-int-m0',
  });
  const startedAt = Date.now();
  await launch(config, plan, images, GAMES);
  summary = await waitForRunRows(env.clickhouse, env.database, plan.runId, GAMES, startedAt, RUN_TIMEOUT_MS);
  records = await gameRecords(env.clickhouse, plan.runId);
}, RUN_TIMEOUT_MS + 240_000);

afterAll(async () => {
  await env?.cleanup();
  if (dir) await rm(dir, { recursive: true, force: true });
}, 60_000);

describe('TinyVLM as the answerer through Kafka', () => {
  it('plays every game to a verdict: its answers parse, and the games record it as the answerer model', () => {
    expect(app).toBeDefined();
    expect(summary).toMatchObject({ requested: GAMES, games: GAMES, missing: 0 });
    // Every failure is a wrong guess, never a model error or an unparseable answer.
    expect(Object.keys(summary.failed).filter((reason) => reason !== 'wrong_guess')).toEqual([]);
    expect(records).toHaveLength(GAMES);
    for (const r of records) {
      expect(r.answerer_model).toBe('tiny-int-m0');
      expect(r.questions_asked).toBeGreaterThan(0);
    }
    expect(summary.succeeded).toBeGreaterThan(0);
  });
});
