import { InvalidArgumentError, type Command } from 'commander';
import { join, resolve } from 'node:path';
import { integerArg } from '../args';
import { migrateClickHouse } from '../../core/clickhouse';
import { loadConfigOrExit } from '../../core/config';
import { EXPORT_FORMATS, type ExportFormat } from '../../export/formats';
import type { ExportView } from '../../export/views';
import { iterate, loopIdOf, renderIterationTable, type IterateSpec, type LoopRole, type TrainOn } from '../../iterations/iterate';

interface IterateCliOptions {
  fromModel: string;
  iterations: number;
  gamesPerIteration: number;
  hook: string;
  view?: ExportView;
  role: LoopRole;
  evalSet: string;
  dataset: string;
  format: ExportFormat;
  out?: string;
  candidates: number;
  maxTurns: number;
  seed: number;
  trainOn: TrainOn;
  playModelSuffix?: string;
  includeFailed?: boolean;
  json?: boolean;
}

const roleArg =
  (flag: string) =>
  (v: string): LoopRole => {
    if (v !== 'questioner' && v !== 'answerer') throw new InvalidArgumentError(`${flag} must be questioner or answerer, got "${v}"`);
    return v;
  };

/** `dg iterate`: the self-improvement loop, resumable. */
export function register(program: Command): void {
  program
    .command('iterate')
    .description(
      'for each iteration: play, export the kept games, run the fine-tune hook, register the new model, play the frozen eval set with it; the same command resumes a killed loop',
    )
    .requiredOption('--from-model <m>', 'M_0: the model name the role plays with first')
    .requiredOption('--iterations <n>', 'number of fine-tunes', integerArg('--iterations', 1))
    .requiredOption('--games-per-iteration <g>', 'games judged per iteration before exporting', integerArg('--games-per-iteration', 1))
    .requiredOption(
      '--hook <cmd>',
      'fine-tune command; {dataset} {dataset_dir} {view} {base_model} {parent_model} {iteration} {out} {endpoint} are filled in; its last JSON stdout line names the new model: {"name": ..., "endpoint": ...}',
    )
    .requiredOption('--eval-set <name>', 'frozen eval set each new model plays (dg eval create)')
    .option('--role <r>', 'the role whose model is fine-tuned', roleArg('--role'), 'answerer' as LoopRole)
    .option('--view <v>', 'export view (default: the role)', roleArg('--view'))
    .option('--dataset <d>', 'dataset the games are drawn from (its eval split is held out)', 'synthetic-v1')
    .option(
      '--format <f>',
      `export format: ${EXPORT_FORMATS.join(', ')}`,
      (v: string) => {
        if (!(EXPORT_FORMATS as readonly string[]).includes(v))
          throw new InvalidArgumentError(`--format must be one of ${EXPORT_FORMATS.join(', ')}, got "${v}"`);
        return v as ExportFormat;
      },
      'openai' as ExportFormat,
    )
    .option('--out <dir>', 'where exports and hook outputs go (default DG_DATA_DIR/iterations/<loop id>)')
    .option('--candidates <k>', 'candidates per game', integerArg('--candidates', 2), 4)
    .option('--max-turns <t>', 'questions before the guess', integerArg('--max-turns', 1), 10)
    .option('--seed <s>', 'launch seed of iteration 0 (iteration k uses seed + k)', integerArg('--seed', 0), 1)
    .option(
      '--train-on <which>',
      'what each hook trains on: current (the kept games of its iteration) or all (the kept games of every iteration so far)',
      (v: string): TrainOn => {
        if (v !== 'current' && v !== 'all') throw new InvalidArgumentError(`--train-on must be current or all, got "${v}"`);
        return v;
      },
      'current' as TrainOn,
    )
    .option('--include-failed', 'train on every judged game, failed and rejected ones too (dg export --include-failed): an unfiltered control arm')
    .option(
      '--play-model-suffix <s>',
      'appended to the model name in the training games only, e.g. @t=1 (dg tiny-vlm serve: sample at temperature 1); eval games use the plain name',
    )
    .option('--json', 'print the table as one JSON object on the last line')
    .action(async (opts: IterateCliOptions) => {
      const config = loadConfigOrExit();
      await migrateClickHouse({ ...config.clickhouse });
      const base: IterateSpec = {
        fromModel: opts.fromModel,
        iterations: opts.iterations,
        gamesPerIteration: opts.gamesPerIteration,
        hook: opts.hook,
        view: opts.view ?? opts.role,
        role: opts.role,
        evalSet: opts.evalSet,
        dataset: opts.dataset,
        format: opts.format,
        outDir: '',
        candidates: opts.candidates,
        maxTurns: opts.maxTurns,
        seed: opts.seed,
        trainOn: opts.trainOn,
        ...(opts.playModelSuffix ? { playModelSuffix: opts.playModelSuffix } : {}),
        ...(opts.includeFailed ? { includeFailed: true } : {}),
      };
      const spec: IterateSpec = { ...base, outDir: resolve(opts.out ?? join(config.paths.dataDir, 'iterations', loopIdOf(base))) };
      const { loopId, rows } = await iterate(config, spec, (line) => process.stderr.write(`${line}\n`));
      if (opts.json) process.stdout.write(JSON.stringify({ loop_id: loopId, rows }) + '\n');
      else process.stdout.write(`${renderIterationTable(rows)}\n`);
    });
}
