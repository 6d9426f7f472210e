import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { ClickHouseConnection, sql, table, valueList } from '../core/clickhouse';
import type { DgConfig } from '../core/config';
import { loadDataset } from '../datasets/resolve';
import { exportDataset, exportFileName } from '../export/export';
import type { ExportFormat } from '../export/formats';
import type { ExportView } from '../export/views';
import { trainingDataset } from '../launcher/holdout';
import { endOverdueGames, launchGames, planFrom, standaloneBus } from '../launcher/launcher';
import { judgedGameIds, waitForRun } from '../launcher/run-summary';
import { newEvalRunId, runEvalSet, type EvalRunResult } from './eval-run';
import { getModel, registerModel, untrainedModelRecord } from './registry';

export type LoopRole = 'questioner' | 'answerer';

export interface IterateSpec {
  fromModel: string;
  iterations: number;
  gamesPerIteration: number;
  hook: string;
  view: ExportView;
  role: LoopRole;
  evalSet: string;
  dataset: string;
  format: ExportFormat;
  outDir: string;
  candidates: number;
  maxTurns: number;
  seed: number;
  /**
   * What each hook trains on: 'current' (default) = the kept games of this iteration only; 'all' =
   * the kept games of every training iteration of this loop so far (0..k), cumulative.
   */
  trainOn?: TrainOn;
  /**
   * Appended to the model name in the training games only (e.g. '@t=1', which `dg tiny-vlm serve`
   * reads as "sample at temperature 1"); eval games and the registry use the plain name.
   */
  playModelSuffix?: string;
  /**
   * Train on every judged game of the training iterations, failed and rejected ones included
   * (`dg export --include-failed`): the unfiltered control arm of a self-improvement experiment.
   */
  includeFailed?: boolean;
}

export type TrainOn = 'current' | 'all';

/** The training iterations whose kept games iteration k's hook trains on. */
export function trainIterations(trainOn: TrainOn | undefined, k: number): number[] {
  return trainOn === 'all' ? Array.from({ length: k + 1 }, (_, i) => i) : [k];
}

type Step = 'play' | 'export' | 'hook' | 'register' | 'eval' | 'done';

interface IterationState {
  step: Step;
  playRunId: string;
  launched: boolean;
  exported?: { dir: string; file: string; games: number; contentHash: string };
  hookOutput?: { name: string; endpoint: string; line: string };
  evalRunId?: string;
  evalResult?: EvalRunResult;
}

interface LoopState {
  baseEvalRunId?: string;
  baseEval?: EvalRunResult;
  iterations: Record<number, IterationState>;
}

export interface IterationRow {
  iteration: number;
  model: string;
  eval_success: number | null;
  ci_low: number | null;
  ci_high: number | null;
  kept_games: number | null;
  cost_usd: number;
}

/** The loop's identity: the same command line resumes the same loop. */
export function loopIdOf(spec: IterateSpec): string {
  // Options at their defaults are left out, so loops started before they existed keep their id.
  const { outDir: _outDir, trainOn, playModelSuffix, includeFailed, ...rest } = spec;
  const identity = {
    ...rest,
    ...(trainOn && trainOn !== 'current' ? { trainOn } : {}),
    ...(playModelSuffix ? { playModelSuffix } : {}),
    ...(includeFailed ? { includeFailed } : {}),
  };
  return `loop-${createHash('sha256').update(JSON.stringify(identity)).digest('hex').slice(0, 12)}`;
}

/** Fills the hook template; every value is shell-quoted, so a path with spaces stays one argument. */
export function renderHook(template: string, values: Record<string, string | number>): string {
  return template.replace(/\{([a-z_]+)\}/g, (match, key: string) => (key in values ? shellQuote(String(values[key])) : match));
}

function shellQuote(value: string): string {
  return /^[A-Za-z0-9_./:@=,+-]+$/.test(value) ? value : `'${value.replace(/'/g, `'\\''`)}'`;
}

/** The hook's answer: the last stdout line that is a JSON object with string `name` and `endpoint`. */
export function parseHookOutput(stdout: string): { name: string; endpoint: string; line: string } | undefined {
  const lines = stdout
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean)
    .reverse();
  for (const line of lines) {
    if (!line.startsWith('{')) continue;
    try {
      const value = JSON.parse(line) as Record<string, unknown>;
      if (typeof value.name === 'string' && typeof value.endpoint === 'string' && value.name !== '')
        return { name: value.name, endpoint: value.endpoint, line };
    } catch {
      // not JSON: keep looking
    }
  }
  return undefined;
}

function sameEndpoint(a: string, b: string): boolean {
  return a.replace(/\/+$/, '') === b.replace(/\/+$/, '');
}

async function runHook(command: string, say: (line: string) => void): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn('sh', ['-c', command], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
    child.stderr.on('data', (chunk: Buffer) => {
      const text = chunk.toString('utf8');
      stderr += text;
      for (const line of text.split('\n').filter(Boolean)) say(`  hook: ${line}`);
    });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/**
 * dg iterate: for k = 0..N-1, M_k plays G games (iteration k, training pool only), its kept games
 * are exported in the loop's view, the hook fine-tunes M_{k+1}, which is registered and played on
 * the frozen eval set. M_0 is evaluated first, so the table compares every model on the same games.
 * Each step is recorded in iterate_loops before and after it runs: a killed loop, started again
 * with the same arguments, continues at the step it was in (a play or eval run already launched is
 * waited for, not launched again).
 */
export async function iterate(config: DgConfig, spec: IterateSpec, say: (line: string) => void): Promise<{ loopId: string; rows: IterationRow[] }> {
  const database = config.clickhouse.database;
  const ch = new ClickHouseConnection({ ...config.clickhouse });
  const loopId = loopIdOf(spec);
  const roleBaseUrl = config.models[spec.role].baseUrl;
  try {
    const state = await loadState(ch, database, loopId);
    const save = async (): Promise<void> => saveState(ch, loopId, spec, state);
    say(
      `dg iterate ${loopId}: ${spec.iterations} iterations of ${spec.gamesPerIteration} games, ${spec.role} from ${spec.fromModel}, eval set ${spec.evalSet}`,
    );

    if (!(await getModel(ch, database, spec.fromModel))) {
      await registerModel(ch, baseRecord(spec, roleBaseUrl));
      say(`registered base model ${spec.fromModel}`);
    }
    const evalWith = async (model: string, iteration: number, runId: string): Promise<EvalRunResult> =>
      runEvalSet(config, ch, spec.evalSet, { [spec.role === 'answerer' ? 'answererModel' : 'questionerModel']: model, iteration, runId, say });

    if (!state.baseEval) {
      state.baseEvalRunId ??= newEvalRunId(spec.evalSet);
      await save();
      state.baseEval = await evalWith(spec.fromModel, 0, state.baseEvalRunId);
      await save();
      say(`iteration 0: ${spec.fromModel} eval success ${state.baseEval.success_rate} [${state.baseEval.ci_low}-${state.baseEval.ci_high}]`);
    }

    let model = spec.fromModel;
    for (let k = 0; k < spec.iterations; k++) {
      const it: IterationState = (state.iterations[k] ??= { step: 'play', playRunId: `${loopId}-it${k}`, launched: false });
      if (it.step === 'done') {
        model = it.hookOutput!.name;
        continue;
      }
      if (it.step === 'play') {
        await playIteration(config, ch, spec, k, model, it, save, say);
        it.step = 'export';
        await save();
      }
      if (it.step === 'export') {
        const dir = join(spec.outDir, `iteration-${k}`);
        const trained = trainIterations(spec.trainOn, k);
        const { card } = await exportDataset(ch, database, {
          iterations: trained,
          views: [spec.view],
          format: spec.format,
          outDir: dir,
          includeFailed: spec.includeFailed === true,
          images: 'inline',
          datasetsDir: config.paths.datasetsDir,
          runIds: trained.map((i) => state.iterations[i]!.playRunId),
        });
        it.exported = {
          dir,
          file: join(dir, exportFileName(spec.view, spec.format)),
          games: spec.includeFailed ? card.counts.games : card.counts.kept,
          contentHash: card.content_hash,
        };
        it.step = 'hook';
        await save();
        say(
          `iteration ${k}: exported ${it.exported.games} ${spec.includeFailed ? 'judged (failed included)' : 'kept'} games of iteration${trained.length > 1 ? 's' : ''} ${trained.join(',')} to ${it.exported.file}`,
        );
      }
      if (it.step === 'hook') {
        const command = renderHook(spec.hook, {
          dataset: it.exported!.file,
          dataset_dir: it.exported!.dir,
          view: spec.view,
          base_model: spec.fromModel,
          parent_model: model,
          iteration: k + 1,
          out: join(spec.outDir, `model-${k + 1}`),
          endpoint: roleBaseUrl,
        });
        say(`iteration ${k}: hook ${command}`);
        const result = await runHook(command, say);
        if (result.code !== 0) throw new Error(`hook exited with ${result.code} at iteration ${k}: ${result.stderr.trim().split('\n').slice(-3).join(' | ')}`);
        const output = parseHookOutput(result.stdout);
        if (!output)
          throw new Error(
            `hook printed no JSON line with "name" and "endpoint" at iteration ${k}; its stdout ended with: ${result.stdout.trim().split('\n').slice(-3).join(' | ')}`,
          );
        if (!sameEndpoint(output.endpoint, roleBaseUrl)) {
          throw new Error(
            `hook returned model ${output.name} at endpoint ${output.endpoint}, but the ${spec.role} calls ${roleBaseUrl} (${spec.role.toUpperCase()}_BASE_URL); a game can only choose the model name: serve the new model on ${roleBaseUrl} or point the ${spec.role} at ${output.endpoint}`,
          );
        }
        it.hookOutput = output;
        it.step = 'register';
        await save();
      }
      if (it.step === 'register') {
        await registerModel(ch, {
          name: it.hookOutput!.name,
          endpoint: it.hookOutput!.endpoint,
          role: spec.role,
          parent: model,
          base_model: spec.fromModel,
          iteration: k + 1,
          train_iterations: trainIterations(spec.trainOn, k),
          train_view: spec.view,
          train_games: it.exported!.games,
          train_hash: it.exported!.contentHash,
          train_dir: it.exported!.dir,
          hook: spec.hook,
          hook_output: it.hookOutput!.line,
          created_at_ms: Date.now(),
        });
        it.step = 'eval';
        it.evalRunId = newEvalRunId(spec.evalSet);
        await save();
        say(`iteration ${k}: registered ${it.hookOutput!.name} (parent ${model})`);
      }
      if (it.step === 'eval') {
        it.evalResult = await evalWith(it.hookOutput!.name, k + 1, it.evalRunId!);
        it.step = 'done';
        await save();
        say(`iteration ${k + 1}: ${it.hookOutput!.name} eval success ${it.evalResult.success_rate} [${it.evalResult.ci_low}-${it.evalResult.ci_high}]`);
      }
      model = it.hookOutput!.name;
    }
    return { loopId, rows: await table_(ch, database, spec, state) };
  } finally {
    await ch.close();
  }
}

function baseRecord(spec: IterateSpec, endpoint: string): Parameters<typeof registerModel>[1] {
  return untrainedModelRecord({ name: spec.fromModel, endpoint, role: spec.role, parent: '', base_model: spec.fromModel, iteration: 0 });
}

async function playIteration(
  config: DgConfig,
  ch: ClickHouseConnection,
  spec: IterateSpec,
  k: number,
  model: string,
  it: IterationState,
  save: () => Promise<void>,
  say: (line: string) => void,
): Promise<void> {
  const database = config.clickhouse.database;
  const dataset = await trainingDataset(config, await loadDataset(spec.dataset, { datasetsDir: config.paths.datasetsDir }));
  const plan = planFrom(config, {
    datasetName: dataset.name,
    iteration: k,
    candidates: spec.candidates,
    maxTurns: spec.maxTurns,
    seed: spec.seed + k,
    runId: it.playRunId,
    ...(spec.role === 'answerer' ? { answererModel: `${model}${spec.playModelSuffix ?? ''}` } : { questionerModel: `${model}${spec.playModelSuffix ?? ''}` }),
  });
  const startedAt = Date.now();
  const bus = standaloneBus(config);
  try {
    let launched: Awaited<ReturnType<typeof launchGames>> = [];
    if (!it.launched) {
      // Recorded as launched only after the publish: a crash in between launches the run again
      // under the same run id, which adds at most one extra batch of games to the iteration.
      launched = await launchGames(bus, plan, dataset.images, spec.gamesPerIteration);
      it.launched = true;
      await save();
      say(`iteration ${k}: ${model}${spec.playModelSuffix ?? ''} plays ${spec.gamesPerIteration} games (run ${plan.runId})`);
    } else {
      say(`iteration ${k}: waiting for the games of run ${plan.runId}`);
    }
    let summary = await waitForRun(ch, database, plan.runId, spec.gamesPerIteration, startedAt, { timeoutMs: config.game.deadlineMs + 10_000 });
    if (summary.missing > 0 && launched.length > 0) {
      await endOverdueGames(bus, launched, await judgedGameIds(ch, database, plan.runId));
      summary = await waitForRun(ch, database, plan.runId, spec.gamesPerIteration, startedAt, { timeoutMs: 60_000 });
    }
    if (summary.missing > 0)
      throw new Error(
        `iteration ${k}: ${summary.missing} of ${spec.gamesPerIteration} games of run ${plan.runId} have no verdict; start dg iterate again to keep waiting`,
      );
    say(`iteration ${k}: ${summary.games} games judged, ${summary.succeeded} succeeded, ${summary.kept} kept`);
  } finally {
    await bus.close();
  }
}

async function table_(ch: ClickHouseConnection, database: string, spec: IterateSpec, state: LoopState): Promise<IterationRow[]> {
  const runIds = [state.baseEvalRunId, ...Object.values(state.iterations).flatMap((it) => [it.playRunId, it.evalRunId])].filter((x): x is string => Boolean(x));
  const rows = await ch.query<{ run_id: string; kept: number; cost: number }>(
    sql`SELECT run_id, countIf(kept = 1) AS kept, sum(cost_usd) AS cost FROM ${table(database, 'games')} FINAL WHERE run_id IN (${valueList(runIds)}) GROUP BY run_id`,
  );
  const byRun = new Map(rows.map((r) => [r.run_id, { kept: Number(r.kept), cost: Number(r.cost) }]));
  const out: IterationRow[] = [];
  for (let k = 0; k <= spec.iterations; k++) {
    const evalResult = k === 0 ? state.baseEval : state.iterations[k - 1]?.evalResult;
    const model = k === 0 ? spec.fromModel : (state.iterations[k - 1]?.hookOutput?.name ?? '-');
    const play = state.iterations[k];
    const evalRunId = k === 0 ? state.baseEvalRunId : state.iterations[k - 1]?.evalRunId;
    out.push({
      iteration: k,
      model,
      eval_success: evalResult?.success_rate ?? null,
      ci_low: evalResult?.ci_low ?? null,
      ci_high: evalResult?.ci_high ?? null,
      kept_games: play ? (byRun.get(play.playRunId)?.kept ?? 0) : null,
      cost_usd: (play ? (byRun.get(play.playRunId)?.cost ?? 0) : 0) + (evalRunId ? (byRun.get(evalRunId)?.cost ?? 0) : 0),
    });
  }
  return out;
}

export function renderIterationTable(rows: readonly IterationRow[]): string {
  const headers = ['iteration', 'model', 'eval success', '95% CI', 'kept games', 'cost USD'];
  const cells = rows.map((r) => [
    String(r.iteration),
    r.model,
    r.eval_success === null ? '-' : r.eval_success.toFixed(3),
    r.ci_low === null ? '-' : `${r.ci_low.toFixed(3)}-${r.ci_high!.toFixed(3)}`,
    r.kept_games === null ? '-' : String(r.kept_games),
    r.cost_usd.toFixed(4),
  ]);
  const widths = headers.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i]!.length)));
  const line = (c: string[]): string =>
    c
      .map((x, i) => x.padEnd(widths[i]!))
      .join('  ')
      .trimEnd();
  return [line(headers), ...cells.map(line)].join('\n');
}

async function loadState(ch: ClickHouseConnection, database: string, loopId: string): Promise<LoopState> {
  const [row] = await ch.query<{ state: string }>(sql`SELECT state FROM ${table(database, 'iterate_loops')} FINAL WHERE loop_id = ${loopId}`);
  return row ? (JSON.parse(row.state) as LoopState) : { iterations: {} };
}

let lastVersion = 0;
async function saveState(ch: ClickHouseConnection, loopId: string, spec: IterateSpec, state: LoopState): Promise<void> {
  // Strictly increasing within a process, and above any earlier process's (wall clock, in µs).
  lastVersion = Math.max(lastVersion + 1, Date.now() * 1000);
  await ch.insert(
    'iterate_loops',
    [{ loop_id: loopId, spec: JSON.stringify(spec), state: JSON.stringify(state), updated_at_ms: Date.now(), row_version: lastVersion }],
    ['loop_id', 'spec', 'state', 'updated_at_ms', 'row_version'],
  );
}
