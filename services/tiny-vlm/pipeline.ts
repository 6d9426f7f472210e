import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import * as path from 'node:path';
import { startRoles } from '../role-runtime/role-app';
import { ClickHouseConnection, migrateClickHouse } from '../core/clickhouse';
import { loadConfig } from '../core/config';
import { configureLogging } from '../core/logging';
import { ROLE_NAMES } from '../core/bus/role-names';
import { loadDataset } from '../datasets/resolve';
import { buildEvalSet, saveEvalSet } from '../iterations/eval-sets';
import { iterate, type IterationRow } from '../iterations/iterate';
import { startSimVlm } from '../sim-vlm/server';
import { MANIFEST_FILE } from './model';
import { startTinyVlmServer } from './server';
import { initBaseModel } from './trainer';

/**
 * `dg experiment self-improvement --mode pipeline`: the same experiment as the in-process mode's
 * filtered arm, but through the project's real loop: every role in this process on the configured
 * Kafka / registry / ClickHouse, sim-vlm (a simulator) as the questioner, one `tiny-vlm serve`
 * endpoint as the answerer, a frozen eval set (`dg eval create`), and `dg iterate` with the hook
 * `dg tiny-vlm train --models-dir … --base {parent_model} --data {dataset}` in a child process.
 * Training games sample (`NAME@t=X`), eval games are greedy; each model trains on every kept game
 * so far (`--train-on all`) unless cumulative is off. No control arm in this mode.
 */

export interface PipelineExperimentOptions {
  iterations: number;
  gamesPerIteration: number;
  evalGames: number;
  seedExamples: number;
  seed: number;
  temperature: number;
  cumulative: boolean;
  outDir: string;
  log: (line: string) => void;
}

export interface PipelineExperimentResult {
  mode: 'pipeline';
  loopId: string;
  evalSet: string;
  options: Omit<PipelineExperimentOptions, 'log'>;
  rows: IterationRow[];
  millis: number;
}

/** bin/dg of this checkout (from services/tiny-vlm or dist/services/tiny-vlm). */
function dgBin(): string {
  for (let dir = __dirname; dir !== path.dirname(dir); dir = path.dirname(dir)) {
    const candidate = path.join(dir, 'bin', 'dg');
    if (existsSync(candidate)) return candidate;
  }
  throw new Error(`tiny-vlm: bin/dg not found above ${__dirname}`);
}

export async function runPipelineExperiment(options: PipelineExperimentOptions): Promise<PipelineExperimentResult> {
  const startedAt = Date.now();
  const { log } = options;
  const outDir = path.resolve(options.outDir);
  const modelsDir = path.join(outDir, 'models');
  const m0 = `tiny-s${options.seed}-m0`;
  if (!existsSync(path.join(modelsDir, m0, MANIFEST_FILE))) {
    log(`training M_0 ${m0} on ${options.seedExamples} labelled seed questions`);
    await initBaseModel({ seedExamples: options.seedExamples, seed: options.seed, out: path.join(modelsDir, m0), name: m0 });
  }
  const sim = await startSimVlm({ port: 0, defaults: { errorRate: 0 } });
  const tiny = await startTinyVlmServer({ modelsDir, port: 0 });
  const overrides = { QUESTIONER_BASE_URL: sim.baseUrl, ANSWERER_BASE_URL: tiny.baseUrl, ANSWERER_TEMPERATURE: '0' };
  const config = loadConfig(process.env, overrides);
  configureLogging({ level: config.log.level, format: config.log.format });
  log(`simulator questioner ${sim.baseUrl}, TinyVLM answerer ${tiny.baseUrl}, topics ${config.topics.prefix}*, ClickHouse ${config.clickhouse.database}`);
  let app: Awaited<ReturnType<typeof startRoles>> | undefined;
  try {
    await migrateClickHouse({ ...config.clickhouse });
    app = await startRoles(config, ROLE_NAMES);
    const evalSet = `tiny-eval-s${options.seed}-n${options.evalGames}`;
    const dataset = await loadDataset('synthetic-v1', { datasetsDir: config.paths.datasetsDir });
    const ch = new ClickHouseConnection({ ...config.clickhouse });
    try {
      const outcome = await saveEvalSet(ch, config.clickhouse.database, buildEvalSet({ name: evalSet, games: options.evalGames, seed: options.seed, numCandidates: 4, maxTurns: 3, questionMode: 'yesno' }, dataset));
      log(`eval set ${evalSet}: ${outcome}`);
    } finally {
      await ch.close();
    }
    const hook = `TINY_VLM_BASE_URL={endpoint} ${process.execPath} ${dgBin()} tiny-vlm train --models-dir ${modelsDir} --base {parent_model} --data {dataset} --name tiny-s${options.seed}-m{iteration}`;
    const { loopId, rows } = await iterate(
      config,
      {
        fromModel: m0, iterations: options.iterations, gamesPerIteration: options.gamesPerIteration, hook, view: 'answerer', role: 'answerer', evalSet,
        dataset: 'synthetic-v1', format: 'openai', outDir: path.join(outDir, 'iterate'), candidates: 4, maxTurns: 3, seed: options.seed,
        trainOn: options.cumulative ? 'all' : 'current',
        ...(options.temperature > 0 ? { playModelSuffix: `@t=${options.temperature}` } : {}),
      },
      log,
    );
    const { log: _log, ...recorded } = options;
    const result: PipelineExperimentResult = { mode: 'pipeline', loopId, evalSet, options: { ...recorded, outDir }, rows, millis: Date.now() - startedAt };
    await mkdir(outDir, { recursive: true });
    await writeFile(path.join(outDir, 'self-improvement-pipeline.json'), `${JSON.stringify(result, null, 2)}\n`);
    return result;
  } finally {
    await app?.close();
    await tiny.close();
    await sim.close();
  }
}
