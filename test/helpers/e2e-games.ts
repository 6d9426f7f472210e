import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { IHeaders, Kafka } from 'kafkajs';
import type { GameRequested } from '../../schemas/generated/events';
import { sql, table, type ClickHouseConnection } from '../../services/core/clickhouse';
import type { DgConfig } from '../../services/core/config';
import type { DatasetImage } from '../../services/datasets/dataset';
import { loadDataset } from '../../services/datasets/resolve';
import { launchGames, standaloneBus } from '../../services/launcher/launcher';
import type { LaunchPlan } from '../../services/launcher/game-requests';
import { runSummary, type RunSummary } from '../../services/launcher/run-summary';
import { uniqueSuffix } from './e2e-env';
import { pollUntil } from './e2e-wait';

/** The bundled synthetic scenes (generated into DG_DATASETS_DIR on first use). */
export async function syntheticImages(config: DgConfig): Promise<DatasetImage[]> {
  return (await loadDataset('synthetic-v1', { datasetsDir: config.paths.datasetsDir })).images;
}

/** Publishes games of a plan with the launcher, as `dg play` does. */
export async function launch(config: DgConfig, plan: LaunchPlan, images: readonly DatasetImage[], count: number, fromIndex = 0): Promise<string[]> {
  const bus = standaloneBus(config);
  try {
    return (await launchGames(bus, plan, images, count, fromIndex)).map((r) => r.game.header.gameId);
  } finally {
    await bus.close();
  }
}

/** Publishes hand-made GameRequested events (e.g. with a broken image) as the launcher would. */
export async function publishRequests(config: DgConfig, requests: readonly GameRequested[]): Promise<void> {
  const bus = standaloneBus(config);
  try {
    await bus.publishBatch(requests.map((value) => ({ topic: 'gameRequested' as const, key: value.game.header.gameId, value })));
  } finally {
    await bus.close();
  }
}

/**
 * Waits until ClickHouse has a row for every game of the run and every turn of those games, then
 * returns the run summary. The sink writes a game's games row and its turns rows as separate
 * inserts, so a games row can be visible before its turns: the wait also compares the turns rows
 * with the games' `turns_used`.
 */
export async function waitForRunRows(
  ch: ClickHouseConnection,
  database: string,
  runId: string,
  requested: number,
  startedAtMs: number,
  timeoutMs: number,
): Promise<RunSummary> {
  await pollUntil(
    `${requested} games of run ${runId} in ClickHouse, with all their turns`,
    async () => ({ summary: await runSummary(ch, database, runId, requested, startedAtMs), turns: await turnRowCounts(ch, database, runId) }),
    ({ summary, turns }) => summary.games >= requested && turns.written >= turns.used,
    {
      timeoutMs,
      intervalMs: 300,
    },
  );
  return runSummary(ch, database, runId, requested, startedAtMs);
}

/** Turns rows written for a run against the turns its games rows say they used. */
async function turnRowCounts(ch: ClickHouseConnection, database: string, runId: string): Promise<{ written: number; used: number }> {
  const [row] = await ch.query<{ written: string; used: string }>(
    sql`SELECT (SELECT count() FROM ${table(database, 'turns')} FINAL WHERE run_id = ${runId}) AS written, (SELECT sum(turns_used) FROM ${table(database, 'games')} FINAL WHERE run_id = ${runId}) AS used`,
  );
  return { written: Number(row?.written ?? 0), used: Number(row?.used ?? 0) };
}

/** The games table columns the e2e tests look at, one row per game (FINAL). */
export interface GameRecord {
  game_id: string;
  run_id: string;
  iteration: number;
  verdict: 'success' | 'failure';
  failure_reason: string;
  ending_kind: string;
  ended_by: string;
  judgement_detail: string;
  error_message: string | null;
  kept: number;
  filter_reasons: string[];
  candidate_ids: string[];
  target_index: number;
  target_id: string;
  questioner_model: string;
  answerer_model: string;
  questions_asked: number;
  turns_used: number;
  curated_at_ms: number;
  source_offset: number;
}

export async function gameRecords(ch: ClickHouseConnection, runId: string): Promise<GameRecord[]> {
  return ch.query<GameRecord>(sql`
    SELECT game_id, run_id, iteration, toString(verdict) AS verdict, toString(failure_reason) AS failure_reason, toString(ending_kind) AS ending_kind,
           toString(ended_by) AS ended_by, judgement_detail, error_message, kept, filter_reasons, candidate_ids, target_index, target_id,
           questioner_model, answerer_model, questions_asked, turns_used, curated_at_ms, source_offset
    FROM ${ch.table('games')} FINAL WHERE run_id = ${runId} ORDER BY game_id`);
}

/** Counts straight from the tables (FINAL), independent of the analytics module. */
export interface TableCounts {
  games: number;
  succeeded: number;
  kept: number;
  turns: number;
  filterDecisions: number;
}

export async function tableCounts(ch: ClickHouseConnection, runId: string): Promise<TableCounts> {
  const [games] = await ch.query<{ games: number; succeeded: number; kept: number }>(
    sql`SELECT count() AS games, countIf(verdict = 'success') AS succeeded, countIf(kept = 1) AS kept FROM ${ch.table('games')} FINAL WHERE run_id = ${runId}`,
  );
  const [turns] = await ch.query<{ n: number }>(sql`SELECT count() AS n FROM ${ch.table('turns')} FINAL WHERE run_id = ${runId}`);
  const [decisions] = await ch.query<{ n: number }>(sql`SELECT count() AS n FROM ${ch.table('filter_decisions')} FINAL WHERE run_id = ${runId}`);
  return {
    games: Number(games?.games ?? 0),
    succeeded: Number(games?.succeeded ?? 0),
    kept: Number(games?.kept ?? 0),
    turns: Number(turns?.n ?? 0),
    filterDecisions: Number(decisions?.n ?? 0),
  };
}

/** One line of a dataset shard, parsed. */
export interface DatasetLine {
  file: string;
  gameId: string;
  runId: string;
  example: {
    messages: Array<{ role: string; content: string | Array<{ type: string; text?: string; image_url?: { url: string } }> }>;
    metadata: { game_id: string; run_id: string; candidate_ids: string[]; target_index: number; [key: string]: unknown };
  };
}

/** Every line of every shard under DG_DATA_DIR/dataset (all iterations). */
export async function datasetLines(dataDir: string): Promise<DatasetLine[]> {
  const root = join(dataDir, 'dataset');
  let iterations: string[];
  try {
    iterations = await readdir(root);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
  const lines: DatasetLine[] = [];
  for (const iteration of iterations.sort()) {
    for (const file of (await readdir(join(root, iteration))).sort()) {
      const path = join(root, iteration, file);
      const text = await readFile(path, 'utf8');
      for (const line of text.split('\n')) {
        if (line === '') continue;
        const example = JSON.parse(line) as DatasetLine['example'];
        lines.push({ file: path, gameId: example.metadata.game_id, runId: example.metadata.run_id, example });
      }
    }
  }
  return lines;
}

/** A raw Kafka record as stored: bytes and headers untouched, for replays. */
export interface RawRecord {
  partition: number;
  offset: string;
  key: Buffer | null;
  value: Buffer | null;
  headers: IHeaders;
}

/**
 * Every record of `topic` from the beginning up to its current end, read with a throwaway consumer
 * group (named under `groupPrefix`, so the environment's cleanup deletes it).
 */
export async function readTopic(kafka: Kafka, topic: string, groupPrefix: string, timeoutMs = 30_000): Promise<RawRecord[]> {
  const admin = kafka.admin();
  await admin.connect();
  const ends = new Map((await admin.fetchTopicOffsets(topic)).map((p) => [p.partition, { low: Number(p.low), high: Number(p.high) }]));
  await admin.disconnect();
  const expected = [...ends.values()].reduce((n, p) => n + p.high - p.low, 0);
  const records: RawRecord[] = [];
  if (expected === 0) return records;
  const consumer = kafka.consumer({ groupId: `${groupPrefix}reader-${uniqueSuffix()}` });
  await consumer.connect();
  try {
    await consumer.subscribe({ topics: [topic], fromBeginning: true });
    await consumer.run({
      eachMessage: async ({ partition, message }) => {
        if (Number(message.offset) < (ends.get(partition)?.high ?? 0)) {
          records.push({ partition, offset: message.offset, key: message.key, value: message.value, headers: { ...message.headers } });
        }
      },
    });
    await pollUntil(
      `${expected} records read back from ${topic}`,
      async () => records.length,
      (n) => n >= expected,
      { timeoutMs, intervalMs: 100 },
    );
  } finally {
    await consumer.disconnect();
  }
  return records;
}

/** Produces records again, unchanged, to the same partition of `topic`. */
export async function republish(kafka: Kafka, topic: string, records: readonly RawRecord[]): Promise<void> {
  const producer = kafka.producer();
  await producer.connect();
  try {
    await producer.send({
      topic,
      messages: records.map((r) => ({ partition: r.partition, key: r.key, value: r.value, headers: r.headers })),
    });
  } finally {
    await producer.disconnect();
  }
}
