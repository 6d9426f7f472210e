import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { FailureReasonSymbols, type GameRequested } from '../../schemas/generated/events';
import { TOPIC_KEYS } from '../../schemas/topics';
import { seededRandom } from '../../services/chaos/schedule';
import { sql, table } from '../../services/core/clickhouse';
import { EventCodec } from '../../services/core/codec';
import { configureLogging } from '../../services/core/logging';
import { sha256Hex } from '../../services/datasets/image-bytes';
import { namesCandidate } from '../../services/game/filter';
import { buildGameRequest } from '../../services/launcher/game-requests';
import { planFrom } from '../../services/launcher/launcher';
import { startSimVlm, type SimVlmServer } from '../../services/sim-vlm/server';
import { createE2eEnvironment, topicMessageCount, type E2eEnvironment } from '../helpers/e2e-env';
import { gameRecords, launch, publishRequests, readTopic, syntheticImages, waitForRunRows } from '../helpers/e2e-games';
import { HOSTILE_KINDS, startHostileVlm, type HostileVlm } from './hostile-vlm';

/**
 * Hostile inputs through the real roles: malformed, huge and non-image files as candidate images,
 * and a model endpoint that answers with very long text, binary, JSON bombs, an answer naming the
 * target's position, text instructing the referee, a 401 that echoes the API key, an HTML body and
 * no choices. Every game ends with a verdict (a named failure where it cannot be played), nothing
 * is dead-lettered, the roles keep playing good games, and the API keys appear in no log line, no
 * Kafka record and no ClickHouse row. Seeded (FUZZ_SEED), bounded.
 */
jest.setTimeout(600_000);

const SEED = Number(process.env.FUZZ_SEED ?? 20_261_203);
const FAILURE_REASONS: readonly string[] = FailureReasonSymbols;
const QUESTIONER_KEY = `sk-fuzz-q-${randomBytes(12).toString('hex')}`;
const ANSWERER_KEY = `sk-fuzz-a-${randomBytes(12).toString('hex')}`;

let sim: SimVlmServer;
let hostile: HostileVlm;
let env: E2eEnvironment;
const logLines: string[] = [];

beforeAll(async () => {
  sim = await startSimVlm({ port: 0 });
  hostile = await startHostileVlm(sim.baseUrl, SEED);
  env = await createE2eEnvironment('fuzz-hostile', {
    QUESTIONER_BASE_URL: hostile.baseUrl,
    ANSWERER_BASE_URL: hostile.baseUrl,
    QUESTIONER_API_KEY: QUESTIONER_KEY,
    ANSWERER_API_KEY: ANSWERER_KEY,
    // Bounded: a hostile model is not retried for long.
    DG_RETRY_MAX_ATTEMPTS: '2',
    DG_RETRY_MAX_MS: '500',
  });
  // Everything the roles log, at debug, is captured and grepped for the keys at the end.
  configureLogging({ level: 'debug', format: 'json', write: (line) => void logLines.push(line) });
  await env.startRoles();
}, 120_000);

afterAll(async () => {
  configureLogging({ level: 'error', write: (line) => void process.stderr.write(line) });
  await env?.cleanup();
  await hostile?.close();
  await sim?.close();
}, 120_000);

/** Candidate files that are not usable images, each with its true sha256 (so only decoding can reject it). */
function badImageFiles(dir: string, scenePath: string, random: () => number): Array<{ id: string; path: string; expectFailure: boolean }> {
  mkdirSync(dir, { recursive: true });
  const png = readFileSync(scenePath);
  const bytes = (n: number) => Buffer.from(Array.from({ length: n }, () => Math.floor(random() * 256)));
  const files: Array<{ id: string; content: Buffer; expectFailure: boolean }> = [
    { id: 'truncated-png', content: png.subarray(0, Math.floor(png.length / 3)), expectFailure: false },
    { id: 'text-as-png', content: Buffer.from('this is not an image\n'.repeat(50)), expectFailure: true },
    { id: 'random-bytes', content: bytes(4096), expectFailure: true },
    { id: 'empty-file', content: Buffer.alloc(0), expectFailure: true },
    // Looks like a PNG to the sniffer, 12 MB of garbage after the signature.
    { id: 'huge-png', content: Buffer.concat([png.subarray(0, 16), bytes(12 * 1024 * 1024)]), expectFailure: false },
  ];
  return files.map((f) => {
    const path = join(dir, `${f.id}.png`);
    writeFileSync(path, f.content);
    return { id: f.id, path, expectFailure: f.expectFailure };
  });
}

it('ends every game fed hostile images or hostile model output with a verdict, keeps playing, and never leaks the API keys', async () => {
  const config = env.config();
  const random = seededRandom(SEED);
  const images = await syntheticImages(config);
  const runId = `${env.topicPrefix}hostile`;
  const plan = (answererModel = 'sim-vlm', questionerModel = 'sim-vlm') =>
    planFrom(config, { datasetName: 'synthetic-v1', runId, seed: SEED % 100_000, answererModel, questionerModel });

  // Hostile images, as the target (the answerer and questioner both load it).
  const files = badImageFiles(join(env.dataDir, 'hostile-images'), new URL(images[0]!.uri).pathname, random);
  const imageGames: Array<{ request: GameRequested; expectFailure: boolean }> = files.map((file, i) => {
    const request = buildGameRequest(plan(), images, 500 + i, Date.now(), `${env.topicPrefix}image-${file.id}`);
    const t = request.game.setup.targetIndex;
    const content = readFileSync(file.path);
    request.game.setup.candidates[t] = { ...request.game.setup.candidates[t]!, id: file.id, uri: pathToFileURL(file.path).href, sha256: sha256Hex(content) };
    return { request, expectFailure: file.expectFailure };
  });
  const dirGame = buildGameRequest(plan(), images, 510, Date.now(), `${env.topicPrefix}image-directory`);
  dirGame.game.setup.candidates[dirGame.game.setup.targetIndex] = {
    ...dirGame.game.setup.candidates[dirGame.game.setup.targetIndex]!,
    id: 'a-directory',
    uri: pathToFileURL(env.dataDir).href,
  };
  imageGames.push({ request: dirGame, expectFailure: true });

  const startedAt = Date.now();
  await publishRequests(
    config,
    imageGames.map((g) => g.request),
  );
  // Hostile model output: as the answerer for every kind, as the questioner for the output-shape kinds.
  const hostileAnswerer = await Promise.all(HOSTILE_KINDS.map((kind, i) => launch(config, plan(`hostile-${kind}`), images, 2, 600 + i * 2)));
  const hostileQuestioner = await Promise.all(
    ['long', 'binary', 'jsonbomb', 'echoes-key', 'not-json-body', 'empty-choices'].map((kind, i) =>
      launch(config, plan('sim-vlm', `hostile-${kind}`), images, 1, 700 + i),
    ),
  );
  const hostileOpen = await launch(
    config,
    planFrom(config, { datasetName: 'synthetic-v1', runId, seed: SEED % 100_000, answererModel: 'hostile-names-position', questionMode: 'open' }),
    images,
    2,
    720,
  );
  const total = imageGames.length + hostileAnswerer.flat().length + hostileQuestioner.flat().length + hostileOpen.length;
  await waitForRunRows(env.clickhouse, env.database, runId, total, startedAt, 360_000).catch(() => undefined);
  const records = new Map((await gameRecords(env.clickhouse, runId)).map((r) => [r.game_id, r]));
  const launched = [...imageGames.map((g) => g.request.game.header.gameId), ...hostileAnswerer.flat(), ...hostileQuestioner.flat(), ...hostileOpen];
  const hostileIds = new Map([
    ...HOSTILE_KINDS.flatMap((k, i) => hostileAnswerer[i]!.map((id) => [id, `answerer hostile-${k}`] as const)),
    ...['long', 'binary', 'jsonbomb', 'echoes-key', 'not-json-body', 'empty-choices'].flatMap((k, i) =>
      hostileQuestioner[i]!.map((id) => [id, `questioner hostile-${k}`] as const),
    ),
  ]);
  const deadLetters = await readTopic(env.kafka, env.topic('deadLetter'), env.topicPrefix, 60_000);
  const letters = await Promise.all(
    deadLetters.map(async (l) => {
      const d = await EventCodec.fromConfig(config).decodeDeadLetter(l.value);
      return `${d.sourceTopic} ${d.errorKind} ${d.errorName}: ${d.errorMessage.slice(0, 200)}`;
    }),
  );
  expect({ missing: launched.filter((id) => !records.has(id)).map((id) => hostileIds.get(id) ?? id), deadLetters: letters }).toEqual({
    missing: [],
    deadLetters: [],
  });
  expect(records.size).toBe(total);
  for (const g of imageGames) {
    const r = records.get(g.request.game.header.gameId)!;
    if (r.verdict === 'failure') expect(FAILURE_REASONS).toContain(r.failure_reason);
    if (g.expectFailure)
      expect({ id: r.game_id, verdict: r.verdict, reason: r.failure_reason }).toEqual({ id: r.game_id, verdict: 'failure', reason: 'bad_input' });
  }
  for (const id of [...hostileAnswerer.flat(), ...hostileQuestioner.flat()]) {
    const r = records.get(id)!;
    if (r.verdict === 'failure') expect(FAILURE_REASONS).toContain(r.failure_reason);
  }
  // The questioner cannot be talked out of its failure: a 401, HTML, no choices, a JSON bomb fail the game.
  for (const id of hostileQuestioner.flat()) expect(records.get(id)!.verdict).toBe('failure');
  expect(Object.keys(hostile.hostileServed).sort()).toEqual([...HOSTILE_KINDS].sort());

  // An answer that names a candidate's position never reaches the dataset; nor does any game the referee did not judge a success.
  const turns = await env.clickhouse.query<{ game_id: string; text: string }>(
    sql`SELECT game_id, text FROM ${table(env.database, 'turns')} FINAL WHERE run_id = ${runId} AND speaker = 'answerer'`,
  );
  const naming = new Set(turns.filter((t) => namesCandidate(t.text)).map((t) => t.game_id));
  // In yes/no mode the answer is reduced to yes/no/unsure (the position never enters the dialog); in open mode it
  // does, and then the game must not be kept.
  const openNaming = new Set(hostileOpen.filter((id) => naming.has(id)));
  expect(openNaming.size).toBeGreaterThan(0);
  for (const id of naming) expect({ id, kept: records.get(id)!.kept }).toEqual({ id, kept: 0 });
  for (const r of records.values()) if (r.verdict !== 'success') expect(r.kept).toBe(0);

  // Nothing was dead-lettered, and the same roles still play good games.
  expect(await topicMessageCount(env.admin, env.topic('deadLetter'))).toBe(0);
  const goodRun = `${env.topicPrefix}good-after`;
  const goodStart = Date.now();
  const good = await launch(config, planFrom(config, { datasetName: 'synthetic-v1', runId: goodRun, seed: 7 }), images, 6, 800);
  const goodSummary = await waitForRunRows(env.clickhouse, env.database, goodRun, good.length, goodStart, 120_000);
  expect(goodSummary.succeeded).toBe(good.length);

  // The API keys were used (the hostile endpoint echoed one into an error) and leaked nowhere.
  const echoed = records.get(hostileQuestioner.flat()[3]!)!;
  expect(echoed.failure_reason).toBe('model_error');
  expect(logLines.length).toBeGreaterThan(100);
  const logs = logLines.join('');
  for (const key of [QUESTIONER_KEY, ANSWERER_KEY]) {
    expect({ key, inLogs: logs.includes(key) }).toEqual({ key, inLogs: false });
    for (const topic of TOPIC_KEYS) {
      const raw = await readTopic(env.kafka, env.topic(topic), env.topicPrefix, 60_000);
      const leaked = raw.filter((r) => r.value?.includes(key) || r.key?.includes(key) || Object.values(r.headers).some((h) => String(h).includes(key)));
      expect({ key, topic, leaked: leaked.length }).toEqual({ key, topic, leaked: 0 });
    }
    const [rows] = await env.clickhouse.query<{ n: number | string }>(
      sql`SELECT count() AS n FROM ${table(env.database, 'games')} WHERE position(judgement_detail, ${key}) > 0 OR position(ifNull(error_message, ''), ${key}) > 0`,
    );
    expect(Number(rows?.n)).toBe(0);
  }
  expect(logs).toContain('[redacted]');
});
