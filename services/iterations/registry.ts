import { sql, table, type ClickHouseConnection } from '../core/clickhouse';
import { evalRuns, type EvalRunResult } from './eval-run';

/**
 * The model registry: one record per model name in ClickHouse (`models`, ReplacingMergeTree by
 * name), with its lineage (parent, base model, iteration), the training set it came from (iterations,
 * view, game count, content hash, folder), the hook that produced it, and — joined at read time
 * from eval_runs — every eval result measured with it.
 */
export interface ModelRecord {
  name: string;
  endpoint: string;
  role: 'questioner' | 'answerer';
  parent: string;
  base_model: string;
  iteration: number;
  train_iterations: number[];
  train_view: string;
  train_games: number;
  train_hash: string;
  train_dir: string;
  hook: string;
  hook_output: string;
  created_at_ms: number;
}

export interface ModelWithEvals extends ModelRecord {
  evals: Array<Pick<EvalRunResult, 'eval_set' | 'run_id' | 'iteration' | 'games' | 'succeeded' | 'success_rate' | 'ci_low' | 'ci_high'>>;
}

const COLUMNS = [
  'name',
  'endpoint',
  'role',
  'parent',
  'base_model',
  'iteration',
  'train_iterations',
  'train_view',
  'train_games',
  'train_hash',
  'train_dir',
  'hook',
  'hook_output',
  'created_at_ms',
  'row_version',
];

/** The record of a model without a training set: a loop's base model, or one registered by hand (dg models register). */
export function untrainedModelRecord(model: Pick<ModelRecord, 'name' | 'endpoint' | 'role' | 'parent' | 'base_model' | 'iteration'>): ModelRecord {
  return {
    ...model,
    train_iterations: [],
    train_view: '',
    train_games: 0,
    train_hash: '',
    train_dir: '',
    hook: '',
    hook_output: '',
    created_at_ms: Date.now(),
  };
}

/** Registers (or updates) a model; the newest write of a name wins. */
export async function registerModel(ch: ClickHouseConnection, record: ModelRecord): Promise<void> {
  if (!record.name) throw new Error('a model needs a name');
  await ch.insert('models', [{ ...record, row_version: Date.now() }], COLUMNS);
}

export async function getModel(ch: ClickHouseConnection, database: string, name: string): Promise<ModelRecord | undefined> {
  const [row] = await ch.query<ModelRecord>(sql`SELECT ${listColumns()} FROM ${table(database, 'models')} FINAL WHERE name = ${name}`);
  return row ? normalise(row) : undefined;
}

export async function listModels(ch: ClickHouseConnection, database: string): Promise<ModelWithEvals[]> {
  const rows = (await ch.query<ModelRecord>(sql`SELECT ${listColumns()} FROM ${table(database, 'models')} FINAL ORDER BY created_at_ms, name`)).map(normalise);
  const runs = await evalRuns(ch, database);
  return rows.map((model) => ({
    ...model,
    evals: runs
      .filter((r) => (model.role === 'questioner' ? r.questioner_model : r.answerer_model) === model.name)
      .map((r) => ({
        eval_set: r.eval_set,
        run_id: r.run_id,
        iteration: r.iteration,
        games: r.games,
        succeeded: r.succeeded,
        success_rate: r.success_rate,
        ci_low: r.ci_low,
        ci_high: r.ci_high,
      })),
  }));
}

function listColumns(): ReturnType<typeof sql> {
  return sql`name, endpoint, role, parent, base_model, iteration, train_iterations, train_view, train_games, train_hash, train_dir, hook, hook_output, created_at_ms`;
}

function normalise(row: ModelRecord): ModelRecord {
  return {
    ...row,
    iteration: Number(row.iteration),
    train_games: Number(row.train_games),
    created_at_ms: Number(row.created_at_ms),
    train_iterations: row.train_iterations.map(Number),
  };
}
