import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { runMigrations, sql, type SqlExecutor } from '../../services/core/clickhouse';
import { FILTER_DECISIONS_TABLE, GAMES_TABLE, TURNS_TABLE } from '../../services/sink/tables';
import { rowsFromCurated } from '../../services/sink/game-rows';
import { RoleMetrics } from '../../services/core/metrics';
import { analyticsFixture } from '../clickhouse/analytics-fixture';
import { ChdbExecutor } from '../clickhouse/chdb-executor';
import { connectTestDatabase, uniqueDatabaseName } from '../clickhouse/helpers';

/**
 * The Grafana dashboard (grafana/dashboards/dialog-games.json) against what it reads: every panel
 * uses a provisioned datasource; every ClickHouse query, with the plugin's macros substituted, runs
 * on the local ClickHouse 18.16 and on chdb (current ClickHouse) over the analytics fixture and
 * returns rows; every table it names exists; every Prometheus metric it names is one the role
 * processes export.
 */

const root = join(__dirname, '..', '..');
const dashboard = JSON.parse(readFileSync(join(root, 'grafana', 'dashboards', 'dialog-games.json'), 'utf8')) as {
  uid: string;
  panels: Array<{
    id: number;
    title: string;
    datasource: { uid: string; type: string };
    targets: Array<{ datasource: { uid: string; type: string }; rawSql?: string; expr?: string }>;
  }>;
  templating: { list: Array<{ name: string }> };
};
const provisioned = parse(readFileSync(join(root, 'grafana', 'provisioning', 'datasources', 'datasources.yaml'), 'utf8')) as {
  datasources: Array<{ uid: string; type: string }>;
};

const chTargets = dashboard.panels.flatMap((p) =>
  p.targets.filter((t) => t.datasource.type === 'grafana-clickhouse-datasource').map((t) => ({ panel: p.title, sql: t.rawSql ?? '' })),
);
const promTargets = dashboard.panels.flatMap((p) =>
  p.targets.filter((t) => t.datasource.type === 'prometheus').map((t) => ({ panel: p.title, expr: t.expr ?? '' })),
);

/** The macros of grafana-clickhouse-datasource the dashboard uses, as the plugin expands them. */
function expand(text: string, database: string, fromS: number, toS: number): string {
  return text
    .replace(/\$\{database\}/g, database)
    .replace(/\$__timeFilter\((\w+)\)/g, (_m, column: string) => `${column} >= toDateTime(${fromS}) AND ${column} <= toDateTime(${toS})`)
    .replace(/\$__fromTime/g, `toDateTime(${fromS})`)
    .replace(/\$__toTime/g, `toDateTime(${toS})`);
}

async function seed(
  executor: SqlExecutor & { insert(table: string, rows: readonly object[], columns: readonly string[]): Promise<void> },
  database: string,
): Promise<void> {
  await runMigrations(executor, { database });
  const rows = analyticsFixture().map((e, i) => rowsFromCurated(e, { topic: 'dg.game-curated', partition: 0, offset: String(i) }));
  await executor.insert(
    GAMES_TABLE.name,
    rows.map((r) => r.game),
    GAMES_TABLE.columns,
  );
  await executor.insert(
    TURNS_TABLE.name,
    rows.flatMap((r) => r.turns),
    TURNS_TABLE.columns,
  );
  await executor.insert(
    FILTER_DECISIONS_TABLE.name,
    rows.map((r) => r.filterDecision),
    FILTER_DECISIONS_TABLE.columns,
  );
}

async function checkQueries(executor: SqlExecutor, database: string): Promise<void> {
  const tables = new Set((await executor.query<{ name: string }>(sql`SELECT name FROM system.tables WHERE database = ${database}`)).map((r) => r.name));
  for (const target of chTargets) {
    for (const [, name] of target.sql.matchAll(/\$\{database\}\.(\w+)/g))
      expect({ panel: target.panel, table: name, exists: tables.has(name) }).toEqual({ panel: target.panel, table: name, exists: true });
    const text = expand(target.sql, database, 0, 4_000_000_000);
    expect(text).not.toMatch(/\$/);
    const rows = await executor.query<Record<string, unknown>>(text);
    expect({ panel: target.panel, rows: rows.length > 0 }).toEqual({ panel: target.panel, rows: true });
  }
}

it('uses only provisioned datasources, the ClickHouse plugin among them, and a database variable', () => {
  const uids = new Map(provisioned.datasources.map((d) => [d.uid, d.type]));
  expect(uids.get('dg-clickhouse')).toBe('grafana-clickhouse-datasource');
  for (const panel of dashboard.panels) {
    for (const t of panel.targets) expect(uids.get(t.datasource.uid)).toBe(t.datasource.type);
  }
  expect(dashboard.templating.list.map((v) => v.name)).toContain('database');
  expect(new Set(dashboard.panels.map((p) => p.id)).size).toBe(dashboard.panels.length);
  const titles = dashboard.panels.map((p) => p.title.toLowerCase()).join('\n');
  for (const topic of ['success rate per iteration', 'throughput', 'failures', 'lag']) expect(titles).toContain(topic);
});

it('names only metrics the role processes export', async () => {
  const metrics = new RoleMetrics({ defaultMetrics: false });
  const exported = new Set((await metrics.registry.getMetricsAsJSON()).map((m) => m.name));
  await metrics.close();
  expect(promTargets.length).toBeGreaterThan(0);
  for (const t of promTargets) {
    const names = [...t.expr.matchAll(/\b(dg_[a-z_]+)\b/g)].map((m) => m[1]);
    expect(names.length).toBeGreaterThan(0);
    for (const name of names) expect({ panel: t.panel, name, exported: exported.has(name) }).toEqual({ panel: t.panel, name, exported: true });
  }
});

it('runs every ClickHouse panel query on the local ClickHouse (18.16) and returns rows', async () => {
  const { connection, database, drop } = await connectTestDatabase('grafana');
  try {
    await seed(connection as never, database);
    await checkQueries(connection, database);
  } finally {
    await drop();
  }
}, 60_000);

it('runs every ClickHouse panel query on chdb (current ClickHouse) and returns rows', async () => {
  const database = uniqueDatabaseName('grafana_chdb');
  const engine = new ChdbExecutor(database);
  try {
    await seed(engine, database);
    await checkQueries(engine, database);
  } finally {
    engine.close();
  }
}, 120_000);
