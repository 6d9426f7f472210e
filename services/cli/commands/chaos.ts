import type { Command } from 'commander';
import { DEFAULT_CHAOS_OPTIONS, runChaos, type ChaosReport } from '../../chaos/runner';
import { startScratchStack } from '../../chaos/scratch-stack';
import { loadConfigOrExit } from '../../core/config';
import { configureLogging } from '../../core/logging';
import { stackSettingsFromEnv } from '../../local-stack';
import { integerArg } from '../args';

interface ChaosCliOptions {
  games: number;
  seed: number;
  duration: number;
  killEvery: number;
  restartDelay: number;
  brokerRestart: boolean;
  clickhouseStop: number;
  modelFaults: string;
  poison: number;
  drainTimeout: number;
  scratchStack?: boolean;
  keep?: boolean;
  json?: boolean;
}

/** `dg chaos`: games under a seeded fault schedule, then every guarantee checked (see docs/reliability.md). */
export function register(program: Command): void {
  const d = DEFAULT_CHAOS_OPTIONS;
  program
    .command('chaos')
    .description(
      'play games while role processes are kill -9ed, the broker restarts, ClickHouse stops and the model fails; then check nothing was lost or doubled',
    )
    .option('--games <n>', 'games to launch', integerArg('--games', 1), d.games)
    .option('--seed <s>', 'seed of the fault schedule, the poison and the games', integerArg('--seed', 0), d.seed)
    .option('--duration <s>', 'fault window in seconds (games are launched over its first 60%)', integerArg('--duration', 5), d.durationMs / 1000)
    .option('--kill-every <s>', 'kill -9 a random role process this often, seconds (0: never)', integerArg('--kill-every', 0), d.killEveryMs / 1000)
    .option('--restart-delay <s>', 'seconds a killed role stays down', integerArg('--restart-delay', 0), d.restartDelayMs / 1000)
    .option('--no-broker-restart', 'do not restart the Kafka broker')
    .option('--clickhouse-stop <s>', 'stop ClickHouse once for this many seconds (0: never)', integerArg('--clickhouse-stop', 0), d.clickhouseStopMs / 1000)
    .option('--model-faults <knobs>', 'simulator fault knobs appended to the model name (sim-vlm@<knobs>), e.g. fail=0.1 or err=0.05,fail=0.1', d.modelFaults)
    .option('--poison <n>', 'undecodable records injected on input topics (each must be dead-lettered)', integerArg('--poison', 0), d.poison)
    .option(
      '--drain-timeout <s>',
      'after the window, how long to wait for every verdict and empty lag',
      integerArg('--drain-timeout', 1),
      d.drainTimeoutMs / 1000,
    )
    .option('--scratch-stack', 'start a second local stack on free ports for the run and stop it afterwards (never touches the default one)')
    .option('--keep', 'keep the run topics, database and folder for inspection')
    .option('--json', 'print the report as one JSON object on the last line')
    .action(async (opts: ChaosCliOptions) => {
      loadConfigOrExit();
      // The run's own clients (launcher, checks) log Kafka reconnects while the broker is down on purpose: keep stderr for the run's lines.
      if (!process.env.DG_LOG_LEVEL) configureLogging({ level: 'silent' });
      const log = (line: string) => process.stderr.write(`${line}\n`);
      const scratch = opts.scratchStack ? await startScratchStack('chaos', (line) => log(`stack: ${line}`)) : undefined;
      let report: ChaosReport;
      try {
        report = await runChaos({
          games: opts.games,
          seed: opts.seed,
          durationMs: opts.duration * 1000,
          killEveryMs: opts.killEvery * 1000,
          restartDelayMs: opts.restartDelay * 1000,
          restartBroker: opts.brokerRestart,
          clickhouseStopMs: opts.clickhouseStop * 1000,
          modelFaults: opts.modelFaults,
          poison: opts.poison,
          drainTimeoutMs: opts.drainTimeout * 1000,
          stack: scratch?.settings ?? stackSettingsFromEnv(process.env),
          keep: opts.keep === true,
          log,
        });
      } finally {
        if (scratch) {
          log('stack: stopping the scratch stack');
          await scratch.stop();
        }
      }
      if (opts.json) process.stdout.write(`${JSON.stringify(report)}\n`);
      else process.stdout.write(formatReport(report));
      if (!report.ok) process.exitCode = 1;
    });
}

export function formatReport(r: ChaosReport): string {
  const f = r.figures;
  const lines = [
    `dg chaos ${r.runId} (seed ${r.seed}, model faults "${r.modelFaults}")`,
    `  games requested        ${f.requested}`,
    `  games with a verdict   ${f.games}  (success ${f.verdicts.success}, failure ${f.verdicts.failure} ${JSON.stringify(f.verdicts.failedBy)})`,
    `  lost                   ${f.lost}`,
    `  duplicate final rows   ${f.duplicateTerminalRows}  (raw game rows ${f.rawGameRows})`,
    `  unrequested games      ${r.unrequestedGames}`,
    `  kept / dataset lines   ${f.kept} / ${f.dataset.lines}  (duplicate lines ${f.dataset.duplicateLines}, kept without line ${f.dataset.keptWithoutLine}, lines not kept ${f.dataset.linesNotKept})`,
    `  stuck partitions       ${f.stuckPartitions.length}`,
    `  dead letters           ${f.deadLetters.total}  (injected poison ${f.deadLetters.injected}, dead-lettered ${f.deadLetters.poisonRecordsDeadLettered}, unexpected ${f.deadLetters.unexpected}) ${JSON.stringify(f.deadLetters.bySource)}`,
    `  model calls            ${f.modelCalls.served} served, failed ${JSON.stringify(f.modelCalls.failed)}; turns recorded ${f.modelCalls.turnsRecorded}`,
    `  faults                 ${r.faults.length}: ${r.faults.map((x) => `${x.atS}s ${x.kind}${x.role ? ` ${x.role}` : ''}`).join(', ')}`,
    `  unexpected exits       ${r.unexpectedExits.length}`,
    `  wall time              ${r.wallTimeS}s (all verdicts at ${r.allVerdictsAtS ?? 'never'}s)`,
    r.ok ? '  OK: every guarantee held' : `  PROBLEMS:\n${r.problems.map((p) => `    - ${p}`).join('\n')}`,
  ];
  return `${lines.join('\n')}\n`;
}
