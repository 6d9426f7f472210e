import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { InvalidArgumentError, type Command } from 'commander';
import { integerArg, nodeFlagsArg } from '../args';
import { BENCH_NAMES, renderTable, runBenches, tableRows, type BenchName } from '../../bench';
import { loadConfig, loadConfigOrExit, type ConfigOverrides } from '../../core/config';
import { stackAddresses, stackDown, stackSettingsFromEnv, stackStatus, stackUp } from '../../local-stack';

interface BenchOptions {
  quick?: boolean;
  json?: boolean;
  out?: string;
  only?: BenchName[];
  inFlight: number;
  stack: boolean;
  concurrency: number;
  latency: number;
  jitter: number;
  games?: number;
  memoryGames: number;
  soak?: boolean;
  profile?: string;
  roleNodeOptions?: string[];
}

function benchList(value: string): BenchName[] {
  const names = value
    .split(',')
    .map((n) => n.trim())
    .filter((n) => n !== '');
  const unknown = names.filter((n) => !(BENCH_NAMES as readonly string[]).includes(n));
  if (unknown.length > 0 || names.length === 0)
    throw new InvalidArgumentError(`--only takes a comma-separated list of ${BENCH_NAMES.join(', ')}, got "${value}"`);
  return names as BenchName[];
}

/**
 * `dg bench` (what `npm run bench` runs): codec, bus, end-to-end and sink figures, each with a
 * baseline measured in the same run, against the local stack (started when not running, and then
 * stopped afterwards). Progress on stderr; the table on stdout; with --json the JSON report as
 * the last stdout line.
 */
export function register(program: Command): void {
  program
    .command('bench')
    .description('throughput and memory benchmarks (codec, bus, end to end, sink), each with a same-run baseline and ratio')
    .option('--quick', 'smaller counts (well under a minute on an idle machine)')
    .option('--json', 'print the report as one JSON object on the last line')
    .option('--out <file>', 'also write the JSON report to this file (e.g. bench-results/<date>.json)')
    .option('--only <names>', `run only these benches: ${BENCH_NAMES.join(',')}`, benchList)
    .option('--in-flight <n>', 'games kept in flight by the end-to-end bench', integerArg('--in-flight', 1), 64)
    .option('--concurrency <n>', 'bound bench: model-call concurrency C per endpoint', integerArg('--concurrency', 1), 64)
    .option('--latency <ms>', 'bound bench: mean simulated model latency', integerArg('--latency', 0), 250)
    .option('--jitter <ms>', 'bound bench: latency jitter, uniform ± (default 20% of --latency)', integerArg('--jitter', 0))
    .option('--games <n>', 'bound bench: games in flight (default 4 × concurrency)', integerArg('--games', 1))
    .option('--memory-games <n>', 'bound bench: games in flight of the memory phase (0 skips it)', integerArg('--memory-games', 0), 1000)
    .option('--soak', 'bound bench only: 10 minutes at --memory-games games in flight, RSS per role sampled (flat-memory check)')
    .option('--profile <dir>', 'bound bench: write V8 CPU profiles of every role process to this folder')
    .option(
      '--role-node-options <flags>',
      'bound bench: Node/V8 flags of the role processes instead of the recommended ones (quote them)',
      nodeFlagsArg('--role-node-options'),
    )
    .option('--no-stack', 'do not check or start the local stack (use KAFKA_BROKERS etc. as configured)')
    .action(async (opts: BenchOptions) => {
      const settings = stackSettingsFromEnv(process.env);
      const addresses = stackAddresses(settings);
      const env = process.env;
      const base: ConfigOverrides = {
        // Role logs would drown the figures: warnings only, unless DG_LOG_LEVEL asks otherwise.
        ...(env.DG_LOG_LEVEL ? {} : { DG_LOG_LEVEL: 'warn' }),
        // The stack checked (or started) below is the one measured, unless addresses are set explicitly.
        ...(opts.stack && !env.KAFKA_BROKERS ? { KAFKA_BROKERS: addresses.kafkaBrokers } : {}),
        ...(opts.stack && !env.SCHEMA_REGISTRY_URL ? { SCHEMA_REGISTRY_URL: addresses.schemaRegistryUrl } : {}),
        ...(opts.stack && !env.CLICKHOUSE_URL ? { CLICKHOUSE_URL: addresses.clickhouseUrl } : {}),
      };
      const config = loadConfigOrExit(base);
      const configWith = (overrides: ConfigOverrides) => loadConfig(env, { ...base, ...overrides });
      const progress = (line: string): void => void process.stderr.write(`bench: ${line}\n`);
      const interrupt = new AbortController();
      const onSignal = (): void => {
        if (interrupt.signal.aborted) process.exit(130);
        progress('interrupted: stopping the running bench and cleaning up (again to force)');
        interrupt.abort(new Error('interrupted'));
      };
      process.on('SIGINT', onSignal);
      process.on('SIGTERM', onSignal);
      let stackStarted = false;
      try {
        const status = opts.stack ? await stackStatus(settings) : [];
        if (!status.every((c) => c.state === 'up' || c.state === 'foreign')) {
          // A stack of its own runs the broker as deployed (C2), unless DG_STACK_KAFKA_JIT says otherwise.
          const results = await stackUp(env.DG_STACK_KAFKA_JIT ? settings : { ...settings, kafkaJit: 'full' }, { log: (line) => progress(`stack: ${line}`) });
          stackStarted = results.some((r) => r.outcome === 'started');
        }
        const report = await runBenches({
          quick: opts.quick === true,
          only: opts.soak ? ['bound'] : (opts.only ?? BENCH_NAMES),
          inFlight: opts.inFlight,
          bound: {
            concurrency: opts.concurrency,
            latencyMs: opts.latency,
            jitterMs: opts.jitter ?? Math.round(opts.latency * 0.2),
            ...(opts.games === undefined ? {} : { gamesInFlight: opts.games }),
            memoryGames: opts.memoryGames,
            soak: opts.soak === true,
            ...(opts.profile === undefined ? {} : { profileDir: resolve(opts.profile) }),
            ...(opts.roleNodeOptions === undefined ? {} : { roleNodeFlags: opts.roleNodeOptions }),
          },
          config,
          configWith,
          stackStartedByBench: stackStarted,
          interrupt: interrupt.signal,
          progress,
        });
        process.stdout.write(`${renderTable(tableRows(report))}\n`);
        const json = JSON.stringify(report);
        if (opts.out) {
          const path = resolve(opts.out);
          await mkdir(dirname(path), { recursive: true });
          await writeFile(path, `${json}\n`);
          progress(`report written to ${path}`);
        }
        if (opts.json) process.stdout.write(`${json}\n`);
        if (!report.ok) process.exitCode = interrupt.signal.aborted ? 130 : 1;
      } finally {
        if (stackStarted) {
          try {
            await stackDown(settings, { log: (line) => progress(`stack: ${line}`) });
          } catch (err) {
            progress(`could not stop the stack: ${(err as Error).message}`);
            process.exitCode = 1;
          }
        }
        process.off('SIGINT', onSignal);
        process.off('SIGTERM', onSignal);
      }
    });
}
