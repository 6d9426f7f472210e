import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import * as path from 'node:path';
import { startRoles } from '../role-runtime/role-app';
import { ClickHouseConnection, migrateClickHouse } from '../core/clickhouse';
import { loadConfig } from '../core/config';
import { configureLogging } from '../core/logging';
import { ROLE_NAMES } from '../core/bus/role-names';
import { seedFrom } from '../datasets/prng';
import { ensureSyntheticDataset } from '../datasets/synthetic';
import { buildEvalSet, saveEvalSet } from '../iterations/eval-sets';
import { iterate, type IterationRow } from '../iterations/iterate';
import { startSimVlm } from '../sim-vlm/server';
import { DEFAULT_GAME_SETTINGS, DEFAULT_PIPELINE_SCENES } from './defaults';
import type { Arm, IterationRow as ExperimentRow } from './experiment';
import { auditAnswererExport } from './label-audit';
import { loadModel, MANIFEST_FILE } from './model';
import { accuracy, labelledQuestions, scenePools, wilson } from './play';
import { startTinyVlmServer } from './server';
import { initBaseModel } from './trainer';

/**
 * `dg experiment self-improvement --mode pipeline`: the same experiment as the in-process mode's
 * filtered arm, but through the project's real loop: every role in this process on the configured
 * Kafka / registry / ClickHouse, sim-vlm (a simulator) as the questioner, one `tiny-vlm serve`
 * endpoint as the answerer, a frozen eval set (`dg eval create`), and `dg iterate` with the hook
 * `dg tiny-vlm train --models-dir … --base {parent_model} --data {dataset}` in a child process.
 * Training games sample (`NAME@t=X`), eval games are greedy; each model trains on every kept game
 * so far (`--train-on all`) unless cumulative is off. The control arm runs a second loop with
 * `--include-failed` (every judged game, unfiltered) from the same M_0, eval set and play seeds.
 *
 * The games are played on a synthetic dataset of its own (default 2,000 scenes, so ~1,600 training
 * and ~400 eval-split scenes), the scale of the in-process mode's pools (1,200 / 400): on the
 * bundled synthetic-v1 (500 scenes: ~400 / ~100) the 300 eval games reuse ~100 scenes and the
 * cumulative training data repeats the same ~400 scenes, which made the pipeline's gains smaller
 * and noisier than in-process (session 14 notes).
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
  /** Scenes of the experiment's own synthetic dataset (20% of them form its eval split). */
  scenes?: number;
  /** Run the unfiltered control arm too (default true). */
  control?: boolean;
  heldOutQuestions?: number;
  log: (line: string) => void;
}

export interface PipelineExperimentResult {
  mode: 'pipeline';
  dataset: string;
  evalSet: string;
  loops: Partial<Record<Arm, string>>;
  options: Omit<PipelineExperimentOptions, 'log'>;
  /** In the in-process mode's row shape (one table and chart for both modes). */
  rows: ExperimentRow[];
  /** dg iterate's own rows per arm. */
  iterateRows: Partial<Record<Arm, IterationRow[]>>;
  millis: number;
}

export const PIPELINE_RESULT_FILE = 'self-improvement-pipeline.json';
export { DEFAULT_PIPELINE_SCENES } from './defaults';

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
    const scenes = options.scenes ?? DEFAULT_PIPELINE_SCENES;
    // Scenes of their own seed (not M_0's seed-set scenes, which come from scenePools(seed)).
    const datasetName = `tiny-vlm-s${options.seed}-n${scenes}`;
    const dataset = await ensureSyntheticDataset(path.join(config.paths.datasetsDir, datasetName), {
      name: datasetName,
      count: scenes,
      seed: seedFrom(options.seed, 'pipeline-dataset') % 2_000_000_000,
    });
    log(`dataset ${datasetName}: ${dataset.images.length} scenes under ${config.paths.datasetsDir}`);
    app = await startRoles(config, ROLE_NAMES);
    const evalSet = `tiny-eval-${datasetName}-g${options.evalGames}`;
    const ch = new ClickHouseConnection({ ...config.clickhouse });
    try {
      const outcome = await saveEvalSet(
        ch,
        config.clickhouse.database,
        buildEvalSet({ name: evalSet, games: options.evalGames, seed: options.seed, numCandidates: 4, maxTurns: 3, questionMode: 'yesno' }, dataset),
      );
      log(`eval set ${evalSet}: ${outcome}`);
    } finally {
      await ch.close();
    }
    const arms: Arm[] = options.control === false ? ['filtered'] : ['filtered', 'control'];
    const loops: Partial<Record<Arm, string>> = {};
    const iterateRows: Partial<Record<Arm, IterationRow[]>> = {};
    for (const arm of arms) {
      const hook = `TINY_VLM_BASE_URL={endpoint} ${process.execPath} ${dgBin()} tiny-vlm train --models-dir ${modelsDir} --base {parent_model} --data {dataset} --name tiny-s${options.seed}-${arm}-m{iteration}`;
      log(`arm ${arm}: dg iterate${arm === 'control' ? ' --include-failed' : ''}`);
      const { loopId, rows } = await iterate(
        config,
        {
          fromModel: m0,
          iterations: options.iterations,
          gamesPerIteration: options.gamesPerIteration,
          hook,
          view: 'answerer',
          role: 'answerer',
          evalSet,
          dataset: datasetName,
          format: 'openai',
          outDir: path.join(outDir, arm, 'iterate'),
          candidates: 4,
          maxTurns: 3,
          seed: options.seed,
          trainOn: options.cumulative ? 'all' : 'current',
          ...(options.temperature > 0 ? { playModelSuffix: `@t=${options.temperature}` } : {}),
          ...(arm === 'control' ? { includeFailed: true } : {}),
        },
        (line) => log(`[${arm}] ${line}`),
      );
      loops[arm] = loopId;
      iterateRows[arm] = rows;
    }
    const rows = await experimentRows(options, outDir, modelsDir, iterateRows);
    const { log: _log, ...recorded } = options;
    const result: PipelineExperimentResult = {
      mode: 'pipeline',
      dataset: datasetName,
      evalSet,
      loops,
      options: { ...recorded, outDir },
      rows,
      iterateRows,
      millis: Date.now() - startedAt,
    };
    await mkdir(outDir, { recursive: true });
    await writeFile(path.join(outDir, PIPELINE_RESULT_FILE), `${JSON.stringify(result, null, 2)}\n`);
    return result;
  } finally {
    await app?.close();
    await tiny.close();
    await sim.close();
  }
}

/**
 * dg iterate's rows in the in-process mode's shape, plus what only the model directories and the
 * exports know: held-out answer accuracy (ground-truth questions on scenes no arm plays on), training
 * examples and time from each manifest, and the share of right answers in each training export.
 */
async function experimentRows(
  options: PipelineExperimentOptions,
  outDir: string,
  modelsDir: string,
  iterateRows: Partial<Record<Arm, IterationRow[]>>,
): Promise<ExperimentRow[]> {
  const heldOut = labelledQuestions(scenePools(options.seed).eval, options.heldOutQuestions ?? 400, DEFAULT_GAME_SETTINGS, seedFrom(options.seed, 'held-out'));
  const out: ExperimentRow[] = [];
  for (const [arm, rows] of Object.entries(iterateRows) as Array<[Arm, IterationRow[]]>) {
    for (const r of rows) {
      if (r.eval_success === null || r.model === '-') continue;
      const { model, manifest } = await loadModel(path.join(modelsDir, r.model));
      const heldOutAccuracy = accuracy(model, heldOut);
      model.dispose();
      const previous = rows.find((p) => p.iteration === r.iteration - 1);
      const audit =
        r.iteration > 0 ? await auditAnswererExport(path.join(outDir, arm, 'iterate', `iteration-${r.iteration - 1}`)).catch(() => undefined) : undefined;
      const successes = Math.round(r.eval_success * options.evalGames);
      out.push({
        arm,
        iteration: r.iteration,
        model: r.model,
        heldOutAccuracy,
        evalSuccesses: successes,
        evalGames: options.evalGames,
        evalSuccessRate: successes / options.evalGames,
        evalCi: wilson(successes, options.evalGames),
        // Successful games of the play iteration that trained this model (the control arm's games
        // repeat the filtered arm's at iteration 0, and the filter marks repeats as not kept).
        played: r.iteration > 0 ? options.gamesPerIteration : 0,
        kept: r.iteration > 0 ? (audit?.byIteration[String(r.iteration - 1)]?.successes ?? previous?.kept_games ?? 0) : 0,
        trainingLabelAccuracy: audit && audit.answers > 0 ? audit.correct / audit.answers : null,
        trainingExamples: manifest.training.examples,
        trainMillis: manifest.training.millis,
      });
    }
  }
  return out;
}
