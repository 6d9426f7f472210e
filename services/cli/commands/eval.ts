import type { Command } from 'commander';
import { integerArg, questionModeArg } from '../args';
import { questionModeNames } from '../../game/variants';
import { ClickHouseConnection, migrateClickHouse } from '../../core/clickhouse';
import { loadConfigOrExit } from '../../core/config';
import { loadDataset } from '../../datasets/resolve';
import type { QuestionMode } from '../../../schemas/generated/events';
import { buildEvalSet, listEvalSets, saveEvalSet } from '../../iterations/eval-sets';
import { runEvalSet } from '../../iterations/eval-run';

interface CreateOptions {
  name: string;
  games: number;
  seed: number;
  dataset: string;
  candidates: number;
  maxTurns: number;
  questionMode: QuestionMode;
  json?: boolean;
}

interface RunOptions {
  questionerModel?: string;
  answererModel?: string;
  iteration: number;
  timeout: number;
  json?: boolean;
}

/** `dg eval create|run|list`: frozen evaluation sets and their plays. */
export function register(program: Command): void {
  const evalCommand = program.command('eval').description('frozen evaluation sets: fixed game setups on a held-out split of the dataset, played by any model');

  evalCommand
    .command('create')
    .description('store a frozen set of game setups drawn from the eval split of a dataset (the training launches then hold that split out)')
    .requiredOption('--name <name>', 'eval set name')
    .requiredOption('--games <n>', 'number of games', integerArg('--games', 1))
    .requiredOption('--seed <s>', 'seed of the setups', integerArg('--seed', 0))
    .option('--dataset <d>', 'dataset name or path', 'synthetic-v1')
    .option('--candidates <k>', 'candidates per game', integerArg('--candidates', 2), 4)
    .option('--max-turns <t>', 'questions before the guess', integerArg('--max-turns', 1), 10)
    .option('--question-mode <mode>', `question mode: ${questionModeNames().join(' or ')}`, questionModeArg('--question-mode'), 'yesno')
    .option('--json', 'print the stored set (without setups) as one JSON line')
    .action(async (opts: CreateOptions) => {
      const config = loadConfigOrExit();
      await migrateClickHouse({ ...config.clickhouse });
      const dataset = await loadDataset(opts.dataset, { datasetsDir: config.paths.datasetsDir });
      const set = buildEvalSet(
        { name: opts.name, games: opts.games, seed: opts.seed, numCandidates: opts.candidates, maxTurns: opts.maxTurns, questionMode: opts.questionMode },
        dataset,
      );
      const ch = new ClickHouseConnection({ ...config.clickhouse });
      try {
        const outcome = await saveEvalSet(ch, config.clickhouse.database, set);
        const summary = {
          name: set.name,
          outcome,
          dataset: set.dataset,
          games: set.games,
          seed: set.seed,
          eval_images: set.evalImageIds.length,
          training_images: dataset.images.length - set.evalImageIds.length,
          setups_hash: set.setupsHash,
        };
        if (opts.json) process.stdout.write(JSON.stringify(summary) + '\n');
        else
          process.stdout.write(
            `eval set ${set.name} ${outcome}: ${set.games} games on ${set.dataset} (eval split ${summary.eval_images} images, training pool ${summary.training_images}), setups ${set.setupsHash.slice(0, 12)}\n`,
          );
      } finally {
        await ch.close();
      }
    });

  evalCommand
    .command('run')
    .description('play exactly the games of an eval set (tagged as evaluation, never in the training dataset); success rate with a Wilson 95% interval')
    .argument('<name>', 'eval set name')
    .option('--questioner-model <m>', 'model name the questioner plays with (default QUESTIONER_MODEL)')
    .option('--answerer-model <m>', 'model name the answerer plays with (default ANSWERER_MODEL)')
    .option('--iteration <k>', 'iteration recorded on the games', integerArg('--iteration', 0), 0)
    .option('--timeout <s>', 'how long to wait for verdicts, in seconds', integerArg('--timeout', 1), 900)
    .option('--json', 'print the result as one JSON object on the last line')
    .action(async (name: string, opts: RunOptions) => {
      const config = loadConfigOrExit();
      await migrateClickHouse({ ...config.clickhouse });
      const ch = new ClickHouseConnection({ ...config.clickhouse });
      try {
        const result = await runEvalSet(config, ch, name, {
          ...(opts.questionerModel ? { questionerModel: opts.questionerModel } : {}),
          ...(opts.answererModel ? { answererModel: opts.answererModel } : {}),
          iteration: opts.iteration,
          timeoutMs: opts.timeout * 1000,
          say: (line) => process.stderr.write(`${line}\n`),
        });
        if (opts.json) process.stdout.write(JSON.stringify(result) + '\n');
        else {
          process.stdout.write(
            `eval ${result.eval_set} (${result.run_id}): ${result.succeeded}/${result.games} succeeded, success rate ${result.success_rate} [95% CI ${result.ci_low}-${result.ci_high}], questioner ${result.questioner_model}, answerer ${result.answerer_model}\n`,
          );
        }
        if (result.missing > 0) {
          process.stderr.write(`dg eval run: ${result.missing} games had no verdict within ${opts.timeout} s (counted as failures)\n`);
          process.exitCode = 1;
        }
      } finally {
        await ch.close();
      }
    });

  evalCommand
    .command('list')
    .description('the stored eval sets')
    .option('--json', 'one JSON array')
    .action(async (opts: { json?: boolean }) => {
      const config = loadConfigOrExit();
      await migrateClickHouse({ ...config.clickhouse });
      const ch = new ClickHouseConnection({ ...config.clickhouse });
      try {
        const sets = await listEvalSets(ch, config.clickhouse.database);
        if (opts.json) process.stdout.write(JSON.stringify(sets) + '\n');
        else
          for (const s of sets)
            process.stdout.write(
              `${s.name}  ${s.dataset}  ${s.games} games  seed ${s.seed}  ${s.numCandidates} candidates  setups ${s.setupsHash.slice(0, 12)}\n`,
            );
      } finally {
        await ch.close();
      }
    });
}
