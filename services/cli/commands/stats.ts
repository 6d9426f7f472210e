import { InvalidArgumentError, type Command } from 'commander';
import { ClickHouseConnection } from '../../core/clickhouse';
import {
  callUsage,
  failuresByReason,
  formatRetries,
  type CallUsageSummary,
  GROUP_BY_COLUMNS,
  outcomesBy,
  type GameFilter,
  type GroupByColumn,
  type GroupedOutcome,
} from '../../analytics';
import { loadConfigOrExit } from '../../core/config';
import { sleep } from '../../core/errors';
import { waitForStopSignal } from '../signals';
import { outcomesByFilterVersion } from '../../iterations/replay-version';

interface StatsOptions {
  by: GroupByColumn[];
  runId?: string;
  iteration?: number;
  dataset?: string;
  json?: boolean;
  watch?: number | true;
}

function parseBy(value: string): GroupByColumn[] {
  const columns = value
    .split(',')
    .map((c) => c.trim())
    .filter(Boolean);
  // filter_version reads every recorded decision (filter_decisions), replays into new versions included.
  if (columns.length === 1 && columns[0] === 'filter_version') return columns as never;
  for (const c of columns) {
    if (!(GROUP_BY_COLUMNS as readonly string[]).includes(c))
      throw new InvalidArgumentError(`--by: unknown column "${c}"; expected some of ${GROUP_BY_COLUMNS.join(', ')}`);
  }
  return columns as GroupByColumn[];
}

/** `dg stats`: success rates per iteration, model and dataset, from ClickHouse (deduplicated with FINAL). */
export function register(program: Command): void {
  program
    .command('stats')
    .description('success rates, failures by reason and kept games from ClickHouse, grouped (default by iteration, questioner_model, dataset)')
    .option(
      '--by <columns>',
      `comma-separated grouping: ${GROUP_BY_COLUMNS.join(', ')}; or filter_version alone (every filter decision, replayed versions included)`,
      parseBy,
      ['iteration', 'questioner_model', 'dataset'] as GroupByColumn[],
    )
    .option('--run-id <id>', 'only this run')
    .option('--iteration <i>', 'only this iteration', (v: string) => {
      if (!/^\d+$/.test(v)) throw new InvalidArgumentError(`--iteration must be a non-negative integer, got "${v}"`);
      return Number(v);
    })
    .option('--dataset <name>', 'only this dataset')
    .option('--json', 'one JSON object per refresh')
    .option('--watch [seconds]', 'refresh until Ctrl-C (default every 2 s)', (v: string) => {
      const n = Number(v);
      if (!(n > 0)) throw new InvalidArgumentError(`--watch must be a positive number of seconds, got "${v}"`);
      return n;
    })
    .action(async (opts: StatsOptions) => {
      const config = loadConfigOrExit();
      const ch = new ClickHouseConnection({ ...config.clickhouse });
      const filter: GameFilter = {
        ...(opts.runId ? { runId: opts.runId } : {}),
        ...(opts.iteration !== undefined ? { iteration: opts.iteration } : {}),
        ...(opts.dataset ? { dataset: opts.dataset } : {}),
      };
      const db = config.clickhouse.database;
      if ((opts.by as string[]).includes('filter_version')) {
        try {
          const versions = await outcomesByFilterVersion(ch, db);
          if (opts.json) process.stdout.write(JSON.stringify({ at: new Date().toISOString(), by_filter_version: versions }) + '\n');
          else
            for (const v of versions)
              process.stdout.write(`${v.filter_version}  games ${v.games}  succeeded ${v.succeeded}  kept ${v.kept}  keep_rate ${v.keep_rate.toFixed(3)}\n`);
        } finally {
          await ch.close();
        }
        return;
      }
      let stopped = false;
      if (opts.watch) void waitForStopSignal().then(() => (stopped = true));
      try {
        do {
          const [groups, failures, runs] = await Promise.all([
            outcomesBy(ch, db, opts.by, filter),
            failuresByReason(ch, db, filter),
            callUsage(ch, db, 'run_id', filter),
          ]);
          if (opts.json) {
            process.stdout.write(JSON.stringify({ at: new Date().toISOString(), groups, failures_by_reason: failures, runs }) + '\n');
          } else {
            if (opts.watch && process.stdout.isTTY) process.stdout.write('\x1b[2J\x1b[H');
            process.stdout.write(renderTable(opts.by, groups) + '\n');
            const failed = Object.entries(failures)
              .map(([k, v]) => `${k}=${v}`)
              .join('  ');
            process.stdout.write(`failures by reason: ${failed || 'none'}\n`);
            if (runs.length > 0) process.stdout.write(renderRuns(runs) + '\n');
          }
          if (!opts.watch) break;
          const until = Date.now() + (opts.watch === true ? 2 : opts.watch) * 1000;
          while (!stopped && Date.now() < until) await sleep(100);
        } while (!stopped);
      } finally {
        await ch.close();
      }
    });
}

function renderTable(by: readonly GroupByColumn[], groups: readonly GroupedOutcome[]): string {
  const headers = [...by, 'games', 'succeeded', 'success_rate', 'kept', 'avg_questions'];
  const rows = groups.map((g) => [
    ...by.map((c) => String(g[c] ?? '')),
    String(g.games),
    String(g.succeeded),
    Number(g.successRate).toFixed(3),
    String(g.kept),
    Number(g.avgQuestions).toFixed(2),
  ]);
  if (rows.length === 0) return 'no games yet';
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]): string => cells.map((c, i) => c.padEnd(widths[i]!)).join('  ');
  return [line(headers), ...rows.map(line)].join('\n');
}

/** Per run: model calls, retries by cause, tokens and cost (the last 10 runs). */
function renderRuns(runs: readonly CallUsageSummary[]): string {
  const lines = ['per run (model calls, retries by cause, tokens, cost):'];
  for (const run of runs.slice(-10)) {
    lines.push(
      `  ${run.key}: games ${run.games}, kept ${run.keptGames}, model calls ${run.modelCalls}, retries ${formatRetries(run.retries)}, ` +
        `tokens ${run.promptTokens} prompt (${run.cachedTokens} cached) + ${run.completionTokens} completion, ` +
        `cost $${run.costUsd.toFixed(6)} ($${run.costPerKeptGameUsd.toFixed(6)} per kept game)`,
    );
  }
  return lines.join('\n');
}
