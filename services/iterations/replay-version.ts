import { Kafka, logLevel } from 'kafkajs';
import { kafkaSecurityOptions } from '../core/bus/kafka-client';
import { ClickHouseConnection, sql, table } from '../core/clickhouse';
import { FILTER_DECISIONS_TABLE } from '../sink/tables';
import { rowsFromCurated } from '../sink/game-rows';
import { EventCodec } from '../core/codec';
import type { DgConfig } from '../core/config';
import { curate, judge, transcriptHash } from '../game';
import { topicName, type TopicKey } from '../../schemas/topics';

export type VersionedReplayRole = 'referee' | 'filter';

export interface VersionedReplayOptions {
  role: VersionedReplayRole;
  version: string;
  fromMs?: number;
  toMs?: number;
  /** Progress callback (messages handled so far). */
  onProgress?: (handled: number) => void;
}

export interface VersionedReplayResult {
  groupId: string;
  topic: string;
  handled: number;
  written: number;
  elapsedMs: number;
}

const INPUT: Record<VersionedReplayRole, TopicKey> = { referee: 'guessMade', filter: 'gameJudged' };

export function replayGroupId(prefix: string, role: VersionedReplayRole, version: string): string {
  return `${prefix}${role}-replay-${version}`;
}

/**
 * Re-judges (referee) or re-filters (filter) the retained stream under a new rules version, with its
 * own consumer group, and writes the decisions tagged with that version next to the live ones:
 * filter_decisions (keyed by game and filter_version) or referee_decisions (game and
 * referee_version). Nothing is published: the live games rows and the dataset stay as they are, and
 * no model is called. Reads up to the end offsets seen at start (or --to); rows collapse under their
 * keys, so running it again adds nothing.
 *
 * kafkajs is used directly (not the role bus): this is a bounded read of a topic range with its own
 * stop condition, not a long-running role.
 */
export async function replayIntoVersion(config: DgConfig, options: VersionedReplayOptions): Promise<VersionedReplayResult> {
  const started = Date.now();
  const prefix = config.topics.prefix;
  const topic = topicName(INPUT[options.role], prefix);
  const groupId = replayGroupId(prefix, options.role, options.version);
  const kafka = new Kafka({
    clientId: `dg-replay-${options.role}`,
    brokers: [...config.kafka.brokers],
    logLevel: logLevel.NOTHING,
    ...kafkaSecurityOptions(config.kafka),
  });
  const codec = EventCodec.fromConfig(config, { topicPrefix: prefix });
  const ch = new ClickHouseConnection({ ...config.clickhouse });
  const admin = kafka.admin();
  await admin.connect();
  const ends = new Map<number, number>();
  let starts: Array<{ partition: number; offset: string }> = [];
  try {
    for (const p of await admin.fetchTopicOffsets(topic)) ends.set(p.partition, Number(p.high));
    if (options.fromMs !== undefined) starts = await admin.fetchTopicOffsetsByTimestamp(topic, options.fromMs);
    // A partition with nothing left to read delivers no batch: count it done up front (a rerun of the
    // same version's group, or nothing after --from).
    const committed = (await admin.fetchOffsets({ groupId, topics: [topic] }))[0]?.partitions ?? [];
    for (const c of committed) if (Number(c.offset) >= (ends.get(c.partition) ?? 0)) ends.set(c.partition, 0);
    for (const s of starts) if (Number(s.offset) < 0 || Number(s.offset) >= (ends.get(s.partition) ?? 0)) ends.set(s.partition, 0);
  } finally {
    await admin.disconnect();
  }
  const remaining = new Set([...ends].filter(([, high]) => high > 0).map(([p]) => p));
  const seen = new ReplayTranscripts();
  const consumer = kafka.consumer({ groupId, sessionTimeout: config.kafka.sessionTimeoutMs });
  let handled = 0;
  let written = 0;
  let failure: unknown;
  let finish!: () => void;
  const finished = new Promise<void>((resolve) => (finish = resolve));
  const donePartition = (partition: number): void => {
    remaining.delete(partition);
    if (remaining.size === 0) finish();
  };
  try {
    await consumer.connect();
    await consumer.subscribe({ topics: [topic], fromBeginning: true });
    if (remaining.size === 0) finish();
    consumer.on(consumer.events.GROUP_JOIN, () => {
      // A fresh group starts at --from when given (kafkajs seeks once per assignment).
      for (const s of starts) if (Number(s.offset) >= 0) consumer.seek({ topic, partition: s.partition, offset: s.offset });
      starts = [];
    });
    await consumer.run({
      autoCommit: false,
      eachBatch: async ({ batch, heartbeat }) => {
        const end = ends.get(batch.partition) ?? 0;
        const filterRows: object[] = [];
        const refereeRows: object[] = [];
        let last: string | undefined;
        let reachedEnd = false;
        for (const message of batch.messages) {
          const offset = Number(message.offset);
          if (offset >= end || (options.toMs !== undefined && Number(message.timestamp) > options.toMs)) {
            reachedEnd = true;
            break;
          }
          const source = { topic, partition: batch.partition, offset: message.offset };
          if (options.role === 'filter') {
            const judged = await codec.decodeAs('gameJudged', message.value);
            const gameId = judged.game.header.gameId;
            const hash = transcriptHash(judged.game);
            const curation = curate(judged, {
              now: Number(message.timestamp),
              seenTranscriptHashes: seen.othersFor(gameId, hash),
              filterVersion: options.version,
            });
            if (judged.judgement.verdict === 'success') seen.remember(gameId, hash);
            filterRows.push(rowsFromCurated({ ...judged, curation }, source).filterDecision);
          } else {
            const made = await codec.decodeAs('guessMade', message.value);
            const judgement = judge(made, { now: Number(message.timestamp), refereeVersion: options.version });
            refereeRows.push({
              game_id: made.game.header.gameId,
              run_id: made.game.header.runId,
              iteration: made.game.header.iteration,
              referee_version: options.version,
              verdict: judgement.verdict,
              failure_reason: judgement.failureReason ?? '',
              judgement_detail: judgement.detail ?? '',
              judged_at_ms: judgement.judgedAtMs,
              game_requested_at_ms: made.game.header.requestedAtMs,
              source_topic: topic,
              source_partition: batch.partition,
              source_offset: message.offset,
              row_version: Number(message.timestamp),
            });
          }
          last = message.offset;
          handled++;
          if (offset + 1 >= end) reachedEnd = true;
        }
        if (filterRows.length > 0) await ch.insert(FILTER_DECISIONS_TABLE.name, filterRows, FILTER_DECISIONS_TABLE.columns);
        if (refereeRows.length > 0) await ch.insert('referee_decisions', refereeRows, REFEREE_DECISION_COLUMNS);
        written += filterRows.length + refereeRows.length;
        if (last !== undefined) await consumer.commitOffsets([{ topic, partition: batch.partition, offset: String(Number(last) + 1) }]);
        await heartbeat();
        options.onProgress?.(handled);
        if (reachedEnd) donePartition(batch.partition);
      },
    });
    consumer.on(consumer.events.CRASH, (e) => {
      failure = e.payload.error;
      finish();
    });
    await finished;
  } finally {
    await consumer.disconnect().catch(() => undefined);
    await ch.close();
  }
  if (failure) throw new Error(`dg replay ${options.role} --version ${options.version}: ${(failure as Error).message}`, { cause: failure });
  return { groupId, topic, handled, written, elapsedMs: Date.now() - started };
}

export const REFEREE_DECISION_COLUMNS = [
  'game_id',
  'run_id',
  'iteration',
  'referee_version',
  'verdict',
  'failure_reason',
  'judgement_detail',
  'judged_at_ms',
  'game_requested_at_ms',
  'source_topic',
  'source_partition',
  'source_offset',
  'row_version',
] as const;

/** Decisions per filter version (from filter_decisions), for `dg stats --by filter_version`. */
export async function outcomesByFilterVersion(
  ch: ClickHouseConnection,
  database: string,
): Promise<Array<{ filter_version: string; games: number; succeeded: number; kept: number; keep_rate: number }>> {
  const rows = await ch.query<{ filter_version: string; games: number; succeeded: number; kept: number }>(sql`
    SELECT filter_version, count() AS games, countIf(verdict = 'success') AS succeeded, countIf(kept = 1) AS kept
    FROM ${table(database, 'filter_decisions')} FINAL
    GROUP BY filter_version ORDER BY filter_version`);
  return rows.map((r) => ({
    ...r,
    games: Number(r.games),
    succeeded: Number(r.succeeded),
    kept: Number(r.kept),
    keep_rate: Number(r.games) > 0 ? Number(r.kept) / Number(r.games) : 0,
  }));
}

/**
 * The duplicate rule inside one replay: the first game of a transcript in the replayed range owns
 * it. (The live filter decides by the transcript-claims log; a replay publishes nothing, so it
 * cannot claim, and judges duplicates within its own ordered range instead.)
 */
class ReplayTranscripts {
  private readonly byHash = new Map<string, string>();

  othersFor(gameId: string, hash: string): ReadonlySet<string> {
    const owner = this.byHash.get(hash);
    return owner !== undefined && owner !== gameId ? new Set([hash]) : new Set();
  }

  remember(gameId: string, hash: string): void {
    if (!this.byHash.has(hash)) this.byHash.set(hash, gameId);
  }
}
