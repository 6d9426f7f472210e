import { InvalidArgumentError, type Command } from 'commander';
import { mkdir, writeFile } from 'node:fs/promises';
import * as path from 'node:path';
import { integerArg } from '../args';
import { DEFAULT_EXPERIMENT, DEFAULT_PIPELINE_SCENES, FINETUNE_HYPER } from '../../tiny-vlm/defaults';
import type { ExperimentResult } from '../../tiny-vlm/experiment';

/**
 * dg tiny-vlm init|train|serve and dg experiment self-improvement: the small trained VLM of
 * services/tiny-vlm (a real tfjs model, not the simulator).
 */

export const DEFAULT_TINY_VLM_PORT = 8790;

/** The endpoint `train` reports: TINY_VLM_BASE_URL, or where `serve` listens by default. */
export function tinyVlmEndpoint(env: NodeJS.ProcessEnv = process.env): string {
  return env.TINY_VLM_BASE_URL ?? `http://127.0.0.1:${env.TINY_VLM_PORT ?? DEFAULT_TINY_VLM_PORT}/v1`;
}

const pct = (x: number): string => `${(x * 100).toFixed(1)}%`;

export function experimentTable(result: Pick<ExperimentResult, 'rows'>): string {
  const header = ['arm', 'iter', 'model', 'held-out acc', 'eval success (95% Wilson CI)', 'kept/played', 'train label acc', 'train ex', 'train s'];
  const rows = result.rows.map((r) => [
    r.arm,
    String(r.iteration),
    r.model,
    pct(r.heldOutAccuracy),
    `${pct(r.evalSuccessRate)} [${pct(r.evalCi.low)}, ${pct(r.evalCi.high)}] (${r.evalSuccesses}/${r.evalGames})`,
    r.iteration === 0 ? '-' : `${r.kept}/${r.played}`,
    r.trainingLabelAccuracy === null ? '-' : pct(r.trainingLabelAccuracy),
    String(r.trainingExamples),
    (r.trainMillis / 1000).toFixed(1),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const fmt = (cells: string[]): string => `| ${cells.map((c, i) => c.padEnd(widths[i]!)).join(' | ')} |`;
  return [fmt(header), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...rows.map(fmt)].join('\n');
}

export function register(program: Command): void {
  const tiny = program
    .command('tiny-vlm')
    .description('TinyVLM: a small vision-language model trained here on CPU (tfjs), served OpenAI-compatibly; not a simulator');

  tiny
    .command('init')
    .description('make the weak base model M_0 from a small ground-truth-labelled seed set of synthetic scenes')
    .requiredOption('--out <dir>', 'model directory to write')
    .option('--seed-examples <n>', 'labelled seed questions', integerArg('--seed-examples', 1), DEFAULT_EXPERIMENT.seedExamples)
    .option('--seed <s>', 'seed (scenes, questions, weights)', integerArg('--seed', 0), DEFAULT_EXPERIMENT.seed)
    .option('--name <name>', 'model name (default: the directory name)')
    .action(async (opts: { out: string; seedExamples: number; seed: number; name?: string }) => {
      const { initBaseModel } = await import('../../tiny-vlm/trainer');
      const manifest = await initBaseModel({ seedExamples: opts.seedExamples, seed: opts.seed, out: opts.out, ...(opts.name ? { name: opts.name } : {}) });
      process.stdout.write(
        `${JSON.stringify({ name: manifest.name, endpoint: tinyVlmEndpoint(), path: path.resolve(opts.out), metrics: manifest.metrics, parent: null })}\n`,
      );
    });

  tiny
    .command('train')
    .description('fine-tune a base model on an answerer-view export (dg export --view answerer --format openai); prints the new model as one JSON line')
    .requiredOption('--data <path>', 'export directory (holding answerer.jsonl) or the JSONL file')
    .requiredOption('--base <dir|name>', 'base model directory, or a model name under --models-dir')
    .option('--out <dir>', 'new model directory (default with --models-dir: DIR/<name>)')
    .option(
      '--models-dir <dir>',
      'the directory `dg tiny-vlm serve --models-dir` serves: --base may be a model name in it, and the new model is written there by name',
    )
    .option('--name <name>', 'model name (default: the directory name)')
    .option(
      '--seed <s>',
      'training seed (default: from the base seed and the hash of the dialogs; examples are taken in dialog order, so re-exports under other game ids train the same model)',
      integerArg('--seed', 0),
    )
    .option('--epochs <n>', 'epochs', integerArg('--epochs', 1))
    .action(async (opts: { data: string; base: string; out?: string; modelsDir?: string; name?: string; seed?: number; epochs?: number }) => {
      const { trainFromExport } = await import('../../tiny-vlm/trainer');
      const { outDirFor, resolveModelDir } = await import('../../tiny-vlm/models-dir');
      const out = outDirFor(opts);
      const base = await resolveModelDir(opts.base, opts.modelsDir);
      const manifest = await trainFromExport({
        data: opts.data,
        base,
        out,
        canonical: true,
        ...(opts.name ? { name: opts.name } : {}),
        ...(opts.seed !== undefined ? { seed: opts.seed } : {}),
        ...(opts.epochs ? { hyper: { ...FINETUNE_HYPER, epochs: opts.epochs } } : {}),
      });
      process.stderr.write(
        `tiny-vlm: trained ${manifest.name} from ${manifest.parent} on ${manifest.training.examples} answers in ${(manifest.training.millis / 1000).toFixed(1)} s (skipped ${JSON.stringify(manifest.training.skipped)})\n`,
      );
      process.stdout.write(
        `${JSON.stringify({ name: manifest.name, endpoint: tinyVlmEndpoint(), path: path.resolve(out), parent: manifest.parent, training_data_sha256: manifest.training.dataSha256, metrics: manifest.metrics })}\n`,
      );
    });

  tiny
    .command('serve')
    .description('serve model directories on one OpenAI-compatible endpoint (127.0.0.1), by manifest name; new directories are picked up as they appear')
    .option('--models-dir <dir>', 'directory whose model subdirectories are served')
    .option('--model <dir...>', 'individual model directories to serve')
    .option('--port <p>', `port (default TINY_VLM_PORT or ${DEFAULT_TINY_VLM_PORT}; 0 = any free port)`, integerArg('--port', 0))
    .action(async (opts: { modelsDir?: string; model?: string[]; port?: number }) => {
      if (!opts.modelsDir && !opts.model?.length) throw new Error('dg tiny-vlm serve: give --models-dir DIR or --model DIR');
      const port = opts.port ?? Number(process.env.TINY_VLM_PORT ?? DEFAULT_TINY_VLM_PORT);
      const { SERVED_BY, startTinyVlmServer } = await import('../../tiny-vlm/server');
      const server = await startTinyVlmServer({
        port,
        ...(opts.modelsDir ? { modelsDir: opts.modelsDir } : {}),
        ...(opts.model ? { modelDirs: opts.model } : {}),
      });
      process.stdout.write(`tiny-vlm: ${SERVED_BY}; listening on ${server.baseUrl}; models: ${server.models().join(', ') || '(none yet)'}\n`);
      await new Promise<void>((resolve) => {
        const stop = (): void => resolve();
        process.once('SIGINT', stop);
        process.once('SIGTERM', stop);
      });
      await server.close();
    });

  const experiment = program.command('experiment').description('experiments on the project itself');
  experiment
    .command('self-improvement')
    .description(
      'M_0 → play → keep successful games → export → train → M_1 …, with a frozen eval set and an unfiltered control arm (in-process play: simulator questioner, TinyVLM answerer)',
    )
    .option('--iterations <n>', 'iterations', integerArg('--iterations', 1), DEFAULT_EXPERIMENT.iterations)
    .option('--games <g>', 'games played per iteration', integerArg('--games', 1), DEFAULT_EXPERIMENT.gamesPerIteration)
    .option('--eval-games <e>', 'frozen eval games', integerArg('--eval-games', 1), DEFAULT_EXPERIMENT.evalGames)
    .option('--held-out <q>', 'held-out questions (ground truth) for answer accuracy', integerArg('--held-out', 1), DEFAULT_EXPERIMENT.heldOutQuestions)
    .option('--seed-examples <n>', 'labelled seed questions for M_0', integerArg('--seed-examples', 1), DEFAULT_EXPERIMENT.seedExamples)
    .option('--seed <s>', 'seed', integerArg('--seed', 0), DEFAULT_EXPERIMENT.seed)
    .option(
      '--temperature <t>',
      'answerer sampling temperature in the games it learns from (0 = greedy; eval games are greedy)',
      (v: string) => {
        const t = Number(v);
        if (!Number.isFinite(t) || t < 0) throw new InvalidArgumentError(`--temperature must be a number >= 0, got "${v}"`);
        return t;
      },
      DEFAULT_EXPERIMENT.temperature,
    )
    .option('--cumulative', 'train each model on every training game so far (the default)')
    .option('--no-cumulative', 'train each model only on the games of its own iteration')
    .option(
      '--out <dir>',
      'output directory (in-process: wiped first; default .dg/experiments/self-improvement, pipeline: kept, a rerun resumes the loop; default .dg/experiments/self-improvement-pipeline)',
    )
    .option(
      '--mode <mode>',
      'in-process (simulated play in this process, with a control arm) or pipeline (the real loop: roles on Kafka, dg eval, dg iterate with the dg tiny-vlm train hook; control arm = dg iterate --include-failed)',
      (v: string) => {
        if (v !== 'in-process' && v !== 'pipeline') throw new InvalidArgumentError(`--mode must be in-process or pipeline, got "${v}"`);
        return v;
      },
      'in-process',
    )
    .option(
      '--scenes <n>',
      `pipeline: scenes of the experiment's own synthetic dataset, 20% of them its eval split (default ${DEFAULT_PIPELINE_SCENES})`,
      integerArg('--scenes', 10),
    )
    .option('--no-control', 'pipeline: skip the unfiltered control arm')
    .option('--json', 'print the result as one JSON object on the last line')
    .action(
      async (opts: {
        scenes?: number;
        control?: boolean;
        iterations: number;
        games: number;
        evalGames: number;
        heldOut: number;
        seedExamples: number;
        seed: number;
        temperature: number;
        cumulative?: boolean;
        out?: string;
        mode: 'in-process' | 'pipeline';
        json?: boolean;
      }) => {
        if (opts.mode === 'pipeline') {
          const { runPipelineExperiment, PIPELINE_RESULT_FILE } = await import('../../tiny-vlm/pipeline');
          const { renderChart } = await import('../../tiny-vlm/chart');
          const outDir = opts.out ?? '.dg/experiments/self-improvement-pipeline';
          const result = await runPipelineExperiment({
            iterations: opts.iterations,
            gamesPerIteration: opts.games,
            evalGames: opts.evalGames,
            seedExamples: opts.seedExamples,
            seed: opts.seed,
            temperature: opts.temperature,
            cumulative: opts.cumulative ?? DEFAULT_EXPERIMENT.cumulative,
            outDir,
            heldOutQuestions: opts.heldOut,
            ...(opts.scenes ? { scenes: opts.scenes } : {}),
            control: opts.control !== false,
            log: (line) => process.stderr.write(`experiment: ${line}\n`),
          });
          const chart = path.join(outDir, 'self-improvement-pipeline.png');
          await writeFile(chart, renderChart(result.rows, { title: 'TinyVLM self-improvement through dg iterate (pipeline)' }));
          if (opts.json) process.stdout.write(`${JSON.stringify(result)}\n`);
          else {
            process.stdout.write(
              `self-improvement (mode: pipeline; sim-vlm questioner, TinyVLM answerer over Kafka, dataset ${result.dataset}, eval set ${result.evalSet}, loops ${Object.entries(
                result.loops,
              )
                .map(([a, l]) => `${a} ${l}`)
                .join(', ')})\n${experimentTable(result)}\n`,
            );
            process.stdout.write(`wrote ${path.join(path.resolve(outDir), PIPELINE_RESULT_FILE)} and ${chart}\n`);
          }
          return;
        }
        opts.out ??= '.dg/experiments/self-improvement';
        const { runSelfImprovement } = await import('../../tiny-vlm/experiment');
        const { renderChart } = await import('../../tiny-vlm/chart');
        const result = await runSelfImprovement({
          ...DEFAULT_EXPERIMENT,
          iterations: opts.iterations,
          temperature: opts.temperature,
          cumulative: opts.cumulative ?? DEFAULT_EXPERIMENT.cumulative,
          gamesPerIteration: opts.games,
          evalGames: opts.evalGames,
          heldOutQuestions: opts.heldOut,
          seedExamples: opts.seedExamples,
          seed: opts.seed,
          outDir: opts.out,
          log: (line) => process.stderr.write(`experiment: ${line}\n`),
        });
        const chart = path.join(opts.out, 'self-improvement.png');
        await mkdir(opts.out, { recursive: true });
        await writeFile(chart, renderChart(result.rows, { title: 'TinyVLM self-improvement (in-process)' }));
        if (opts.json) {
          process.stdout.write(`${JSON.stringify(result)}\n`);
        } else {
          process.stdout.write(`self-improvement (mode: ${result.mode}; simulator questioner, TinyVLM answerer)\n${experimentTable(result)}\n`);
          process.stdout.write(`wrote ${path.join(opts.out, 'self-improvement.json')} and ${chart}\n`);
        }
      },
    );
}
