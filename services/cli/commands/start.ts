import { spawn } from 'node:child_process';
import { join } from 'node:path';
import type { Command } from 'commander';
import { integerArg } from '../args';
import { ClickHouseConnection } from '../../core/clickhouse';
import { loadConfigOrExit, repoRoot, type DgConfig } from '../../core/config';
import { sleep } from '../../core/errors';
import { configureLogging } from '../../core/logging';
import { wantsHumanErrors } from '../cli-errors';
import { ROLE_NAMES } from '../../core/bus';
import { loadDataset } from '../../datasets/resolve';
import { trainingDataset } from '../../launcher/holdout';
import { validatePlan } from '../../launcher/game-requests';
import { endOverdueGames, launchGames, planFrom, standaloneBus } from '../../launcher/launcher';
import { judgedAmong } from '../../launcher/run-summary';
import type { GameRequested } from '../../../schemas/generated/events';
import { stackDown, stackSettingsFromEnv, stackUp } from '../../local-stack';
import { httpAnswers } from '../../local-stack/probes';
import { formatSnapshot, takeSnapshot } from '../live-view';
import { MetricsEndpoint } from '../../core/metrics';
import { startRoles } from '../../role-runtime/role-app';
import { startDashboard } from './dashboard';

interface StartOptions {
  inFlight: number;
  iteration: number;
  candidates: number;
  maxTurns: number;
  dataset: string;
  duration?: number;
  stack: boolean;
  simVlm: boolean;
  dashboard: boolean;
}

/**
 * `dg start` (what `npm start` runs): the local stack, every role, the simulated VLM and the bundled
 * dataset, playing games continuously with a live view. Ctrl-C stops everything it started.
 */
export function register(program: Command): void {
  program
    .command('start')
    .description('run everything locally: stack, all roles, the simulated VLM, continuous games and a live view of success rates')
    .option('--in-flight <n>', 'games kept in play at once', integerArg('--in-flight', 1), 64)
    .option('--iteration <i>', 'iteration recorded on the games', (v: string) => Number(v), 0)
    .option('--candidates <k>', 'candidates per game', integerArg('--candidates', 1), 4)
    .option('--max-turns <t>', 'questions per game', integerArg('--max-turns', 1), 10)
    .option('--dataset <d>', 'dataset to play on', 'synthetic-v1')
    .option('--duration <s>', 'stop by itself after this many seconds (default: until Ctrl-C)', integerArg('--duration', 1))
    .option('--no-stack', 'do not start the local stack (use KAFKA_BROKERS etc. as configured)')
    .option('--no-sim-vlm', 'do not start the simulated VLM (roles use QUESTIONER_BASE_URL / ANSWERER_BASE_URL)')
    .option('--no-dashboard', 'do not start the web dashboard (DG_DASHBOARD_HOST / DG_DASHBOARD_PORT, default 127.0.0.1:8088)')
    .action(async (opts: StartOptions) => {
      // The live view owns the terminal: role logs drop to warnings unless DG_LOG_LEVEL asks otherwise.
      const config = loadConfigOrExit(process.env.DG_LOG_LEVEL ? {} : { DG_LOG_LEVEL: 'warn' });
      const say = (line: string): void => void process.stdout.write(`${line}\n`);
      // A person at the terminal gets the failure as one message (printed by main), not every
      // connection retry on the way: start-up logs stay silent there, then warnings come back.
      const quietStartup = wantsHumanErrors() && !process.env.DG_LOG_LEVEL;
      if (quietStartup) configureLogging({ level: 'silent' });
      let failure: unknown;
      const cleanups: Array<{ what: string; run: () => Promise<unknown> }> = [];
      let stopRequested = false;
      const requestStop = (): void => {
        if (stopRequested) process.exit(130);
        stopRequested = true;
        say('\nstopping: draining roles, then stopping what was started (Ctrl-C again to force)');
      };
      process.on('SIGINT', requestStop);
      process.on('SIGTERM', requestStop);
      try {
        if (opts.stack) {
          const settings = stackSettingsFromEnv(process.env);
          const results = await stackUp(settings, { log: (line) => say(`stack: ${line}`) });
          if (results.some((r) => r.outcome === 'started'))
            cleanups.unshift({ what: 'local stack', run: () => stackDown(settings, { log: (line) => say(`stack: ${line}`) }) });
        }
        if (stopRequested) return;
        say(`dataset ${opts.dataset}: preparing (the bundled synthetic scenes are generated on first use)`);
        const dataset = await trainingDataset(config, await loadDataset(opts.dataset, { datasetsDir: config.paths.datasetsDir }), say);
        if (opts.simVlm) {
          const sim = await startSim(config);
          cleanups.unshift({ what: 'simulated VLM', run: () => sim.close() });
          say(`sim-vlm: SIMULATED VLM (not a real model) at ${sim.baseUrl}`);
        }
        const app = await startRoles(config, ROLE_NAMES);
        cleanups.unshift({ what: 'roles', run: () => app.close() });
        const metricsUrl = app.get(MetricsEndpoint, { strict: false }).url;
        say(`roles running: ${ROLE_NAMES.join(', ')}${metricsUrl ? ` (Prometheus metrics at ${metricsUrl}/metrics)` : ''}`);
        if (quietStartup) configureLogging({ level: config.log.level });
        if (opts.dashboard) {
          try {
            const dashboard = await startDashboard(config);
            cleanups.unshift({ what: 'dashboard', run: () => dashboard.close() });
            say(`dashboard: ${dashboard.url}/ (live charts and the dialog browser)`);
          } catch (err) {
            say(`dashboard not started: ${(err as Error).message}`);
          }
        }
        await playContinuously(config, dataset, opts, () => stopRequested, say);
      } catch (err) {
        failure = err;
      } finally {
        for (const cleanup of cleanups) {
          try {
            await cleanup.run();
            say(`stopped ${cleanup.what}`);
          } catch (err) {
            say(`could not stop ${cleanup.what}: ${(err as Error).message}`);
            process.exitCode = 1;
          }
        }
        process.off('SIGINT', requestStop);
        process.off('SIGTERM', requestStop);
      }
      // After the cleanup: main prints it (one readable line at a terminal) and exits 1.
      if (failure !== undefined) throw failure;
    });
}

/**
 * The simulator runs as its own `dg sim-vlm` process: Node runs one event loop per process, and the
 * roles alone keep one core busy, so the simulator on the other core roughly doubles games/s on a
 * 2-core machine. Resolves once it answers /healthz; close() stops it (SIGTERM, then SIGKILL).
 */
async function startSim(config: DgConfig): Promise<{ baseUrl: string; close(): Promise<void> }> {
  const url = `http://${config.simVlm.host}:${config.simVlm.port}`;
  if (await httpAnswers(`${url}/healthz`, undefined, 1_000)) {
    throw new Error(
      `cannot start the simulated VLM: ${config.simVlm.host}:${config.simVlm.port} is in use (set SIM_VLM_PORT, or --no-sim-vlm to use the server already there)`,
    );
  }
  const child = spawn(process.execPath, [join(repoRoot(), 'bin', 'dg'), 'sim-vlm'], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr = (stderr + chunk.toString('utf8')).slice(-4000)));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const deadline = Date.now() + 30_000;
  while (!(await httpAnswers(`${url}/healthz`, undefined, 1_000))) {
    if (child.exitCode !== null || Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`the simulated VLM did not start on ${url}: ${stderr.trim() || 'no output'}`);
    }
    await sleep(100);
  }
  return {
    baseUrl: `${url}/v1`,
    close: async () => {
      if (child.exitCode !== null) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
      await exited;
      clearTimeout(timer);
    },
  };
}

/** Keeps `inFlight` games in play: tops up whenever finished games (rows in ClickHouse) free a slot. */
async function playContinuously(
  config: DgConfig,
  dataset: Awaited<ReturnType<typeof loadDataset>>,
  opts: StartOptions,
  stopRequested: () => boolean,
  say: (line: string) => void,
): Promise<void> {
  const plan = planFrom(config, { datasetName: dataset.name, iteration: opts.iteration, candidates: opts.candidates, maxTurns: opts.maxTurns });
  const problems = validatePlan(plan, dataset.images.length);
  if (problems.length > 0) throw new Error(problems.join('; '));
  const bus = standaloneBus(config);
  const ch = new ClickHouseConnection({ ...config.clickhouse });
  const startedAt = Date.now();
  const stopAt = opts.duration ? startedAt + opts.duration * 1000 : Infinity;
  let launched = 0;
  let lastView = 0;
  // Games launched and not yet judged, so that none can hold a slot for ever: past its deadline a
  // game is ended as timeout here (a played ending that still arrives wins over it in ClickHouse).
  const unjudged = new Map<string, GameRequested>();
  say(
    `playing: run ${plan.runId}, iteration ${plan.iteration}, ${opts.inFlight} games in flight${opts.duration ? `, for ${opts.duration} s` : ''}; Ctrl-C to stop`,
  );
  try {
    while (!stopRequested() && Date.now() < stopAt) {
      const judged = await judgedAmong(ch, config.clickhouse.database, [...unjudged.keys()]);
      for (const id of judged) unjudged.delete(id);
      const overdue = await endOverdueGames(bus, [...unjudged.values()], judged);
      if (overdue.length > 0) say(`${overdue.length} games passed their deadline without a verdict: ended as timeout`);
      for (const id of overdue) unjudged.delete(id);
      if (unjudged.size < opts.inFlight) {
        const requests = await launchGames(bus, plan, dataset.images, opts.inFlight - unjudged.size, launched);
        for (const request of requests) unjudged.set(request.game.header.gameId, request);
        launched += requests.length;
      }
      if (Date.now() - lastView >= 2000) {
        const snapshot = await takeSnapshot(ch, config.clickhouse.database, { runId: plan.runId }, startedAt);
        say(formatSnapshot({ ...snapshot, inFlight: unjudged.size }));
        lastView = Date.now();
      }
      await sleep(500);
    }
    const final = await takeSnapshot(ch, config.clickhouse.database, { runId: plan.runId }, startedAt);
    say(`final: ${formatSnapshot(final)} (games still in flight are finished by the next start)`);
  } finally {
    await bus.close();
    await ch.close();
  }
}
