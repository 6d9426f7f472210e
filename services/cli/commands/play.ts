import type { Command } from 'commander';
import { integerArg, questionModeArg } from '../args';
import { questionModeNames } from '../../game/variants';
import { ClickHouseConnection } from '../../core/clickhouse';
import { loadConfigOrExit } from '../../core/config';
import { loadDataset } from '../../datasets/resolve';
import { trainingDataset } from '../../launcher/holdout';
import { validatePlan } from '../../launcher/game-requests';
import { endOverdueGames, launchGames, planFrom, standaloneBus } from '../../launcher/launcher';
import { judgedGameIds, waitForRun, type RunSummary } from '../../launcher/run-summary';
import type { GameRequested, QuestionMode } from '../../../schemas/generated/events';

interface PlayOptions {
  games: number;
  candidates: number;
  maxTurns: number;
  iteration: number;
  dataset: string;
  questionerModel?: string;
  answererModel?: string;
  seed?: number;
  questionMode: QuestionMode;
  describeFirst?: boolean;
  runId?: string;
  wait?: boolean;
  json?: boolean;
  timeout: number;
}

/** `dg play`: launch games and optionally follow them to their verdicts. */
export function register(program: Command): void {
  program
    .command('play')
    .description('launch games (GameRequested); with --wait follow them until ClickHouse has every verdict')
    .requiredOption('--games <n>', 'number of games', integerArg('--games', 1))
    .option('--candidates <k>', 'candidate images per game (2-16)', integerArg('--candidates', 2), 4)
    .option('--max-turns <t>', 'questions before the questioner must guess', integerArg('--max-turns', 1), 10)
    .option('--iteration <i>', 'self-improvement iteration recorded on every game', integerArg('--iteration', 0), 0)
    .option('--dataset <d>', 'synthetic-v1 (bundled), a dataset name under DG_DATASETS_DIR, an image directory or a JSONL manifest', 'synthetic-v1')
    .option('--questioner-model <m>', 'model name the questioner plays with (default QUESTIONER_MODEL)')
    .option('--answerer-model <m>', 'model name the answerer plays with (default ANSWERER_MODEL)')
    .option('--seed <s>', 'launch seed (default random, recorded)', integerArg('--seed', 0))
    .option('--question-mode <mode>', `question mode: ${questionModeNames().join(' or ')}`, questionModeArg('--question-mode'), 'yesno')
    .option('--describe-first', 'the answerer opens with a description of the target')
    .option('--run-id <id>', 'run id (default generated)')
    .option('--wait', 'wait until every game has its row in ClickHouse, then print a summary')
    .option('--json', 'print the summary as one JSON object on the last line')
    .option('--timeout <s>', 'how long --wait waits, in seconds', integerArg('--timeout', 1), 900)
    .action(async (opts: PlayOptions) => {
      const config = loadConfigOrExit();
      const say = (line: string): void => {
        process.stderr.write(`${line}\n`);
      };
      const dataset = await trainingDataset(config, await loadDataset(opts.dataset, { datasetsDir: config.paths.datasetsDir }), say);
      for (const problem of dataset.problems.slice(0, 5))
        say(`dataset ${dataset.name}: skipped ${problem.path}${problem.line ? `:${problem.line}` : ''}: ${problem.message}`);
      const plan = planFrom(config, {
        datasetName: dataset.name,
        iteration: opts.iteration,
        candidates: opts.candidates,
        maxTurns: opts.maxTurns,
        questionMode: opts.questionMode,
        describeFirst: opts.describeFirst ?? false,
        ...(opts.seed !== undefined ? { seed: opts.seed } : {}),
        ...(opts.questionerModel ? { questionerModel: opts.questionerModel } : {}),
        ...(opts.answererModel ? { answererModel: opts.answererModel } : {}),
        ...(opts.runId ? { runId: opts.runId } : {}),
      });
      const problems = validatePlan(plan, dataset.images.length);
      if (problems.length > 0) {
        for (const p of problems) say(`dg play: ${p}`);
        process.exitCode = 2;
        return;
      }
      const startedAt = Date.now();
      const bus = standaloneBus(config);
      let launched: GameRequested[];
      try {
        launched = await launchGames(bus, plan, dataset.images, opts.games);
      } catch (err) {
        await bus.close();
        throw err;
      }
      say(`launched ${opts.games} games: run ${plan.runId}, iteration ${plan.iteration}, dataset ${plan.datasetName}, seed ${plan.seed}`);
      if (!opts.wait) {
        await bus.close();
        if (opts.json) process.stdout.write(JSON.stringify({ run_id: plan.runId, requested: opts.games, seed: plan.seed }) + '\n');
        return;
      }
      const ch = new ClickHouseConnection({ ...config.clickhouse });
      let summary: RunSummary;
      try {
        let last = -1;
        const waitUntil = startedAt + opts.timeout * 1000;
        const onProgress = (s: RunSummary): void => {
          if (s.games !== last) say(`  ${s.games}/${opts.games} games judged, ${s.succeeded} succeeded, ${s.kept} kept`);
          last = s.games;
        };
        // Wait until the deadline of the last game (or --timeout); games still without a verdict
        // then are ended as timeout by this launcher, and their verdicts awaited.
        const lastDeadline = Math.max(...launched.map((r) => r.game.header.deadlineAtMs)) + 5_000;
        summary = await waitForRun(ch, config.clickhouse.database, plan.runId, opts.games, startedAt, {
          timeoutMs: Math.min(waitUntil, lastDeadline) - Date.now(),
          onProgress,
        });
        if (summary.missing > 0 && Date.now() < waitUntil) {
          const ended = await endOverdueGames(bus, launched, await judgedGameIds(ch, config.clickhouse.database, plan.runId));
          say(`  ${ended.length} games passed their deadline without a verdict: ended as timeout`);
          summary = await waitForRun(ch, config.clickhouse.database, plan.runId, opts.games, startedAt, { timeoutMs: waitUntil - Date.now(), onProgress });
        }
      } finally {
        await ch.close();
        await bus.close();
      }
      if (opts.json) process.stdout.write(JSON.stringify(summary) + '\n');
      else {
        const failed =
          Object.entries(summary.failed)
            .map(([k, v]) => `${k}=${v}`)
            .join(' ') || 'none';
        process.stdout.write(
          `run ${summary.run_id}: ${summary.games}/${summary.requested} games, ${summary.succeeded} succeeded (success rate ${summary.success_rate}), failed: ${failed}, kept ${summary.kept}, ${summary.elapsed_s} s (${summary.games_per_s} games/s)\n`,
        );
      }
      if (summary.missing > 0) {
        say(`dg play: ${summary.missing} games had no verdict within ${opts.timeout} s`);
        process.exitCode = 1;
      }
    });
}
