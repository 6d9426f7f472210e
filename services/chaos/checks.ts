import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Kafka, logLevel, type Admin } from 'kafkajs';
import { topicName } from '../../schemas/topics';
import { kafkaSecurityOptions } from '../core/bus/kafka-client';
import { sql, table, type SqlExecutor } from '../core/clickhouse';
import type { EventCodec } from '../core/codec';
import type { DgConfig } from '../core/config';
import { ROLE_INPUTS, ROLE_NAMES, roleGroupId } from '../core/bus';

/** What a chaos run checks afterwards, every figure read back from ClickHouse, Kafka and the dataset files. */
export interface ChaosFigures {
  requested: number;
  /** Games with a row in ClickHouse (FINAL). */
  games: number;
  verdicts: { success: number; failure: number; failedBy: Record<string, number> };
  /** Requested games with no row at all. */
  lost: number;
  lostGameIds: string[];
  /** Games with more than one row after FINAL (must be 0: exactly one terminal row per game). */
  duplicateTerminalRows: number;
  /** Raw game rows before FINAL collapses them (rewrites from redeliveries; informational). */
  rawGameRows: number;
  kept: number;
  dataset: { lines: number; distinctGames: number; duplicateLines: number; keptWithoutLine: number; linesNotKept: number };
  /** Partitions of a role group's input topics with uncommitted messages left. */
  stuckPartitions: Array<{ group: string; topic: string; partition: number; lag: number }>;
  /** total counts one letter per reading group (gameRequested has two); poisonRecordsDeadLettered counts distinct poison records. */
  deadLetters: {
    total: number;
    injected: number;
    poisonRecordsDeadLettered: number;
    unexpected: number;
    bySource: Record<string, number>;
    unexpectedSamples: string[];
  };
  modelCalls: { served: number; failed: Record<string, number>; turnsRecorded: number };
}

export interface ChecksInput {
  config: DgConfig;
  clickhouse: SqlExecutor;
  codec: EventCodec;
  runId: string;
  requestedIds: readonly string[];
  /** Poison records injected on purpose: their dead letters are expected, keyed by this key prefix. */
  poisonKeyPrefix: string;
  injectedPoison: number;
  modelCalls: { served: number; failed: Record<string, number> };
}

export function kafkaAdminFor(config: DgConfig, clientId: string): Kafka {
  return new Kafka({ clientId, brokers: [...config.kafka.brokers], logLevel: logLevel.NOTHING, ...kafkaSecurityOptions(config.kafka) });
}

export async function runChecks(input: ChecksInput): Promise<ChaosFigures> {
  const { config, clickhouse: ch, runId } = input;
  const db = config.clickhouse.database;
  const games = table(db, 'games');
  const rows = await ch.query<{ game_id: string; verdict: string; failure_reason: string; kept: number | string; c: number | string }>(
    sql`SELECT game_id, any(verdict) AS verdict, any(failure_reason) AS failure_reason, any(kept) AS kept, count() AS c FROM ${games} FINAL WHERE run_id = ${runId} GROUP BY game_id`,
  );
  const [raw] = await ch.query<{ n: number | string }>(sql`SELECT count() AS n FROM ${games} WHERE run_id = ${runId}`);
  const [turns] = await ch.query<{ n: number | string }>(sql`SELECT count() AS n FROM ${table(db, 'turns')} FINAL WHERE run_id = ${runId}`);

  const seen = new Set(rows.map((r) => r.game_id));
  const lostGameIds = input.requestedIds.filter((id) => !seen.has(id));
  const failedBy: Record<string, number> = {};
  let success = 0;
  let kept = 0;
  const keptIds = new Set<string>();
  for (const r of rows) {
    if (r.verdict === 'success') success++;
    else failedBy[r.failure_reason] = (failedBy[r.failure_reason] ?? 0) + 1;
    if (Number(r.kept) === 1) {
      kept++;
      keptIds.add(r.game_id);
    }
  }

  const lines = await datasetGameIds(config.paths.dataDir, runId);
  const lineCounts = new Map<string, number>();
  for (const id of lines) lineCounts.set(id, (lineCounts.get(id) ?? 0) + 1);

  const kafka = kafkaAdminFor(config, 'dg-chaos-checks');
  const admin = kafka.admin();
  await admin.connect();
  try {
    const stuckPartitions = await lagByPartition(admin, config.topics.prefix);
    const deadLetters = await readDeadLetters(kafka, admin, input);
    return {
      requested: input.requestedIds.length,
      games: rows.length,
      verdicts: { success, failure: rows.length - success, failedBy },
      lost: lostGameIds.length,
      lostGameIds: lostGameIds.slice(0, 20),
      duplicateTerminalRows: rows.filter((r) => Number(r.c) > 1).length,
      rawGameRows: Number(raw?.n ?? 0),
      kept,
      dataset: {
        lines: lines.length,
        distinctGames: lineCounts.size,
        duplicateLines: lines.length - lineCounts.size,
        keptWithoutLine: [...keptIds].filter((id) => !lineCounts.has(id)).length,
        linesNotKept: [...lineCounts.keys()].filter((id) => !keptIds.has(id)).length,
      },
      stuckPartitions,
      deadLetters,
      modelCalls: { ...input.modelCalls, turnsRecorded: Number(turns?.n ?? 0) },
    };
  } finally {
    await admin.disconnect();
  }
}

/** Game ids of every dataset line of the run (all iterations, all shards). */
async function datasetGameIds(dataDir: string, runId: string): Promise<string[]> {
  const root = join(dataDir, 'dataset');
  const ids: string[] = [];
  let iterations: string[];
  try {
    iterations = await readdir(root);
  } catch {
    return ids;
  }
  for (const iteration of iterations) {
    for (const file of await readdir(join(root, iteration))) {
      const text = await readFile(join(root, iteration, file), 'utf8');
      for (const line of text.split('\n')) {
        if (line.trim() === '') continue;
        try {
          const meta = (JSON.parse(line) as { metadata?: { game_id?: string; run_id?: string } }).metadata;
          if (meta?.run_id === runId && meta.game_id) ids.push(meta.game_id);
        } catch {
          ids.push(`<unparseable line in ${file}>`);
        }
      }
    }
  }
  return ids;
}

async function lagByPartition(admin: Admin, prefix: string): Promise<ChaosFigures['stuckPartitions']> {
  const stuck: ChaosFigures['stuckPartitions'] = [];
  for (const role of ROLE_NAMES) {
    const group = roleGroupId(prefix, role);
    for (const key of ROLE_INPUTS[role]) {
      const topic = topicName(key, prefix);
      const [ends, committed] = await Promise.all([admin.fetchTopicOffsets(topic), admin.fetchOffsets({ groupId: group, topics: [topic] })]);
      const done = new Map((committed[0]?.partitions ?? []).map((p) => [p.partition, Number(p.offset)]));
      for (const p of ends) {
        const lag = Number(p.high) - Math.max(Number(p.low), done.get(p.partition) ?? -1);
        if (lag > 0) stuck.push({ group, topic, partition: p.partition, lag });
      }
    }
  }
  return stuck;
}

async function readDeadLetters(kafka: Kafka, admin: Admin, input: ChecksInput): Promise<ChaosFigures['deadLetters']> {
  const topic = topicName('deadLetter', input.config.topics.prefix);
  const ends = await admin.fetchTopicOffsets(topic);
  const expected = ends.reduce((n, p) => n + Number(p.high) - Number(p.low), 0);
  const result: ChaosFigures['deadLetters'] = {
    total: expected,
    injected: input.injectedPoison,
    poisonRecordsDeadLettered: 0,
    unexpected: 0,
    bySource: {},
    unexpectedSamples: [],
  };
  const poisonKeys = new Set<string>();
  if (expected === 0) return result;
  const highs = new Map(ends.map((p) => [p.partition, Number(p.high)]));
  const groupId = `${input.config.topics.prefix}chaos-dlq-reader-${Date.now()}`;
  const consumer = kafka.consumer({ groupId });
  let read = 0;
  await consumer.connect();
  try {
    await consumer.subscribe({ topics: [topic], fromBeginning: true });
    await consumer.run({
      eachMessage: async ({ partition, message }) => {
        if (Number(message.offset) >= (highs.get(partition) ?? 0)) return;
        read++;
        try {
          const letter = await input.codec.decodeDeadLetter(message.value);
          const source = letter.sourceTopic.slice(input.config.topics.prefix.length);
          result.bySource[source] = (result.bySource[source] ?? 0) + 1;
          const key = letter.key ? Buffer.from(letter.key).toString('utf8') : '';
          if (key.startsWith(input.poisonKeyPrefix)) poisonKeys.add(key);
          else {
            result.unexpected++;
            if (result.unexpectedSamples.length < 5)
              result.unexpectedSamples.push(`${source} key=${key}: ${letter.errorKind} ${letter.errorName}: ${letter.errorMessage.slice(0, 200)}`);
          }
        } catch (err) {
          result.unexpected++;
          if (result.unexpectedSamples.length < 5) result.unexpectedSamples.push(`undecodable dead letter: ${String(err)}`);
        }
      },
    });
    const deadline = Date.now() + 60_000;
    while (read < expected && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
  } finally {
    await consumer.disconnect();
    await admin.deleteGroups([groupId]).catch(() => undefined);
  }
  result.poisonRecordsDeadLettered = poisonKeys.size;
  return result;
}
