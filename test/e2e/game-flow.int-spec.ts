import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import type { INestApplicationContext } from '@nestjs/common';
import { sql } from '../../services/core/clickhouse';
import type { ConfigOverrides } from '../../services/core/config';
import { roleGroupId } from '../../services/core/bus';
import type { DatasetImage } from '../../services/datasets/dataset';
import { buildGameRequest, type LaunchPlan } from '../../services/launcher/game-requests';
import { planFrom } from '../../services/launcher/launcher';
import type { RunSummary } from '../../services/launcher/run-summary';
import { startSimVlm } from '../../services/sim-vlm/server';
import { consumerLag, createE2eEnvironment, topicMessageCount, waitForGroupCaughtUp, type E2eEnvironment } from '../helpers/e2e-env';
import {
  datasetLines,
  gameRecords,
  launch,
  publishRequests,
  readTopic,
  republish,
  syntheticImages,
  tableCounts,
  waitForRunRows,
  type GameRecord,
} from '../helpers/e2e-games';
import { startRecordingProxy, type RecordingProxy } from '../helpers/e2e-vlm';
import { pollUntil } from '../helpers/e2e-wait';

/**
 * The whole system on the real local stack: 120 games through Kafka, every role in process, the
 * simulated VLM (error rate 0) behind a recording proxy. One run feeds every test of this file, in
 * order: agreement of summary, tables and dataset; what each role's model saw; idempotence of
 * redelivered judged and curated events, and of a sink replaying its topic from the start.
 */

const GAMES = 120;
const RUN_TIMEOUT_MS = 120_000;

let env: E2eEnvironment;
let proxy: RecordingProxy;
let roleOverrides: ConfigOverrides;
let app: INestApplicationContext;
let images: DatasetImage[];
let plan: LaunchPlan;
let gameIds: string[];
let summary: RunSummary;
let records: GameRecord[];
let runSeconds: number;

beforeAll(async () => {
  env = await createE2eEnvironment('flow');
  const sim = await startSimVlm({ port: 0, defaults: { errorRate: 0 } });
  env.track(() => sim.close());
  proxy = await startRecordingProxy({ upstreamBaseUrl: sim.baseUrl });
  env.track(() => proxy.close());
  roleOverrides = { QUESTIONER_BASE_URL: proxy.baseUrl, ANSWERER_BASE_URL: proxy.baseUrl };
  app = await env.startRoles(roleOverrides);
  const config = env.config(roleOverrides);
  images = await syntheticImages(config);
  plan = planFrom(config, { datasetName: 'synthetic-v1', seed: 3_141_592, candidates: 4, maxTurns: 10, runId: `${env.topicPrefix}main` });

  const startedAt = Date.now();
  gameIds = await launch(config, plan, images, GAMES);
  summary = await waitForRunRows(env.clickhouse, env.database, plan.runId, GAMES, startedAt, RUN_TIMEOUT_MS);
  runSeconds = (Date.now() - startedAt) / 1000;
  // The sink has finished every message once its group has committed the whole topic.
  await waitForGroupCaughtUp(env.admin, roleGroupId(env.topicPrefix, 'sink'), env.topic('gameCurated'), 30_000);
  records = await gameRecords(env.clickhouse, plan.runId);
  process.stdout.write(
    `e2e flow: ${GAMES} games in ${runSeconds.toFixed(1)} s (${(GAMES / runSeconds).toFixed(2)} games/s), success rate ${summary.success_rate}\n`,
  );
}, RUN_TIMEOUT_MS + 90_000);

afterAll(async () => {
  await env?.cleanup();
}, 60_000);

const shaById = (): Map<string, string> => new Map(images.map((image) => [image.id, image.sha256]));

describe(`a run of ${GAMES} games through Kafka with the simulated VLM`, () => {
  it('gives every requested game exactly one row, and the run summary, the tables and the dataset agree exactly', async () => {
    expect(summary).toMatchObject({ run_id: plan.runId, requested: GAMES, games: GAMES, missing: 0 });
    expect(summary.succeeded + summary.failed_total).toBe(GAMES);
    expect(Object.values(summary.failed).reduce((a, b) => a + b, 0)).toBe(summary.failed_total);
    // Error rate 0: the simulator plays perfectly, so the dataset check below is not vacuous.
    expect(summary.success_rate).toBeGreaterThanOrEqual(0.95);

    const counts = await tableCounts(env.clickhouse, plan.runId);
    expect(counts).toMatchObject({ games: summary.games, succeeded: summary.succeeded, kept: summary.kept, filterDecisions: GAMES });

    expect(records.map((r) => r.game_id).sort()).toEqual([...gameIds].sort());
    expect(records.filter((r) => r.verdict === 'success')).toHaveLength(summary.succeeded);
    for (const r of records) expect(r.verdict === 'success').toBe(r.failure_reason === '');

    const turnsByGame = await env.clickhouse.query<{ game_id: string; n: number }>(
      sql`SELECT game_id, count() AS n FROM ${env.clickhouse.table('turns')} FINAL WHERE run_id = ${plan.runId} GROUP BY game_id`,
    );
    const turnsUsed = new Map(records.map((r) => [r.game_id, r.turns_used]));
    expect(counts.turns).toBe(records.reduce((sum, r) => sum + r.turns_used, 0));
    expect(counts.turns).toBeGreaterThan(GAMES);
    for (const row of turnsByGame) expect(Number(row.n)).toBe(turnsUsed.get(row.game_id));

    const lines = await datasetLines(env.dataDir);
    const kept = records.filter((r) => r.kept === 1);
    expect(lines).toHaveLength(summary.kept);
    expect(new Set(lines.map((l) => l.gameId)).size).toBe(lines.length);
    expect(lines.map((l) => l.gameId).sort()).toEqual(kept.map((r) => r.game_id).sort());
    const byId = new Map(records.map((r) => [r.game_id, r]));
    for (const line of lines) {
      const record = byId.get(line.gameId)!;
      expect(line.runId).toBe(plan.runId);
      expect(line.example.metadata.candidate_ids).toEqual(record.candidate_ids);
      // The example ends with the questioner's correct guess (1-based display number).
      expect(line.example.messages.at(-1)).toEqual({ role: 'assistant', content: JSON.stringify({ guess: record.target_index + 1 }) });
    }
  }, 30_000);

  it("keeps the target out of the questioner's requests and everything but the target out of the answerer's", async () => {
    const sha = shaById();
    const runRequests = proxy.requests.slice();
    expect(records.every((r) => r.ending_kind === 'guess')).toBe(true);

    // Every image travels as a data URL (no file path naming the image) and no request text names an image or a game.
    const allIds = [...images.map((i) => i.id), ...gameIds];
    for (const request of runRequests) {
      expect(request.imageHashes.every((h) => !h.startsWith('url:'))).toBe(true);
      const named = allIds.filter((id) => request.text.includes(id));
      expect(named).toEqual([]);
      expect(request.text).not.toMatch(/scene-\d{5}/);
    }

    // Exact multisets: the questioner called once per question plus once for its guess, each time with
    // the candidates in display order; the answerer once per question, each time with the target only.
    const questionerKey = (r: GameRecord): string => r.candidate_ids.map((id) => sha.get(id)).join(',');
    const expectedQuestioner = new Map<string, number>();
    const expectedAnswerer = new Map<string, number>();
    for (const r of records) {
      bump(expectedQuestioner, questionerKey(r), r.questions_asked + 1);
      bump(expectedAnswerer, sha.get(r.target_id)!, r.questions_asked);
    }
    const seenQuestioner = new Map<string, number>();
    const seenAnswerer = new Map<string, number>();
    for (const request of runRequests) {
      if (request.role === 'questioner') bump(seenQuestioner, request.imageHashes.join(','), 1);
      else if (request.role === 'answerer') {
        expect(request.imageHashes).toHaveLength(1);
        bump(seenAnswerer, request.imageHashes[0]!, 1);
      } else throw new Error(`request of unknown role: ${request.text.slice(0, 80)}`);
    }
    expect(sorted(seenQuestioner)).toEqual(sorted(expectedQuestioner));
    expect(sorted(seenAnswerer)).toEqual(sorted(expectedAnswerer));
  }, 30_000);

  it('sends the questioner byte-identical opening requests for two games that differ only in the target', async () => {
    const config = env.config(roleOverrides);
    const base = buildGameRequest({ ...plan, runId: `${env.topicPrefix}twins` }, images, 7_777, Date.now(), `${env.topicPrefix}twin-a`);
    const twin = structuredClone(base);
    twin.game.header.gameId = `${env.topicPrefix}twin-b`;
    twin.game.setup.targetIndex = (base.game.setup.targetIndex + 1) % base.game.setup.candidates.length;
    const before = proxy.requests.length;
    await publishRequests(config, [base, twin]);
    const twins = await waitForRunRows(env.clickhouse, env.database, base.game.header.runId, 2, Date.now(), 60_000);
    expect(twins.games).toBe(2);

    const candidateKey = base.game.setup.candidates.map((c) => c.sha256).join(',');
    const openings = proxy.requests
      .slice(before)
      .filter((r) => r.role === 'questioner' && r.assistantMessages === 0 && r.imageHashes.join(',') === candidateKey);
    expect(openings).toHaveLength(2);
    expect(openings[0]!.bodySha256).toBe(openings[1]!.bodySha256);

    const targets = [base, twin].map((g) => g.game.setup.candidates[g.game.setup.targetIndex]!.sha256).sort();
    const answererImages = [
      ...new Set(
        proxy.requests
          .slice(before)
          .filter((r) => r.role === 'answerer')
          .map((r) => r.imageHashes.join(',')),
      ),
    ].sort();
    expect(answererImages).toEqual(targets);
  }, 90_000);

  it('changes no count and no dataset line when judged and curated events are delivered again, or the sink replays its topic', async () => {
    const curatedTopic = env.topic('gameCurated');
    const judgedTopic = env.topic('gameJudged');
    const sinkGroup = roleGroupId(env.topicPrefix, 'sink');
    const countsBefore = await tableCounts(env.clickhouse, plan.runId);
    const datasetBefore = await datasetFiles();
    const curatedAtBefore = new Map(records.map((r) => [r.game_id, r.curated_at_ms]));
    expect(countsBefore.kept).toBeGreaterThan(0);

    const curated = await readTopic(env.kafka, curatedTopic, env.topicPrefix);
    const judged = await readTopic(env.kafka, judgedTopic, env.topicPrefix);
    const curatedTotal = curated.length;
    await republish(env.kafka, curatedTopic, curated);
    await republish(env.kafka, judgedTopic, judged);
    // The filter curates every judged event again: one more GameCurated per redelivered GameJudged.
    await pollUntil(
      'the filter to curate the redelivered judged events',
      () => topicMessageCount(env.admin, curatedTopic),
      (n) => n >= 2 * curatedTotal + judged.length,
      {
        timeoutMs: 60_000,
      },
    );
    await waitForGroupCaughtUp(env.admin, roleGroupId(env.topicPrefix, 'filter'), judgedTopic, 60_000);
    await waitForGroupCaughtUp(env.admin, sinkGroup, curatedTopic, 60_000);

    expect(await tableCounts(env.clickhouse, plan.runId)).toEqual(countsBefore);
    expect(await datasetFiles()).toEqual(datasetBefore);
    // The re-curated events did reach the tables: every row now carries the later curation.
    const after = await gameRecords(env.clickhouse, plan.runId);
    for (const r of after) expect(r.curated_at_ms).toBeGreaterThan(curatedAtBefore.get(r.game_id)!);
    expect(after.map((r) => [r.game_id, r.verdict, r.kept])).toEqual(records.map((r) => [r.game_id, r.verdict, r.kept]));

    // A restarted sink whose group starts over from the earliest offsets: a new process reading its shards back.
    await env.stopRoles(app);
    await env.admin.resetOffsets({ groupId: sinkGroup, topic: curatedTopic, earliest: true });
    expect(await consumerLag(env.admin, sinkGroup, curatedTopic)).toBe(await topicMessageCount(env.admin, curatedTopic));
    app = await env.startRoles(roleOverrides, ['sink']);
    await waitForGroupCaughtUp(env.admin, sinkGroup, curatedTopic, 60_000);
    expect(await tableCounts(env.clickhouse, plan.runId)).toEqual(countsBefore);
    expect(await datasetFiles()).toEqual(datasetBefore);
  }, 240_000);
});

function bump(map: Map<string, number>, key: string, by: number): void {
  if (by > 0) map.set(key, (map.get(key) ?? 0) + by);
}

function sorted(map: Map<string, number>): Array<[string, number]> {
  return [...map.entries()].sort(([a], [b]) => a.localeCompare(b));
}

/** Dataset shards with their line count and content hash (a compact diff when a test fails). */
async function datasetFiles(): Promise<Record<string, { lines: number; sha256: string }>> {
  const files = [...new Set((await datasetLines(env.dataDir)).map((l) => l.file))].sort();
  const entries = await Promise.all(
    files.map(async (file) => {
      const text = await readFile(file, 'utf8');
      return [file, { lines: text.split('\n').filter((line) => line !== '').length, sha256: createHash('sha256').update(text).digest('hex') }] as const;
    }),
  );
  return Object.fromEntries(entries);
}
