import type { CallUsage, GameCurated } from '../../schemas/generated/events';
import { runMigrations, type SqlExecutor } from '../../services/core/clickhouse';
import { GAMES_TABLE, TURNS_TABLE } from '../../services/sink/tables';
import { rowsFromCurated } from '../../services/sink/game-rows';
import { callUsage } from '../../services/analytics';
import { ChdbExecutor } from './chdb-executor';
import { curatedEvent } from './curated-event';
import { connectTestDatabase, uniqueDatabaseName } from './helpers';

/**
 * `dg stats` per run: model calls, retries by cause, tokens, cost and cost per kept game, from the
 * migration-011 columns, on the local 18.16 server and on chdb (current ClickHouse), same numbers.
 */

const usage = (role: 'questioner' | 'answerer', over: Partial<CallUsage> = {}): CallUsage => ({
  role,
  model: { endpoint: 'http://127.0.0.1:9/v1', model: `${role}-m`, promptVersion: 'v1', temperature: 0, topP: null, maxTokens: 64 },
  rawOutput: 'x',
  latencyMs: 10,
  promptTokens: 100,
  completionTokens: 10,
  cachedTokens: 40,
  costUsd: 0.001,
  modelCalls: 1,
  retries: {},
  pricePromptPerMTok: 1,
  priceCompletionPerMTok: 2,
  ...over,
});

function events(): GameCurated[] {
  const make = (gameId: string, runId: string, kept: boolean, retries: Record<string, number>): GameCurated => {
    const base = curatedEvent({ gameId, runId, kept, success: kept, questions: 1 });
    const transcript = base.game.transcript.map((t) => ({
      ...t,
      costUsd: 0.001,
      promptTokens: 100,
      completionTokens: 10,
      usage: usage(t.speaker, { retries }),
    }));
    return {
      ...base,
      game: { ...base.game, transcript, header: { ...base.game.header, runId } },
      ending: { ...base.ending, guessCostUsd: 0.002, call: usage('questioner', { costUsd: 0.002, modelCalls: 2 }) },
    };
  };
  return [make('ca-1', 'run-a', true, { rate_limited: 1 }), make('ca-2', 'run-a', false, { timeout: 2 }), make('ca-3', 'run-b', true, {})];
}

async function insertAndQuery(
  executor: SqlExecutor & { insert(table: string, rows: readonly object[], columns: readonly string[]): Promise<void> },
  database: string,
) {
  await runMigrations(executor, { database });
  const rows = events().map((e, i) => rowsFromCurated(e, { topic: 't', partition: 0, offset: String(i) }));
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
  return callUsage(executor, database, 'run_id');
}

function check(runs: Awaited<ReturnType<typeof callUsage>>): void {
  const a = runs.find((r) => r.key === 'run-a')!;
  // Each game: 2 turns (1 call each) + the guess (2 calls: a repair).
  expect(a).toMatchObject({ games: 2, keptGames: 1, modelCalls: 8, cachedTokens: 2 * 3 * 40 });
  expect(a.retries).toEqual({ rate_limited: 2, unavailable: 0, server_error: 0, connection: 0, timeout: 4, other: 0 });
  expect(a.costUsd).toBeCloseTo(2 * (0.002 + 0.002), 9);
  expect(a.costPerKeptGameUsd).toBeCloseTo(a.costUsd / 1, 9);
  expect(runs.find((r) => r.key === 'run-b')).toMatchObject({ games: 1, keptGames: 1, modelCalls: 4 });
}

describe('call usage per run (retries by cause, cost per kept game)', () => {
  it('on the local ClickHouse server', async () => {
    const { connection, database, drop } = await connectTestDatabase('callusage');
    try {
      check(await insertAndQuery(connection as unknown as Parameters<typeof insertAndQuery>[0], database));
    } finally {
      await drop();
    }
  }, 60_000);

  it('on chdb (current ClickHouse)', async () => {
    const database = uniqueDatabaseName('callusage_modern');
    const engine = new ChdbExecutor(database);
    try {
      check(await insertAndQuery(engine, database));
    } finally {
      engine.close();
    }
  }, 120_000);
});
