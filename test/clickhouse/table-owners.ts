import { loadMigrations, MIGRATIONS_TABLE } from '../../services/core/clickhouse';
import { SINK_TABLES } from '../../services/sink/tables';

/**
 * Every table or view the migrations create that the sink does NOT insert into, and who writes it.
 * A table a migration creates is either in SINK_TABLES (services/sink/tables.ts) or here; a new
 * table must be classified before the tests pass, so a new sink table cannot slip past the parity
 * tests that iterate SINK_TABLES.
 */
export const TABLES_NOT_WRITTEN_BY_THE_SINK: Readonly<Record<string, string>> = {
  [MIGRATIONS_TABLE]: 'the migration runner itself (services/core/clickhouse/migrations.ts), not a migration file',
  eval_sets: 'dg eval (services/iterations/eval-sets.ts)',
  eval_runs: 'dg eval (services/iterations/eval-run.ts)',
  models: 'dg models / dg iterate (services/iterations/registry.ts)',
  iterate_loops: 'dg iterate (services/iterations/iterate.ts)',
  referee_decisions: 'dg replay referee --version (services/iterations/replay-version.ts)',
  games_per_minute: 'the materialized view games_per_minute_mv on every insert into games (migration 040)',
  games_per_minute_mv: 'a materialized view, not written to (migration 040)',
};

export const SINK_TABLE_NAMES: readonly string[] = SINK_TABLES.map((t) => t.name);

/** Names after `CREATE TABLE|VIEW|MATERIALIZED VIEW [IF NOT EXISTS] {{database}}.` in the migration files. */
export function tablesCreatedByMigrations(): string[] {
  const names = new Set<string>();
  for (const file of loadMigrations()) {
    for (const m of file.source.matchAll(/CREATE\s+(?:TABLE|VIEW|MATERIALIZED\s+VIEW)\s+(?:IF\s+NOT\s+EXISTS\s+)?\{\{database\}\}\.`?(\w+)`?/gi))
      names.add(m[1]!);
  }
  return [...names].sort();
}

/** The tables nobody has classified: neither in SINK_TABLES nor in TABLES_NOT_WRITTEN_BY_THE_SINK. */
export function unclassifiedTables(tables: readonly string[]): string[] {
  return tables.filter((t) => !SINK_TABLE_NAMES.includes(t) && !(t in TABLES_NOT_WRITTEN_BY_THE_SINK));
}
