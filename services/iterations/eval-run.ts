import { randomUUID } from 'node:crypto';
import { ClickHouseConnection, sql, table } from '../core/clickhouse';
import type { DgConfig } from '../core/config';
import { loadDataset } from '../datasets/resolve';
import { endOverdueGames, planFrom, standaloneBus } from '../launcher/launcher';
import { judgedGameIds, waitForRun } from '../launcher/run-summary';
import type { GameRequested } from '../../schemas/generated/events';
import { evalRequests, loadEvalSet, wilsonInterval } from './eval-sets';

export interface EvalRunOptions {
  questionerModel?: string;
  answererModel?: string;
  iteration?: number;
  timeoutMs?: number;
  /** Reuse this run id (dg iterate resumes a launched eval run instead of launching another). */
  runId?: string;
  say?: (line: string) => void;
}

export interface EvalRunResult {
  eval_set: string;
  run_id: string;
  iteration: number;
  questioner_model: string;
  answerer_model: string;
  games: number;
  judged: number;
  succeeded: number;
  success_rate: number;
  ci_low: number;
  ci_high: number;
  missing: number;
}

const EVAL_RUN_COLUMNS = [
  'eval_set',
  'run_id',
  'iteration',
  'questioner_model',
  'answerer_model',
  'games',
  'judged',
  'succeeded',
  'success_rate',
  'ci_low',
  'ci_high',
  'started_at_ms',
  'finished_at_ms',
  'row_version',
];

export function newEvalRunId(setName: string): string {
  return `eval-${setName}-${new Date().toISOString().replace(/[-:]/g, '').replace(/\..*/, '')}-${randomUUID().slice(0, 8)}`;
}

/**
 * Plays exactly the games of a frozen set (tagged with its name, so the sink keeps them out of the
 * training dataset and exports skip their run) and measures the success rate with a Wilson 95%
 * interval. The run is recorded in eval_runs before the first game is published, so the training
 * export excludes it even while it runs, and dg iterate can resume waiting for it.
 */
export async function runEvalSet(config: DgConfig, ch: ClickHouseConnection, setName: string, options: EvalRunOptions = {}): Promise<EvalRunResult> {
  const database = config.clickhouse.database;
  const say = options.say ?? (() => undefined);
  const set = await loadEvalSet(ch, database, setName);
  if (!set) throw new Error(`no eval set named ${setName} (create it with dg eval create --name ${setName})`);
  const dataset = await loadDataset(set.dataset, { datasetsDir: config.paths.datasetsDir });
  const plan = planFrom(config, {
    datasetName: set.dataset,
    iteration: options.iteration ?? 0,
    ...(options.questionerModel ? { questionerModel: options.questionerModel } : {}),
    ...(options.answererModel ? { answererModel: options.answererModel } : {}),
    runId: options.runId ?? newEvalRunId(set.name),
  });
  const startedAt = Date.now();
  const record = async (values: Partial<EvalRunResult> & { finished_at_ms: number }): Promise<void> => {
    await ch.insert(
      'eval_runs',
      [
        {
          eval_set: set.name,
          run_id: plan.runId,
          iteration: plan.iteration,
          questioner_model: plan.questioner.model,
          answerer_model: plan.answerer.model,
          games: set.games,
          judged: values.judged ?? 0,
          succeeded: values.succeeded ?? 0,
          success_rate: values.success_rate ?? 0,
          ci_low: values.ci_low ?? 0,
          ci_high: values.ci_high ?? 0,
          started_at_ms: startedAt,
          finished_at_ms: values.finished_at_ms,
          row_version: Date.now() * 2 + (values.finished_at_ms > 0 ? 1 : 0),
        },
      ],
      EVAL_RUN_COLUMNS,
    );
  };
  const bus = standaloneBus(config);
  let launched: GameRequested[] = [];
  try {
    const alreadyLaunched = options.runId !== undefined && (await judgedOrRequested(ch, database, plan.runId));
    if (!alreadyLaunched) {
      await record({ finished_at_ms: 0 });
      launched = evalRequests(set, dataset.images, plan, Date.now(), randomUUID);
      for (let i = 0; i < launched.length; i += 100) {
        await bus.publishBatch(launched.slice(i, i + 100).map((value) => ({ topic: 'gameRequested' as const, key: value.game.header.gameId, value })));
      }
      say(`eval ${set.name}: launched ${set.games} games, run ${plan.runId}, questioner ${plan.questioner.model}, answerer ${plan.answerer.model}`);
    } else {
      say(`eval ${set.name}: resuming run ${plan.runId}`);
    }
    const timeoutMs = options.timeoutMs ?? 900_000;
    const lastDeadline = launched.length > 0 ? Math.max(...launched.map((r) => r.game.header.deadlineAtMs)) + 5_000 : Date.now() + timeoutMs;
    const until = Date.now() + timeoutMs;
    let summary = await waitForRun(ch, database, plan.runId, set.games, startedAt, { timeoutMs: Math.min(until, lastDeadline) - Date.now() });
    if (summary.missing > 0 && launched.length > 0 && Date.now() < until) {
      await endOverdueGames(bus, launched, await judgedGameIds(ch, database, plan.runId));
      summary = await waitForRun(ch, database, plan.runId, set.games, startedAt, { timeoutMs: until - Date.now() });
    }
    const ci = wilsonInterval(summary.succeeded, set.games);
    const result: EvalRunResult = {
      eval_set: set.name,
      run_id: plan.runId,
      iteration: plan.iteration,
      questioner_model: plan.questioner.model,
      answerer_model: plan.answerer.model,
      games: set.games,
      judged: summary.games,
      succeeded: summary.succeeded,
      // Games without a verdict count as failures: the rate is over the whole set.
      success_rate: Number((summary.succeeded / set.games).toFixed(4)),
      ci_low: Number(ci.low.toFixed(4)),
      ci_high: Number(ci.high.toFixed(4)),
      missing: summary.missing,
    };
    await record({ ...result, finished_at_ms: Date.now() });
    return result;
  } finally {
    await bus.close();
  }
}

async function judgedOrRequested(ch: ClickHouseConnection, database: string, runId: string): Promise<boolean> {
  const [row] = await ch.query<{ n: number }>(sql`SELECT count() AS n FROM ${table(database, 'eval_runs')} FINAL WHERE run_id = ${runId}`);
  return Number(row?.n ?? 0) > 0;
}

/** Every finished eval run, newest last (for dg models and dg iterate). */
export async function evalRuns(ch: ClickHouseConnection, database: string): Promise<EvalRunResult[]> {
  const rows = await ch.query<EvalRunResult & { finished_at_ms: number }>(sql`
    SELECT eval_set, run_id, iteration, questioner_model, answerer_model, games, judged, succeeded, success_rate, ci_low, ci_high, finished_at_ms
    FROM ${table(database, 'eval_runs')} FINAL WHERE finished_at_ms > 0 ORDER BY finished_at_ms`);
  return rows.map((r) => ({
    ...r,
    games: Number(r.games),
    judged: Number(r.judged),
    succeeded: Number(r.succeeded),
    missing: Number(r.games) - Number(r.judged),
  }));
}
