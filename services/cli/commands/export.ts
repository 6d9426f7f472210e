import { InvalidArgumentError, type Command } from 'commander';
import { resolve } from 'node:path';
import { ClickHouseConnection, migrateClickHouse } from '../../core/clickhouse';
import { loadConfigOrExit } from '../../core/config';
import { EXPORT_FORMATS, type ExportFormat } from '../../export/formats';
import { exportDataset, type ImageMode } from '../../export/export';
import { EXPORT_VIEWS, type ExportView } from '../../export/views';

interface ExportCliOptions {
  iteration: number[];
  view: ExportView[];
  format: ExportFormat;
  out: string;
  includeFailed?: boolean;
  images: ImageMode;
  json?: boolean;
}

export function parseIterations(value: string): number[] {
  const list = value
    .split(',')
    .map((v) => v.trim())
    .filter(Boolean);
  if (list.length === 0 || list.some((v) => !/^\d+$/.test(v)))
    throw new InvalidArgumentError(`--iteration must be a comma-separated list of non-negative integers, got "${value}"`);
  return [...new Set(list.map(Number))];
}

export function parseView(value: string): ExportView[] {
  if (value === 'both') return [...EXPORT_VIEWS];
  if ((EXPORT_VIEWS as readonly string[]).includes(value)) return [value as ExportView];
  throw new InvalidArgumentError(`--view must be questioner, answerer or both, got "${value}"`);
}

/** `dg export`: kept games of some iterations as a fine-tuning set for a real trainer. */
export function register(program: Command): void {
  program
    .command('export')
    .description(
      'write the kept games of iterations as a fine-tuning set: openai chat JSONL, hf Parquet (TRL), llamafactory ShareGPT JSON; plus a dataset card',
    )
    .requiredOption('--iteration <k>', 'iteration(s), comma-separated', parseIterations)
    .option('--view <v>', 'questioner (questions + guess), answerer (answers, target image only) or both', parseView, ['questioner'] as ExportView[])
    .option(
      '--format <f>',
      `one of ${EXPORT_FORMATS.join(', ')}`,
      (v: string) => {
        if (!(EXPORT_FORMATS as readonly string[]).includes(v))
          throw new InvalidArgumentError(`--format must be one of ${EXPORT_FORMATS.join(', ')}, got "${v}"`);
        return v as ExportFormat;
      },
      'openai' as ExportFormat,
    )
    .requiredOption('--out <dir>', 'output folder')
    .option('--include-failed', 'also failed and rejected games, with their verdicts in metadata')
    .option(
      '--images <mode>',
      'openai: inline (data URLs) or copy (images/<sha256>.<ext> beside the file)',
      (v: string) => {
        if (v !== 'inline' && v !== 'copy') throw new InvalidArgumentError(`--images must be inline or copy, got "${v}"`);
        return v;
      },
      'inline' as ImageMode,
    )
    .option('--json', 'print the dataset card as one JSON line')
    .action(async (opts: ExportCliOptions) => {
      const config = loadConfigOrExit();
      await migrateClickHouse({ ...config.clickhouse });
      const ch = new ClickHouseConnection({ ...config.clickhouse });
      const startedAt = Date.now();
      try {
        const { card, files } = await exportDataset(ch, config.clickhouse.database, {
          iterations: opts.iteration,
          views: opts.view,
          format: opts.format,
          outDir: resolve(opts.out),
          includeFailed: opts.includeFailed ?? false,
          images: opts.images,
          datasetsDir: config.paths.datasetsDir,
        });
        if (opts.json) process.stdout.write(JSON.stringify({ ...card, elapsed_s: (Date.now() - startedAt) / 1000 }) + '\n');
        else {
          for (const f of files) process.stdout.write(`${f.path}: ${f.examples} examples, ${f.bytes} bytes\n`);
          process.stdout.write(
            `${card.counts.games} games (${card.counts.kept} kept), ${card.counts.images} images, content hash ${card.content_hash}, ${((Date.now() - startedAt) / 1000).toFixed(2)} s\n`,
          );
        }
      } finally {
        await ch.close();
      }
    });
}
