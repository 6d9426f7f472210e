import { mkdir, readdir, rm, writeFile } from 'node:fs/promises';
import * as path from 'node:path';
import { seedFrom } from '../datasets/prng';
import { writeAnswererExport, type ExportGame } from './export-writer';
import { loadModel, type TinyVlm } from './model';
import { accuracy, drawGames, labelledQuestions, playGames, scenePools, wilson, type GameSettings, type PlayedGame } from './play';
import { initBaseModel, trainFromExport } from './trainer';
import type { TrainHyper } from './defaults';

/**
 * The self-improvement experiment, in-process mode: M_0 → play G games → keep the successful ones →
 * export them (answerer view, openai format) → `train` (the same function as `dg tiny-vlm train`) →
 * M_1 → ..., measured after every iteration on a frozen set of eval games and on held-out
 * questions, next to a control arm trained on every game unfiltered. Both arms play the same game
 * specs each iteration (common random numbers), so their difference is the filter.
 */

export interface ExperimentOptions {
  iterations: number;
  seed: number;
  gamesPerIteration: number;
  evalGames: number;
  heldOutQuestions: number;
  seedExamples: number;
  settings: GameSettings;
  outDir: string;
  finetune?: TrainHyper;
  /** Sampling temperature of the answerer in the training games (eval games are always greedy). */
  temperature: number;
  /** Train each model on every training game so far (true) or on the games of its iteration only (false, default). */
  cumulative?: boolean;
  log?: (line: string) => void;
}

export { DEFAULT_EXPERIMENT } from './defaults';

export type Arm = 'filtered' | 'control';

export const RESULT_FILE = 'self-improvement.json';

export interface IterationRow {
  arm: Arm;
  iteration: number;
  model: string;
  heldOutAccuracy: number;
  evalSuccesses: number;
  evalGames: number;
  evalSuccessRate: number;
  evalCi: { low: number; high: number };
  /** Games played with the previous model this iteration, and how many went into training. */
  played: number;
  kept: number;
  /** Share of training answers that agree with the ground truth (measurement only). */
  trainingLabelAccuracy: number | null;
  trainingExamples: number;
  trainMillis: number;
}

export interface ExperimentResult {
  mode: 'in-process';
  options: Omit<ExperimentOptions, 'log'>;
  rows: IterationRow[];
}

function evaluate(
  model: TinyVlm,
  ctx: { pools: ReturnType<typeof scenePools>; evalSpecs: ReturnType<typeof drawGames>; heldOut: ReturnType<typeof labelledQuestions>; settings: GameSettings },
): { heldOutAccuracy: number; successes: number } {
  const games = playGames(model, ctx.pools.eval, ctx.evalSpecs, ctx.settings);
  return { heldOutAccuracy: accuracy(model, ctx.heldOut), successes: games.filter((g) => g.success).length };
}

export async function runSelfImprovement(options: ExperimentOptions): Promise<ExperimentResult> {
  const log = options.log ?? (() => undefined);
  const { settings } = options;
  // Wipes only an earlier experiment's output (or an empty directory), never an unrelated folder.
  const existing = await readdir(options.outDir).catch(() => [] as string[]);
  if (existing.length > 0 && !existing.includes(RESULT_FILE)) {
    throw new Error(`experiment: ${options.outDir} is not empty and holds no ${RESULT_FILE} from an earlier run; choose another --out`);
  }
  await rm(options.outDir, { recursive: true, force: true });
  await mkdir(options.outDir, { recursive: true });
  // Marks the directory as this experiment's at once, so that a rerun after an interruption may wipe it.
  await writeFile(path.join(options.outDir, RESULT_FILE), `${JSON.stringify({ mode: 'in-process', status: 'running' })}\n`);
  const pools = scenePools(options.seed);
  const heldOut = labelledQuestions(pools.eval, options.heldOutQuestions, settings, seedFrom(options.seed, 'held-out'));
  const evalSpecs = drawGames(pools.eval.length, options.evalGames, settings, seedFrom(options.seed, 'eval-games'));
  const ctx = { pools, evalSpecs, heldOut, settings };

  const m0Dir = path.join(options.outDir, 'models', 'tiny-m0');
  const m0 = await initBaseModel({ seedExamples: options.seedExamples, seed: options.seed, out: m0Dir, name: 'tiny-m0' });
  const rows: IterationRow[] = [];
  const { model: base } = await loadModel(m0Dir);
  const e0 = evaluate(base, ctx);
  base.dispose();
  for (const arm of ['filtered', 'control'] as const) {
    rows.push({
      arm,
      iteration: 0,
      model: 'tiny-m0',
      heldOutAccuracy: e0.heldOutAccuracy,
      evalSuccesses: e0.successes,
      evalGames: evalSpecs.length,
      evalSuccessRate: e0.successes / evalSpecs.length,
      evalCi: wilson(e0.successes, evalSpecs.length),
      played: 0,
      kept: 0,
      trainingLabelAccuracy: null,
      trainingExamples: m0.training.examples,
      trainMillis: m0.training.millis,
    });
  }
  log(`M_0: held-out accuracy ${(e0.heldOutAccuracy * 100).toFixed(1)}%, eval success ${e0.successes}/${evalSpecs.length}`);

  for (const arm of ['filtered', 'control'] as const) {
    let current = m0Dir;
    const trainingGames: Array<ExportGame & { truths: boolean[] }> = [];
    for (let k = 1; k <= options.iterations; k++) {
      if (!options.cumulative) trainingGames.length = 0;
      const { model } = await loadModel(current);
      const specs = drawGames(pools.train.length, options.gamesPerIteration, settings, seedFrom(options.seed, 'play', k));
      const played: PlayedGame[] = playGames(model, pools.train, specs, settings, options.temperature);
      model.dispose();
      let kept = 0;
      played.forEach((g, i) => {
        const keep = g.success;
        if (keep) kept++;
        if (arm === 'control' || keep) {
          trainingGames.push({
            gameId: `${arm}-${k}-${i}`,
            iteration: k,
            verdict: g.success ? 'success' : 'failure',
            kept: keep,
            png: pools.train[g.spec.candidates[g.spec.targetIndex]!]!.png,
            turns: g.turns,
            truths: g.turns.map((t) => t.truth),
          });
        }
      });
      // M_k is fine-tuned into M_{k+1} on the games M_k played (or on all so far, with `cumulative`).
      const exportDir = path.join(options.outDir, arm, `export-${k}`);
      await writeAnswererExport(exportDir, trainingGames);
      const answers = trainingGames.flatMap((g) => g.turns.map((t, j) => ({ t, truth: g.truths[j]! }))).filter(({ t }) => t.answer !== 'unsure');
      const labelAccuracy = answers.length ? answers.filter(({ t, truth }) => (t.answer === 'yes') === truth).length / answers.length : null;
      const name = `tiny-${arm}-m${k}`;
      const out = path.join(options.outDir, 'models', name);
      const manifest = await trainFromExport({ data: exportDir, base: current, out, name, heldOut, ...(options.finetune ? { hyper: options.finetune } : {}) });
      current = out;
      const { model: next } = await loadModel(current);
      const e = evaluate(next, ctx);
      next.dispose();
      const row: IterationRow = {
        arm,
        iteration: k,
        model: name,
        heldOutAccuracy: e.heldOutAccuracy,
        evalSuccesses: e.successes,
        evalGames: evalSpecs.length,
        evalSuccessRate: e.successes / evalSpecs.length,
        evalCi: wilson(e.successes, evalSpecs.length),
        played: played.length,
        kept,
        trainingLabelAccuracy: labelAccuracy,
        trainingExamples: manifest.training.examples,
        trainMillis: manifest.training.millis,
      };
      rows.push(row);
      log(
        `${arm} M_${k}: held-out ${(e.heldOutAccuracy * 100).toFixed(1)}%, eval success ${e.successes}/${evalSpecs.length}, kept ${kept}/${played.length}, label acc ${labelAccuracy === null ? '-' : (labelAccuracy * 100).toFixed(1)}%, ${manifest.training.examples} ex in ${manifest.training.millis} ms`,
      );
    }
  }
  const { log: _log, ...recorded } = options;
  const result: ExperimentResult = { mode: 'in-process', options: recorded, rows };
  await writeFile(path.join(options.outDir, RESULT_FILE), `${JSON.stringify(result, null, 2)}\n`);
  return result;
}
