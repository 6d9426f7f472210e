import { createHash } from 'node:crypto';
import { mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import type { SqlExecutor } from '../core/clickhouse';
import type { DatasetImage } from '../datasets/dataset';
import { loadImageBytes, toDataUrl } from '../datasets/image-bytes';
import { loadDataset } from '../datasets/resolve';
import {
  hfFeaturesMetadata,
  hfParquetSchema,
  hfRow,
  imageRefUrl,
  llamaFactoryDatasetInfo,
  llamaFactoryRecord,
  openAiLine,
  type Example,
  type ExportFormat,
} from './formats';
import { exportedGames, exportedTurns, gameStateOf, type ExportedGameRow } from './source';
import { answererConversation, questionerConversation, type ExportView } from './views';

export type ImageMode = 'inline' | 'copy';

export interface ExportOptions {
  iterations: readonly number[];
  views: readonly ExportView[];
  format: ExportFormat;
  outDir: string;
  includeFailed: boolean;
  /** openai only: data URLs in the JSONL (inline, default) or files under images/ (copy). hf embeds bytes; llamafactory copies. */
  images: ImageMode;
  datasetsDir: string;
  /** Only games of these runs (default: every run of the iterations, evaluation runs excluded). */
  runIds?: readonly string[];
}

export interface ExportedFile {
  view: ExportView;
  path: string;
  examples: number;
  bytes: number;
}

/** What `dg export` writes as dataset_card.json (and summarises in README.md). */
export interface DatasetCard {
  name: string;
  format: ExportFormat;
  views: ExportView[];
  iterations: number[];
  include_failed: boolean;
  image_mode: ImageMode | 'embedded';
  counts: {
    games: number;
    kept: number;
    failed_or_rejected: number;
    examples: Record<string, number>;
    skipped: Record<string, number>;
    images: number;
  };
  filter_versions: string[];
  referee_versions: string[];
  models: { questioner: string[]; answerer: string[] };
  datasets: string[];
  runs: string[];
  files: Array<{ path: string; sha256: string; bytes: number }>;
  /** sha256 over the sorted (path, sha256) of every data and image file: equal exports, equal hash. */
  content_hash: string;
  provenance: { source: string; clickhouse_database: string; exported_at: string; tool: string };
}

export interface ExportResult {
  card: DatasetCard;
  files: ExportedFile[];
}

const FILE_EXTENSION: Record<ExportFormat, string> = { openai: 'jsonl', hf: 'parquet', llamafactory: 'json' };
const MEDIA_EXTENSION: Record<string, string> = { 'image/png': 'png', 'image/jpeg': 'jpg', 'image/gif': 'gif', 'image/webp': 'webp' };

/** The file one view of a format lands in, relative to the output folder (the tinyvlm contract names answerer.jsonl). */
export function exportFileName(view: ExportView, format: ExportFormat): string {
  return `${view}.${FILE_EXTENSION[format]}`;
}

interface LoadedBytes {
  bytes: Buffer;
  mediaType: string;
}

/** Reads the kept (or all) games of some iterations from ClickHouse and writes them for a trainer. */
export async function exportDataset(ch: SqlExecutor, database: string, options: ExportOptions): Promise<ExportResult> {
  if (options.iterations.length === 0) throw new Error('dg export: name at least one --iteration');
  const games = await exportedGames(ch, database, {
    iterations: options.iterations,
    includeFailed: options.includeFailed,
    ...(options.runIds ? { runIds: options.runIds } : {}),
  });
  const turns = await exportedTurns(
    ch,
    database,
    games.map((g) => g.game_id),
  );

  const datasetImages = new Map<string, Map<string, DatasetImage>>();
  for (const name of new Set(games.map((g) => g.dataset))) {
    const dataset = await loadDataset(name, { datasetsDir: options.datasetsDir });
    datasetImages.set(name, new Map(dataset.images.map((image) => [image.id, image])));
  }

  // Every image an example refers to, loaded once and checked against its recorded hash.
  const bytesBySha = new Map<string, LoadedBytes>();
  const examples = new Map<ExportView, Example[]>(options.views.map((v) => [v, []]));
  const skipped: Record<string, number> = Object.fromEntries(options.views.map((v) => [v, 0]));
  for (const row of games) {
    const images = datasetImages.get(row.dataset)!;
    const game = gameStateOf(row, turns.get(row.game_id) ?? [], images);
    for (const view of options.views) {
      const used: typeof game.setup.candidates = [];
      const imageUrl = (image: (typeof game.setup.candidates)[number]): string => {
        used.push(image);
        return imageRefUrl(image.sha256);
      };
      const messages = view === 'questioner' ? questionerConversation(game, row.guessed_index, imageUrl) : answererConversation(game, imageUrl);
      if (!messages) {
        skipped[view]!++;
        continue;
      }
      for (const image of used) {
        if (bytesBySha.has(image.sha256)) continue;
        try {
          const loaded = await loadImageBytes(image.uri, { sha256: image.sha256 });
          bytesBySha.set(image.sha256, { bytes: loaded.bytes, mediaType: loaded.mediaType });
        } catch (err) {
          throw new Error(`game ${row.game_id}: image ${image.id} of dataset ${row.dataset}: ${(err as Error).message}`, { cause: err });
        }
      }
      examples.get(view)!.push({ messages, metadata: metadataOf(row, view) });
    }
  }

  await mkdir(options.outDir, { recursive: true });
  // An export owns its folder's data files: stale files of an earlier export would change the hash.
  await rm(join(options.outDir, 'images'), { recursive: true, force: true });
  const imageFile = (sha: string): string => `images/${sha}.${MEDIA_EXTENSION[bytesBySha.get(sha)!.mediaType] ?? 'bin'}`;
  const copied = new Set<string>();
  const copyImage = (sha: string): string => {
    copied.add(sha);
    return imageFile(sha);
  };

  const files: ExportedFile[] = [];
  for (const view of options.views) {
    const list = examples.get(view)!;
    const fileName = exportFileName(view, options.format);
    const path = join(options.outDir, fileName);
    let content: Buffer;
    if (options.format === 'openai') {
      const resolve = options.images === 'copy' ? copyImage : (sha: string) => toDataUrl(bytesBySha.get(sha)!.bytes, bytesBySha.get(sha)!.mediaType);
      content = Buffer.from(list.map((e) => openAiLine(e, resolve) + '\n').join(''), 'utf8');
    } else if (options.format === 'llamafactory') {
      content = Buffer.from(
        JSON.stringify(
          list.map((e) => llamaFactoryRecord(e, copyImage)),
          null,
          1,
        ) + '\n',
        'utf8',
      );
    } else {
      content = await parquetFile(list, (sha) => ({ bytes: bytesBySha.get(sha)!.bytes, path: imageFile(sha).slice('images/'.length) }));
    }
    await writeFile(path, content);
    files.push({ view, path, examples: list.length, bytes: content.length });
  }
  if (copied.size > 0) {
    await mkdir(join(options.outDir, 'images'), { recursive: true });
    for (const sha of [...copied].sort()) await writeFile(join(options.outDir, imageFile(sha)), bytesBySha.get(sha)!.bytes);
  }
  if (options.format === 'llamafactory') {
    const info = Object.fromEntries(options.views.map((view) => [`dialog_games_${view}`, llamaFactoryDatasetInfo(exportFileName(view, 'llamafactory'))]));
    await writeFile(join(options.outDir, 'dataset_info.json'), JSON.stringify(info, null, 2) + '\n');
  }

  const card = await buildCard(options, database, games, files, skipped, options.format === 'hf' ? bytesBySha.size : copied.size || bytesBySha.size);
  await writeFile(join(options.outDir, 'dataset_card.json'), JSON.stringify(card, null, 2) + '\n');
  await writeFile(join(options.outDir, 'README.md'), cardMarkdown(card));
  return { card, files };
}

function metadataOf(row: ExportedGameRow, view: ExportView): Example['metadata'] {
  return {
    game_id: row.game_id,
    iteration: row.iteration,
    verdict: row.verdict,
    kept: row.kept === 1,
    failure_reason: row.failure_reason,
    run_id: row.run_id,
    dataset: row.dataset,
    target_id: row.target_id,
    view,
    questioner_model: row.questioner_model,
    answerer_model: row.answerer_model,
    filter_version: row.filter_version,
    referee_version: row.referee_version,
    transcript_hash: row.transcript_hash,
  };
}

async function parquetFile(examples: readonly Example[], image: (sha: string) => { bytes: Buffer; path: string }): Promise<Buffer> {
  const { parquetWriteBuffer } = await import('hyparquet-writer');
  const rows = examples.map((e) => hfRow(e));
  const buffer = parquetWriteBuffer({
    columnData: [
      { name: 'messages', data: rows.map((r) => r.messages) },
      {
        name: 'images',
        data: rows.map((r) =>
          r.imageShas.map((sha) => {
            const i = image(sha);
            return { bytes: new Uint8Array(i.bytes), path: i.path };
          }),
        ),
      },
      { name: 'game_id', data: examples.map((e) => e.metadata.game_id) },
      { name: 'iteration', data: examples.map((e) => e.metadata.iteration) },
      { name: 'verdict', data: examples.map((e) => e.metadata.verdict) },
      { name: 'kept', data: examples.map((e) => e.metadata.kept) },
    ],
    // hyparquet-writer's SchemaElement typing is stricter than the plain objects built here.
    schema: hfParquetSchema() as never,
    kvMetadata: [{ key: 'huggingface', value: hfFeaturesMetadata() }],
    createdBy: 'dialog-games dg export',
  });
  return Buffer.from(buffer);
}

async function listFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const full = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...(await listFiles(full)));
    else out.push(full);
  }
  return out;
}

async function buildCard(
  options: ExportOptions,
  database: string,
  games: readonly ExportedGameRow[],
  files: readonly ExportedFile[],
  skipped: Record<string, number>,
  images: number,
): Promise<DatasetCard> {
  const dataFiles = [...files.map((f) => f.path)];
  if (options.format !== 'hf') dataFiles.push(...(await listFiles(options.outDir)).filter((p) => relative(options.outDir, p).startsWith('images/')));
  if (options.format === 'llamafactory') dataFiles.push(join(options.outDir, 'dataset_info.json'));
  const hashed = await Promise.all(
    dataFiles.map(async (p) => {
      const bytes = await readFile(p);
      return { path: relative(options.outDir, p), sha256: createHash('sha256').update(bytes).digest('hex'), bytes: bytes.length };
    }),
  );
  hashed.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  const contentHash = createHash('sha256');
  for (const f of hashed) contentHash.update(`${f.path}\0${f.sha256}\n`);
  const uniq = (values: Iterable<string>): string[] => [...new Set(values)].sort();
  const kept = games.filter((g) => g.kept === 1).length;
  return {
    name: `dialog-games iterations ${[...options.iterations].sort((a, b) => a - b).join(',')}`,
    format: options.format,
    views: [...options.views],
    iterations: [...options.iterations].sort((a, b) => a - b),
    include_failed: options.includeFailed,
    image_mode: options.format === 'hf' ? 'embedded' : options.format === 'llamafactory' ? 'copy' : options.images,
    counts: {
      games: games.length,
      kept,
      failed_or_rejected: games.length - kept,
      examples: Object.fromEntries(files.map((f) => [f.view, f.examples])),
      skipped,
      images,
    },
    filter_versions: uniq(games.map((g) => g.filter_version)),
    referee_versions: uniq(games.map((g) => g.referee_version)),
    models: { questioner: uniq(games.map((g) => g.questioner_model)), answerer: uniq(games.map((g) => g.answerer_model)) },
    datasets: uniq(games.map((g) => g.dataset)),
    runs: uniq(games.map((g) => g.run_id)),
    files: hashed,
    content_hash: contentHash.digest('hex'),
    provenance: {
      source: 'ClickHouse games + turns (FINAL), evaluation runs excluded',
      clickhouse_database: database,
      exported_at: new Date().toISOString(),
      tool: 'dg export',
    },
  };
}

function cardMarkdown(card: DatasetCard): string {
  const lines = [
    '---',
    'tags: [dialog-games, vlm, synthetic]',
    '---',
    `# ${card.name}`,
    '',
    `Exported by \`dg export\` (format \`${card.format}\`, views ${card.views.join(', ')}) from the games of iteration(s) ${card.iterations.join(', ')}:`,
    `${card.counts.games} games (${card.counts.kept} kept${card.include_failed ? `, ${card.counts.failed_or_rejected} failed or rejected, marked in metadata` : ''}).`,
    '',
    `- examples: ${Object.entries(card.counts.examples)
      .map(([v, n]) => `${v} ${n}`)
      .join(', ')}; images: ${card.counts.images} (${card.image_mode})`,
    `- filter versions: ${card.filter_versions.join(', ') || '-'}; referee versions: ${card.referee_versions.join(', ') || '-'}`,
    `- questioner models: ${card.models.questioner.join(', ') || '-'}; answerer models: ${card.models.answerer.join(', ') || '-'}`,
    `- datasets: ${card.datasets.join(', ') || '-'}; runs: ${card.runs.length}`,
    `- content hash (sha256 over the files below): \`${card.content_hash}\``,
    '',
    '| file | bytes | sha256 |',
    '|---|---|---|',
    ...card.files.filter((f) => !f.path.startsWith('images/')).map((f) => `| ${f.path} | ${f.bytes} | \`${f.sha256}\` |`),
    '',
  ];
  return lines.join('\n');
}
