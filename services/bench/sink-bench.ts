import { createClient } from '@clickhouse/client';
import { BatchWriter, ClickHouseConnection, migrateClickHouse, sql } from '../core/clickhouse';
import { GAMES_TABLE, TURNS_TABLE, type GameRow, type TurnRow } from '../sink/tables';
import { rowsFromCurated } from '../sink/game-rows';
import type { Bench, BenchContext } from './context';
import { benchCuratedEvents } from './fixtures';
import { benchDatabase, dropDatabase, uniqueSuffix } from './isolation';
import { median, perSecond, ratioFigure, significant } from './stats';
import type { DgConfig } from '../core/config';
import { SINK_MIN_IN_FLIGHT, sinkWriterOptions } from '../sink/sink.service';

export interface SinkBenchResult {
  games_per_round: number;
  rows_per_round: number;
  rounds: number;
  max_batch_rows: number;
  flush_interval_ms: number;
  /** Full batches of one table the writer inserts at once. */
  inserts_in_flight_per_table: number;
  games_in_flight: number;
  /**
   * BatchWriter fed as the sink feeds it: per game, its game row and its turn rows, 256 games at
   * once. With fewer games in flight than maxBatchRows, the games table flushes on the interval.
   */
  batch_writer_rows_per_s: number;
  batch_writer_inserts_per_round: number;
  /** The same writer with every game added at once: flushes on size only, the writer's own cost. */
  batch_writer_all_queued_rows_per_s: number;
  /** One @clickhouse/client insert per table of the same rows (games and turns in parallel). */
  raw_insert_rows_per_s: number;
  /** writer as the sink feeds it / raw (1 = batching costs nothing over one big insert). */
  ratio: number | null;
  all_queued_ratio: number | null;
  rows_verified: number;
}

/**
 * Rows per second into ClickHouse through the sink's BatchWriter against one raw insert per table
 * of the same rows, in a database of its own (migrated, dropped afterwards). The writer runs twice
 * per round: fed as the sink feeds it (256 games in flight), and with every game queued at once.
 * Each round uses fresh game ids; the first round warms up and is dropped; medians are reported.
 * Every row written is counted back at the end.
 */
export function sinkBench(): Bench<SinkBenchResult> {
  return { name: 'sink', timeoutMs: 180_000, run: (ctx) => runSinkBench(ctx) };
}

async function runSinkBench(ctx: BenchContext): Promise<SinkBenchResult> {
  // At least maxBatchRows games, so that "all queued" fills a games batch and flushes on size.
  const games = ctx.quick ? 2_000 : 4_000;
  const rounds = ctx.quick ? 3 : 5;
  const database = benchDatabase('sink', uniqueSuffix());
  const connection = { ...ctx.config.clickhouse, database };
  ctx.defer(`clickhouse database ${database}`, async () => {
    await dropDatabase(ctx.config, database);
    return 'dropped';
  });
  await migrateClickHouse(connection);
  const ch = new ClickHouseConnection(connection);
  ctx.defer('clickhouse connection', () => ch.close());
  const raw = createClient({ url: connection.url, username: connection.user, password: connection.password, request_timeout: 60_000 });
  ctx.defer('raw clickhouse client', () => raw.close());

  const rowsFor = (label: string): { perGame: Array<{ game: GameRow; turns: TurnRow[] }>; games: GameRow[]; turns: TurnRow[] } => {
    const events = benchCuratedEvents(games, { turns: 10, idPrefix: label, runId: `bench-sink-${label}` });
    const perGame = events.map((event, i) => rowsFromCurated(event, { topic: 'bench.game-curated', partition: i % 6, offset: String(i) }));
    return { perGame, games: perGame.map((r) => r.game), turns: perGame.flatMap((r) => r.turns) };
  };

  const writerRates: number[] = [];
  const allQueuedRates: number[] = [];
  const rawRates: number[] = [];
  let rowsPerRound = 0;
  let insertsPerRound = 0;
  let rowsWritten = 0;
  for (let round = 0; round <= rounds; round++) {
    ctx.checkpoint();
    const forWriter = rowsFor(`w${round}`);
    const forAllQueued = rowsFor(`q${round}`);
    const forRaw = rowsFor(`r${round}`);
    rowsPerRound = forWriter.games.length + forWriter.turns.length;

    const sinkWriter = newSinkWriter(ch, ctx.config);
    const writerStarted = performance.now();
    await inFlight(games, SINK_MIN_IN_FLIGHT, (i) => addGame(sinkWriter, forWriter.perGame[i]!));
    await sinkWriter.close();
    const writerMs = performance.now() - writerStarted;
    insertsPerRound = sinkWriter.stats().insertedBatches;

    const queuedWriter = newSinkWriter(ch, ctx.config);
    const queuedStarted = performance.now();
    await inFlight(games, games, (i) => addGame(queuedWriter, forAllQueued.perGame[i]!));
    await queuedWriter.close();
    const queuedMs = performance.now() - queuedStarted;

    const rawStarted = performance.now();
    await Promise.all([
      raw.insert({
        table: `${database}.${GAMES_TABLE.name}`,
        values: forRaw.games,
        format: 'JSONEachRow',
        columns: [...GAMES_TABLE.columns] as [string, ...string[]],
      }),
      raw.insert({
        table: `${database}.${TURNS_TABLE.name}`,
        values: forRaw.turns,
        format: 'JSONEachRow',
        columns: [...TURNS_TABLE.columns] as [string, ...string[]],
      }),
    ]);
    const rawMs = performance.now() - rawStarted;
    rowsWritten += 3 * rowsPerRound;
    if (round === 0) continue;
    writerRates.push(perSecond(rowsPerRound, writerMs));
    allQueuedRates.push(perSecond(rowsPerRound, queuedMs));
    rawRates.push(perSecond(rowsPerRound, rawMs));
    ctx.progress(
      `round ${round}/${rounds}: batch writer ${Math.round(perSecond(rowsPerRound, writerMs))} rows/s (all queued ${Math.round(perSecond(rowsPerRound, queuedMs))}), raw insert ${Math.round(perSecond(rowsPerRound, rawMs))} rows/s`,
    );
  }

  const verified = await countRows(ch);
  if (verified !== rowsWritten) throw new Error(`ClickHouse holds ${verified} rows, the bench wrote ${rowsWritten}`);
  const writerRate = median(writerRates);
  const allQueuedRate = median(allQueuedRates);
  const rawRate = median(rawRates);
  return {
    games_per_round: games,
    rows_per_round: rowsPerRound,
    rounds,
    max_batch_rows: sinkWriterOptions(ctx.config).maxBatchRows,
    flush_interval_ms: sinkWriterOptions(ctx.config).flushIntervalMs,
    inserts_in_flight_per_table: sinkWriterOptions(ctx.config).maxInsertsInFlight,
    games_in_flight: SINK_MIN_IN_FLIGHT,
    batch_writer_rows_per_s: significant(writerRate),
    batch_writer_inserts_per_round: insertsPerRound,
    batch_writer_all_queued_rows_per_s: significant(allQueuedRate),
    raw_insert_rows_per_s: significant(rawRate),
    ratio: ratioFigure(writerRate, rawRate),
    all_queued_ratio: ratioFigure(allQueuedRate, rawRate),
    rows_verified: verified,
  };
}

function newSinkWriter(ch: ClickHouseConnection, config: DgConfig): BatchWriter {
  return new BatchWriter((table, rows, columns) => ch.insert(table, rows, columns), sinkWriterOptions(config));
}

/** What the sink does per curated game (its filter_decisions row aside). */
async function addGame(writer: BatchWriter, rows: { game: GameRow; turns: TurnRow[] }): Promise<void> {
  await Promise.all([writer.add(GAMES_TABLE, [rows.game]), writer.add(TURNS_TABLE, rows.turns)]);
}

/** Runs task(0..count-1) with at most `limit` running at once. */
async function inFlight(count: number, limit: number, task: (index: number) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < count) await task(next++);
  };
  await Promise.all(Array.from({ length: Math.min(limit, count) }, worker));
}

async function countRows(ch: ClickHouseConnection): Promise<number> {
  const [games] = await ch.query<{ n: number }>(sql`SELECT count() AS n FROM ${ch.table(GAMES_TABLE.name)}`);
  const [turns] = await ch.query<{ n: number }>(sql`SELECT count() AS n FROM ${ch.table(TURNS_TABLE.name)}`);
  return Number(games?.n ?? 0) + Number(turns?.n ?? 0);
}
