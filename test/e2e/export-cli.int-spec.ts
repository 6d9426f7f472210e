import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parquetMetadata, parquetReadObjects } from 'hyparquet';
import { sql } from '../../services/core/clickhouse';
import { planFrom } from '../../services/launcher/launcher';
import { startSimVlm } from '../../services/sim-vlm/server';
import { decodeDataUrl } from '../../services/datasets/image-bytes';
import { createE2eEnvironment, type E2eEnvironment } from '../helpers/e2e-env';
import { runDg } from '../helpers/dg-cli';
import { launch, syntheticImages, waitForRunRows } from '../helpers/e2e-games';
import { dgChildEnv } from '../helpers/e2e-sim';

/**
 * `dg export` as a user runs it, on games played by the real roles (the answerer lies 30% of the
 * time so some games fail): every format is read back by an independent reader (hyparquet for
 * Parquet, schema checks of each trainer's documented fields for JSON), counts equal ClickHouse's
 * kept games, and every image decodes and matches the dataset's hash.
 */

const GAMES = 24;
const CLI_TIMEOUT_MS = 240_000;
const ITERATION = 3;

let env: E2eEnvironment;
let childEnv: NodeJS.ProcessEnv;
const sha = (bytes: Uint8Array): string => createHash('sha256').update(bytes).digest('hex');
let datasetSha: Map<string, string>;
let kept: Set<string>;
let all: Map<string, { target_id: string; kept: number; verdict: string }>;

beforeAll(async () => {
  env = await createE2eEnvironment('export');
  const sim = await startSimVlm({ port: 0 });
  env.track(() => sim.close());
  const overrides = { QUESTIONER_BASE_URL: sim.baseUrl, ANSWERER_BASE_URL: sim.baseUrl };
  await env.startRoles(overrides);
  const config = env.config(overrides);
  const images = await syntheticImages(config);
  datasetSha = new Map(images.map((i) => [i.id, i.sha256]));
  const plan = planFrom(config, {
    datasetName: 'synthetic-v1',
    seed: 777,
    iteration: ITERATION,
    answererModel: 'sim-vlm@err=0.3',
    runId: `${env.topicPrefix}export`,
  });
  const startedAt = Date.now();
  await launch(config, plan, images, GAMES);
  await waitForRunRows(env.clickhouse, env.database, plan.runId, GAMES, startedAt, 180_000);
  const rows = await env.clickhouse.query<{ game_id: string; target_id: string; kept: number; verdict: string }>(
    sql`SELECT game_id, target_id, kept, toString(verdict) AS verdict FROM ${env.clickhouse.table('games')} FINAL WHERE iteration = ${ITERATION}`,
  );
  all = new Map(rows.map((r) => [r.game_id, r]));
  kept = new Set(rows.filter((r) => r.kept === 1).map((r) => r.game_id));
  childEnv = dgChildEnv(env);
}, 300_000);

afterAll(async () => {
  await env?.cleanup();
}, 60_000);

async function dgExport(
  args: string[],
): Promise<{ card: { counts: { games: number; kept: number; examples: Record<string, number> }; content_hash: string } }> {
  const result = await runDg(['export', '--iteration', String(ITERATION), ...args, '--json'], childEnv, CLI_TIMEOUT_MS);
  expect({ code: result.code, stderr: result.code === 0 ? '' : result.stderr }).toEqual({ code: 0, stderr: '' });
  return { card: JSON.parse(result.stdout.trim().split('\n').pop()!) };
}

type OpenAiMessage = { role: string; content: string | Array<{ type: string; text?: string; image_url?: { url: string } }> };
type OpenAiLine = { messages: OpenAiMessage[]; metadata: { game_id: string; iteration: number; verdict: string; kept: boolean } };

async function jsonl(path: string): Promise<OpenAiLine[]> {
  return (await readFile(path, 'utf8'))
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as OpenAiLine);
}

/** OpenAI chat fine-tuning: a system string, then strictly alternating user/assistant, assistant content a string, image parts as image_url. */
function checkOpenAiShape(line: OpenAiLine): void {
  const [system, ...rest] = line.messages;
  expect(system).toEqual({ role: 'system', content: expect.any(String) });
  rest.forEach((m, i) => {
    expect(m.role).toBe(i % 2 === 0 ? 'user' : 'assistant');
    if (m.role === 'assistant') expect(typeof m.content).toBe('string');
    if (Array.isArray(m.content))
      for (const part of m.content) expect(part.type === 'text' ? typeof part.text : part.image_url?.url).toEqual(expect.any(String));
  });
  expect(rest[rest.length - 1]!.role).toBe('assistant');
  expect(line.metadata).toEqual(
    expect.objectContaining({
      game_id: expect.any(String),
      iteration: ITERATION,
      verdict: expect.stringMatching(/^(success|failure)$/),
      kept: expect.any(Boolean),
    }),
  );
}

it('has played games some of which failed', () => {
  expect(all.size).toBe(GAMES);
  expect(kept.size).toBeGreaterThan(0);
  expect(kept.size).toBeLessThan(GAMES);
});

it(
  'openai answerer view: the tinyvlm contract, target image inlined once, counts equal ClickHouse kept games',
  async () => {
    const out = join(env.dataDir, 'export-openai-answerer');
    const { card } = await dgExport(['--view', 'answerer', '--format', 'openai', '--out', out]);
    const lines = await jsonl(join(out, 'answerer.jsonl'));
    expect(lines.map((l) => l.metadata.game_id).sort()).toEqual([...kept].sort());
    expect(card.counts.kept).toBe(kept.size);
    for (const line of lines) {
      checkOpenAiShape(line);
      const images = line.messages.flatMap((m) => (Array.isArray(m.content) ? m.content.filter((p) => p.type === 'image_url') : []));
      expect(images).toHaveLength(1);
      const first = line.messages[1]!.content as Array<{ type: string; text?: string; image_url?: { url: string } }>;
      expect(first.map((p) => p.type)).toEqual(['image_url', 'text']);
      const decoded = decodeDataUrl(first[0]!.image_url!.url);
      expect(decoded.mediaType).toBe('image/png');
      expect(sha(decoded.bytes)).toBe(datasetSha.get(all.get(line.metadata.game_id)!.target_id));
      for (const m of line.messages.slice(3)) expect(typeof m.content).toBe('string');
      for (const m of line.messages.filter((x) => x.role === 'assistant')) expect(m.content).toMatch(/^(yes|no|unsure)$/);
    }
    // The same export again: the same content hash.
    const again = await dgExport(['--view', 'answerer', '--format', 'openai', '--out', out]);
    expect(again.card.content_hash).toBe(card.content_hash);
  },
  CLI_TIMEOUT_MS * 2,
);

it(
  'openai questioner view with copied images and failed games: candidates in display order, files hash-match',
  async () => {
    const out = join(env.dataDir, 'export-openai-questioner');
    const { card } = await dgExport(['--view', 'questioner', '--format', 'openai', '--out', out, '--images', 'copy', '--include-failed']);
    const lines = await jsonl(join(out, 'questioner.jsonl'));
    expect(card.counts.games).toBe(GAMES);
    expect(lines).toHaveLength(GAMES);
    expect(lines.filter((l) => l.metadata.kept).length).toBe(kept.size);
    for (const line of lines) {
      checkOpenAiShape(line);
      expect(line.metadata.verdict).toBe(all.get(line.metadata.game_id)!.verdict);
      const urls = (line.messages[1]!.content as Array<{ type: string; image_url?: { url: string } }>)
        .filter((p) => p.type === 'image_url')
        .map((p) => p.image_url!.url);
      expect(urls.length).toBeGreaterThanOrEqual(2);
      for (const url of urls) {
        expect(url).toMatch(/^images\/[0-9a-f]{64}\.png$/);
        const bytes = await readFile(join(out, url));
        expect(sha(bytes)).toBe(url.slice('images/'.length, -'.png'.length));
        expect([...datasetSha.values()]).toContain(sha(bytes));
      }
      const last = line.messages[line.messages.length - 1]!.content as string;
      expect(JSON.parse(last)).toEqual(expect.objectContaining(line.metadata.kept ? { guess: expect.any(Number) } : {}));
    }
  },
  CLI_TIMEOUT_MS,
);

it(
  'hf Parquet read back by hyparquet: one row per game, messages + images as TRL expects, images in order and hash-matched',
  async () => {
    const out = join(env.dataDir, 'export-hf');
    await dgExport(['--view', 'both', '--format', 'hf', '--out', out]);
    for (const view of ['questioner', 'answerer'] as const) {
      const file = await readFile(join(out, `${view}.parquet`));
      const buffer = file.buffer.slice(file.byteOffset, file.byteOffset + file.byteLength);
      // utf8: false: un-annotated BYTE_ARRAY (the image bytes) stays binary; UTF8 columns stay strings.
      const metadata = parquetMetadata(buffer);
      const hf = metadata.key_value_metadata?.find((kv) => kv.key === 'huggingface');
      expect(JSON.parse(hf!.value!).info.features.images).toEqual([{ _type: 'Image' }]);
      const rows = (await parquetReadObjects({ file: buffer, utf8: false })) as Array<{
        messages: Array<{ role: string; content: Array<{ type: string; text: string | null }> }>;
        images: Array<{ bytes: Uint8Array; path: string }>;
        game_id: string;
        kept: boolean;
      }>;
      expect(rows.map((r) => r.game_id).sort()).toEqual([...kept].sort());
      for (const row of rows) {
        expect(row.messages[0]!.role).toBe('system');
        const imageParts = row.messages.flatMap((m) => m.content.filter((p) => p.type === 'image'));
        expect(imageParts).toHaveLength(row.images.length);
        for (const m of row.messages) for (const p of m.content) expect(p.type === 'text' ? typeof p.text : p.text).toBe(p.type === 'text' ? 'string' : null);
        if (view === 'answerer') {
          expect(row.images).toHaveLength(1);
          expect(sha(row.images[0]!.bytes)).toBe(datasetSha.get(all.get(row.game_id)!.target_id));
        } else {
          expect(row.images.length).toBeGreaterThanOrEqual(2);
          for (const image of row.images) expect(`${sha(image.bytes)}.png`).toBe(image.path);
        }
      }
    }
  },
  CLI_TIMEOUT_MS,
);

it(
  'llamafactory ShareGPT JSON: <image> placeholders match the images list, files exist and hash-match, dataset_info names the files',
  async () => {
    const out = join(env.dataDir, 'export-llamafactory');
    await dgExport(['--view', 'both', '--format', 'llamafactory', '--out', out]);
    const info = JSON.parse(await readFile(join(out, 'dataset_info.json'), 'utf8')) as Record<
      string,
      { file_name: string; formatting: string; columns: Record<string, string>; tags: Record<string, string> }
    >;
    expect(Object.keys(info).sort()).toEqual(['dialog_games_answerer', 'dialog_games_questioner']);
    for (const entry of Object.values(info)) {
      expect(entry).toEqual(expect.objectContaining({ formatting: 'sharegpt', columns: { messages: 'messages', images: 'images' } }));
      const records = JSON.parse(await readFile(join(out, entry.file_name), 'utf8')) as Array<{
        messages: Array<{ role: string; content: string }>;
        images: string[];
        game_id: string;
      }>;
      expect(records.map((r) => r.game_id).sort()).toEqual([...kept].sort());
      for (const record of records) {
        const placeholders = record.messages.reduce((n, m) => n + (m.content.match(/<image>/g)?.length ?? 0), 0);
        expect(placeholders).toBe(record.images.length);
        expect(record.messages[0]!.role).toBe(entry.tags.system_tag);
        record.messages.slice(1).forEach((m, i) => expect(m.role).toBe(i % 2 === 0 ? entry.tags.user_tag : entry.tags.assistant_tag));
        for (const image of record.images) {
          expect(existsSync(join(out, image))).toBe(true);
          expect(sha(await readFile(join(out, image)))).toBe(image.replace(/^images\/|\.png$/g, ''));
        }
      }
    }
  },
  CLI_TIMEOUT_MS,
);
