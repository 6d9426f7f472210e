import { fork, type ChildProcess } from 'node:child_process';
import { mkdtemp, open, rm } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { ClickHouseConnection, migrateClickHouse, sql } from '../core/clickhouse';
import type { RoleName } from '../core/bus';
import type { DatasetImage } from '../datasets/dataset';
import { loadDataset } from '../datasets/resolve';
import { buildGameRequest, type LaunchPlan } from '../launcher/game-requests';
import { launchGames, planFrom, standaloneBus } from '../launcher/launcher';
import {
  callMixFigures,
  cpuCores,
  cpuMsPerCall,
  endpointFigures,
  hopFigures,
  rssDriftMib,
  targetChecks,
  totalCallsPerS,
  type CallMixFigures,
  type EndpointFigures,
  type HopFigures,
  type TargetCheck,
} from './bound-report';
import type { SimProcessMessage, SimProcessStats } from './bound-sim';
import { abortableSleep, type Bench, type BenchContext } from './context';
import { benchDatabase, benchTopicPrefix, deferIsolationCleanup, dropDatabase, uniqueSuffix } from './isolation';
import { lockStep } from './lockstep';
import type { RoleAgentReply, RoleProcessStats } from './role-agent';
import { VerdictWatcher } from './verdict-watcher';
import {
  brokerJit,
  cpuSnapshot,
  hostCpuBusy,
  localStackPids,
  runQueueFigures,
  stackCpuCores,
  type CpuSnapshot,
  type RunQueueFigures,
  type StackComponent,
} from './host-cpu';
import { perSecond, ratioFigure, significant } from './stats';

export interface BoundBenchOptions {
  /** Model-call concurrency per role (QUESTIONER_/ANSWERER_CONCURRENCY). */
  concurrency: number;
  latencyMs: number;
  jitterMs: number;
  /** Games kept in flight in the streaming phases (default 4 × concurrency). */
  gamesInFlight?: number;
  /** Games in flight of the memory phase (full run only). */
  memoryGames: number;
  /** Only the 10-minute soak (flat RSS check) instead of the figures. */
  soak: boolean;
  /** Write V8 CPU profiles of every role process here (node --cpu-prof). */
  profileDir?: string;
  /** Node/V8 flags of the role processes instead of ROLE_NODE_FLAGS (to measure your own NODE_OPTIONS). */
  roleNodeFlags?: readonly string[];
}

export interface RoleFigures {
  cpu_cores: number;
  peak_rss_mib: number;
  heap_used_mib: number;
  /** Buffers and other memory outside the JS heap at the end of the window. */
  external_mib: number;
  loop_delay_p99_ms: number;
  hop: HopFigures;
  /** Publish call → broker acknowledgement of the records this process published (the producer's share of a hop). */
  publish_ack?: HopFigures;
  /** Round trip of each produce request this process's publisher sent (one sample per request). */
  produce_request?: HopFigures;
  /** How long the main thread (the event loop) was runnable but had no core: CPU queueing. */
  run_queue?: RunQueueFigures | null;
  /**
   * CPU ms this process spent per model call of the window: per call of its own endpoint for the
   * questioner and answerer(s), per call of both endpoints for the other roles.
   */
  cpu_ms_per_call?: number | null;
}

export interface StreamingPhase {
  games_in_flight: number;
  window_s: number;
  model_calls_per_s: number;
  /** Little's-law bound of both endpoints together. */
  bound_calls_per_s: number;
  utilisation: number | null;
  endpoints: Record<'questioner' | 'answerer', EndpointFigures>;
  /** The bound the game's call mix allows (the answerer gets fewer calls than the questioner). */
  call_mix?: CallMixFigures;
  games_per_s: number;
  /** Publish → handler start over every role process. */
  hop: HopFigures;
  /** Publish → broker acknowledgement over every role process: how much of a hop is the producer's and the broker's append. */
  publish_ack?: HopFigures;
  /** Round trip of each produce request over every role process: a publish's ack minus this is its wait behind the request in flight. */
  produce_request?: HopFigures;
  roles: Record<string, RoleFigures>;
  simulator_cpu_cores: number;
  /** Simulator process (both endpoints' servers) CPU ms per model call. */
  simulator_cpu_ms_per_call?: number | null;
  simulator_loop_delay_p99_ms?: number | null;
  simulator_run_queue?: RunQueueFigures | null;
  /** Load average (1 min) of the host at the end of the window: other work on the machine. */
  host_load_1m: number;
  /** Fraction of all the host's CPU time busy during the window (null off Linux). */
  host_cpu_busy?: number | null;
  /** Cores the local stack's processes used during the window (null: not a local stack). */
  stack_cpu_cores?: Record<StackComponent, number | null>;
  /** The local broker's JIT: 'c1-only' costs it more CPU per request than deployed brokers ('tiered'). */
  stack_kafka_jit?: 'c1-only' | 'tiered' | null;
  /** Cores of the bench process itself (it launches the games and watches the verdicts): load generator, not pipeline. */
  bench_process_cpu_cores?: number;
}

export interface BoundBenchResult {
  concurrency: number;
  latency_ms: number;
  jitter_ms: number;
  /** The role processes' Node/V8 flags (ROLE_NODE_FLAGS unless --role-node-options). */
  role_node_flags?: string[];
  streaming?: StreamingPhase;
  scale_out?: StreamingPhase & { answerer_processes: number };
  lock_step?: {
    games_in_flight: number;
    window_s: number;
    model_calls_per_s: number;
    batches: number;
    games_per_s: number;
    endpoints: Record<'questioner' | 'answerer', EndpointFigures>;
  };
  streaming_over_lock_step?: number | null;
  scale_out_over_streaming?: number | null;
  memory?: { games_in_flight: number; window_s: number; peak_rss_mib: Record<string, number>; max_role_rss_mib: number; model_calls_per_s: number };
  soak?: {
    games_in_flight: number;
    duration_s: number;
    /** Samples of the measured window (after the warm-up), every 5 s. */
    rss_samples_mib: Record<string, number[]>;
    rss_drift_mib: Record<string, number | null>;
    /** The same drift over the window's second half: memory that levels off (bounded caches filling) shows ~0 here. */
    rss_drift_second_half_mib: Record<string, number | null>;
  };
  targets: TargetCheck[];
}

const POLL_MS = 500;
/** Longest wait between two top-ups of the games in flight (a verdict tops up at once). */
const TOP_UP_MS = 50;
const STALL_MS = 180_000;
/** Longest wait for a phase's games to finish before the next phase starts. */
const DRAIN_MS = 180_000;
const ROLES: readonly RoleName[] = ['questioner', 'answerer', 'referee', 'filter', 'sink'];
/**
 * V8 flags of the role processes, as recommended for deployment (NODE_OPTIONS): without them a busy
 * player role commits ~400 MiB RSS for ~90 MiB of live heap; with them 170 MiB at 1,000 games in
 * flight, same throughput (bound bench, 21:15 run). Size the old space to ~2× the heap used. 160
 * rather than 192 (session 15): the questioner's peak RSS at 1,000 games in flight 239 → 229 MiB on
 * Node 24 (250 MB = 238.4 MiB is the target), no CPU per call change beyond the runs' noise.
 */
export const ROLE_NODE_FLAGS: readonly string[] = ['--max-semi-space-size=8', '--max-old-space-size=160'];
/**
 * Environment of the role processes beyond their configuration, as the image sets it (Dockerfile
 * ENV). glibc gives each thread that mallocs (V8's compiler and GC helpers, libuv's pool) an arena
 * of its own, up to 8 per core, and keeps what they freed: with 2 arenas the questioner's peak RSS
 * was 235 against 259 MiB in a quick bound run, at the same CPU per call.
 */
export const ROLE_PROCESS_ENV: Readonly<Record<string, string>> = { MALLOC_ARENA_MAX: '2' };

export function boundBench(options: BoundBenchOptions): Bench<BoundBenchResult> {
  return { name: 'bound', timeoutMs: options.soak ? 20 * 60_000 : 15 * 60_000, run: (ctx) => runBoundBench(ctx, options) };
}

/** A forked process with an IPC request/response channel. */
class Child {
  private nextId = 1;
  private readonly pending = new Map<number, (value: unknown) => void>();
  readonly exited: Promise<number | null>;

  constructor(
    readonly name: string,
    readonly proc: ChildProcess,
  ) {
    proc.on('message', (message: { type?: string; id?: number }) => {
      if (message.type === 'stats' && message.id !== undefined) {
        this.pending.get(message.id)?.(message);
        this.pending.delete(message.id);
      }
    });
    this.exited = new Promise((resolve) => proc.once('exit', (code) => resolve(code)));
  }

  request<T>(message: Record<string, unknown>, timeoutMs = 20_000): Promise<T> {
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new Error(`${this.name} did not answer a stats request within ${timeoutMs / 1000} s`));
      }, timeoutMs);
      this.pending.set(id, (value) => {
        clearTimeout(timer);
        resolve(value as T);
      });
      this.proc.send({ ...message, id });
    });
  }

  get alive(): boolean {
    return this.proc.exitCode === null && this.proc.signalCode === null;
  }

  /** SIGTERM (the role drains), SIGKILL after `graceMs`. */
  async stop(graceMs = 20_000): Promise<string> {
    if (!this.alive) return `${this.name} had exited (${this.proc.exitCode ?? this.proc.signalCode})`;
    this.proc.kill('SIGTERM');
    const timer = setTimeout(() => this.proc.kill('SIGKILL'), graceMs);
    const code = await this.exited;
    clearTimeout(timer);
    return `${this.name} stopped (${code ?? this.proc.signalCode})`;
  }
}

async function runBoundBench(ctx: BenchContext, options: BoundBenchOptions): Promise<BoundBenchResult> {
  const C = options.concurrency;
  const roleNodeFlags = options.roleNodeFlags ?? ROLE_NODE_FLAGS;
  const gamesInFlight = options.gamesInFlight ?? 4 * C;
  const warmupMs = ctx.quick ? 8_000 : 15_000;
  const windowMs = ctx.quick ? 12_000 : 30_000;
  const suffix = uniqueSuffix();
  const prefix = benchTopicPrefix('bound', suffix);
  const database = benchDatabase('bound', suffix);
  const workDir = await mkdtemp(join(tmpdir(), 'dg-bench-bound-'));
  // Process logs live here too; DG_BENCH_KEEP_LOGS=1 keeps them for a look afterwards.
  ctx.defer(`work dir ${workDir}`, async () => (process.env.DG_BENCH_KEEP_LOGS ? `kept ${workDir}` : rm(workDir, { recursive: true, force: true })));
  deferIsolationCleanup(ctx, prefix);
  ctx.defer(`clickhouse database ${database}`, async () => {
    await dropDatabase(ctx.config, database);
    return 'dropped';
  });
  const config = ctx.configWith({ DG_TOPIC_PREFIX: prefix, CLICKHOUSE_DATABASE: database, DG_DATA_DIR: workDir });
  await migrateClickHouse({ ...config.clickhouse });
  const ch = new ClickHouseConnection({ ...config.clickhouse });
  ctx.defer('clickhouse connection', () => ch.close());
  const dataset = await loadDataset('synthetic-v1', { datasetsDir: config.paths.datasetsDir });

  // The simulator, in its own process.
  const simLog = await open(join(workDir, 'sim.log'), 'a');
  ctx.defer('sim log', () => simLog.close());
  const simArgv = options.profileDir ? ['--cpu-prof', `--cpu-prof-dir=${options.profileDir}`, `--cpu-prof-name=simulator.${suffix}.cpuprofile`] : [];
  const sim = new Child(
    'simulator',
    fork(join(__dirname, 'bound-sim.js'), [String(options.latencyMs), String(options.jitterMs)], {
      execArgv: simArgv,
      stdio: ['ignore', simLog.fd, simLog.fd, 'ipc'],
    }),
  );
  ctx.defer('simulator process', () => sim.stop(5_000));
  const urls = await new Promise<Record<string, string>>((resolve, reject) => {
    sim.proc.on('message', (m: SimProcessMessage) => m.type === 'ready' && resolve(m.urls));
    void sim.exited.then((code) => reject(new Error(`simulator process exited (${code}) before it was ready; see its log`)));
  });
  ctx.progress(`simulator (SIMULATED VLM) at ${options.latencyMs}±${options.jitterMs} ms: questioner ${urls.questioner}, answerer ${urls.answerer}`);

  const roleEnv = (overrides: Record<string, string> = {}): NodeJS.ProcessEnv => ({
    ...process.env,
    ...ROLE_PROCESS_ENV,
    KAFKA_BROKERS: config.kafka.brokers.join(','),
    SCHEMA_REGISTRY_URL: config.schemaRegistry.url,
    CLICKHOUSE_URL: config.clickhouse.url,
    CLICKHOUSE_DATABASE: database,
    DG_TOPIC_PREFIX: prefix,
    DG_DATA_DIR: workDir,
    DG_DATASETS_DIR: config.paths.datasetsDir,
    DG_LOG_LEVEL: process.env.DG_LOG_LEVEL ?? 'warn',
    QUESTIONER_BASE_URL: urls.questioner!,
    ANSWERER_BASE_URL: urls.answerer!,
    QUESTIONER_MODEL: 'sim-vlm',
    ANSWERER_MODEL: 'sim-vlm',
    // C fixed: the adaptive limiter would otherwise grow past it (to *_MAX_CONCURRENCY).
    QUESTIONER_CONCURRENCY: String(C),
    QUESTIONER_MAX_CONCURRENCY: String(C),
    ANSWERER_CONCURRENCY: String(C),
    ANSWERER_MAX_CONCURRENCY: String(C),
    // Room for every game at this role at once (at most C of them call the endpoint, the rest wait
    // in the model client's limiter), so the bus's hop is not time spent queueing for the endpoint.
    DG_MAX_IN_FLIGHT: String(4 * C),
    ...overrides,
  });
  const children = new Map<string, Child>();
  const startRole = async (role: RoleName, name: string, env: NodeJS.ProcessEnv): Promise<Child> => {
    const log = await open(join(workDir, `${name}.log`), 'a');
    const execArgv = [...roleNodeFlags, '--require', join(__dirname, 'role-agent.js')];
    if (options.profileDir) execArgv.push('--cpu-prof', `--cpu-prof-dir=${options.profileDir}`, `--cpu-prof-name=${name}.${suffix}.cpuprofile`);
    // `dg run <role>` (dg-run.js is bin/dg without its rebuild check; the bench's own start built dist/).
    const child = new Child(name, fork(join(__dirname, 'dg-run.js'), ['run', role], { env, execArgv, stdio: ['ignore', log.fd, log.fd, 'ipc'] }));
    void child.exited.then(() => log.close());
    children.set(name, child);
    return child;
  };
  const stopRoles = async (names: readonly string[]): Promise<void> => {
    await Promise.all(
      names.map(async (name) => {
        const child = children.get(name);
        if (child) await child.stop();
        children.delete(name);
      }),
    );
  };
  ctx.defer('role processes', async () => {
    const notes = await Promise.all([...children.values()].map((c) => c.stop()));
    return notes.join('; ');
  });
  for (const role of ROLES) await startRole(role, role, roleEnv());
  ctx.progress(`role processes: ${ROLES.join(', ')} (each \`dg run <role>\`), concurrency ${C} per endpoint, logs in ${workDir}`);

  const bus = standaloneBus(config);
  ctx.defer('launcher bus', () => bus.close());
  const verdicts = new VerdictWatcher(bus, `${prefix}bench-verdicts`);
  await verdicts.start();
  ctx.defer('verdict watcher', () => verdicts.stop());

  const result: BoundBenchResult = {
    concurrency: C,
    latency_ms: options.latencyMs,
    jitter_ms: options.jitterMs,
    role_node_flags: [...roleNodeFlags],
    targets: [],
  };
  let phaseNumber = 0;
  const plan = (name: string): LaunchPlan =>
    planFrom(config, { datasetName: dataset.name, seed: 10_000 + phaseNumber++, runId: `bench-bound-${name}-${suffix}` });

  // As deployed for many games in flight: the player roles hold C handlers calling the endpoint
  // plus a quarter more (each running handler holds its built request, images included); the
  // other games wait in Kafka (backpressure), not in memory.
  const memoryInFlight = String(C + Math.ceil(C / 4));
  const restartPlayersForMemory = async (): Promise<void> => {
    await stopRoles(['questioner', 'answerer']);
    await startRole('questioner', 'questioner', roleEnv({ DG_MAX_IN_FLIGHT: memoryInFlight }));
    await startRole('answerer', 'answerer', roleEnv({ DG_MAX_IN_FLIGHT: memoryInFlight }));
  };

  if (options.soak) {
    const soakMs = 10 * 60_000;
    const samples: Record<string, number[]> = {};
    await restartPlayersForMemory();
    ctx.progress(
      `soak: ${options.memoryGames} games in flight for ${soakMs / 60_000} minutes, RSS sampled every 5 s (questioner and answerer with DG_MAX_IN_FLIGHT=${memoryInFlight})`,
    );
    await streamGames(ctx, {
      ch,
      bus,
      images: dataset.images,
      plan: plan('soak'),
      inFlight: options.memoryGames,
      warmupMs: 30_000,
      windowMs: soakMs,
      children,
      sim,
      verdicts,
      sampleEveryMs: 5_000,
      onSample: (rss, inWindow) => {
        // The ramp to 1,000 games and the warm-up are not drift.
        if (inWindow) for (const [name, mib] of Object.entries(rss)) (samples[name] ??= []).push(mib);
      },
    });
    result.soak = {
      games_in_flight: options.memoryGames,
      duration_s: soakMs / 1000,
      rss_samples_mib: samples,
      rss_drift_mib: Object.fromEntries(Object.entries(samples).map(([name, values]) => [name, rssDriftMib(values)])),
      rss_drift_second_half_mib: Object.fromEntries(
        Object.entries(samples).map(([name, values]) => [name, rssDriftMib(values.slice(Math.floor(values.length / 2)))]),
      ),
    };
    return result;
  }

  ctx.progress(`streaming: ${gamesInFlight} games in flight, warm-up ${warmupMs / 1000} s, window ${windowMs / 1000} s (load ${loadavg()[0]!.toFixed(2)})`);
  result.streaming = await streamingPhase(ctx, {
    ch,
    bus,
    images: dataset.images,
    plan: plan('streaming'),
    inFlight: gamesInFlight,
    warmupMs,
    windowMs,
    children,
    sim,
    verdicts,
    concurrency: { questioner: C, answerer: C },
    configuredLatencyMs: options.latencyMs,
  });
  ctx.progress(`streaming: ${describePhase(result.streaming)}`);

  if (!ctx.quick && options.memoryGames > 0) {
    await restartPlayersForMemory();
    ctx.progress(`memory: ${options.memoryGames} games in flight (questioner and answerer restarted with DG_MAX_IN_FLIGHT=${memoryInFlight})`);
    const peaks: Record<string, number> = {};
    const phase = await streamGames(ctx, {
      ch,
      bus,
      images: dataset.images,
      plan: plan('memory'),
      inFlight: options.memoryGames,
      warmupMs: 10_000,
      windowMs: 20_000,
      children,
      sim,
      verdicts,
      sampleEveryMs: 1_000,
      onSample: (rss) => {
        for (const [name, mib] of Object.entries(rss)) peaks[name] = Math.max(peaks[name] ?? 0, mib);
      },
    });
    result.memory = {
      games_in_flight: options.memoryGames,
      window_s: 20,
      peak_rss_mib: Object.fromEntries(Object.entries(peaks).map(([k, v]) => [k, significant(v, 3)])),
      max_role_rss_mib: significant(Math.max(...Object.values(peaks)), 3),
      model_calls_per_s: phase.callsPerS,
    };
    ctx.progress(`memory: peak RSS per role ${JSON.stringify(result.memory.peak_rss_mib)} MiB`);
  }

  // Scale-out: the answerer as two processes with the concurrency split between them.
  const half = Math.max(1, Math.floor(C / 2));
  ctx.progress(`scale-out: two answerer processes with concurrency ${half} each`);
  await stopRoles(['answerer']);
  if (!ctx.quick && options.memoryGames > 0) {
    await stopRoles(['questioner']);
    await startRole('questioner', 'questioner', roleEnv());
  }
  await startRole(
    'answerer',
    'answerer-1',
    roleEnv({ ANSWERER_CONCURRENCY: String(half), ANSWERER_MAX_CONCURRENCY: String(half), DG_MAX_IN_FLIGHT: String(4 * half) }),
  );
  await startRole(
    'answerer',
    'answerer-2',
    roleEnv({ ANSWERER_CONCURRENCY: String(C - half), ANSWERER_MAX_CONCURRENCY: String(C - half), DG_MAX_IN_FLIGHT: String(4 * (C - half)) }),
  );
  const scaleOut = await streamingPhase(ctx, {
    ch,
    bus,
    images: dataset.images,
    plan: plan('scale-out'),
    inFlight: gamesInFlight,
    warmupMs: warmupMs + 5_000,
    windowMs,
    children,
    sim,
    verdicts,
    concurrency: { questioner: C, answerer: C },
    configuredLatencyMs: options.latencyMs,
  });
  result.scale_out = { ...scaleOut, answerer_processes: 2 };
  result.scale_out_over_streaming = ratioFigure(scaleOut.model_calls_per_s, result.streaming.model_calls_per_s);
  ctx.progress(`scale-out: ${describePhase(scaleOut)}`);

  // Lock-step: the roles are stopped so that only the baseline talks to the simulator.
  await stopRoles([...children.keys()]);
  ctx.progress(`lock-step: ${gamesInFlight} games, one turn per batch, concurrency ${C} per endpoint, ${windowMs / 1000} s`);
  const lockPlan = plan('lock-step');
  const now = Date.now();
  const simBefore = await simStats(sim);
  const lock = await lockStep((i) => buildGameRequest(lockPlan, dataset.images, i, now).game, gamesInFlight, {
    urls: { questioner: urls.questioner!, answerer: urls.answerer! },
    model: 'sim-vlm',
    concurrency: C,
    durationMs: windowMs,
    signal: ctx.signal,
  });
  const simAfter = await simStats(sim);
  const lockWindow = simAfter.atMs - simBefore.atMs;
  const lockCallsPerS = perSecond(lock.calls, lock.elapsedMs);
  result.lock_step = {
    games_in_flight: gamesInFlight,
    window_s: significant(lock.elapsedMs / 1000, 3),
    model_calls_per_s: significant(lockCallsPerS),
    batches: lock.batches,
    games_per_s: significant(perSecond(lock.gamesFinished, lock.elapsedMs)),
    endpoints: {
      questioner: endpointFigures(simBefore.endpoints.questioner!, simAfter.endpoints.questioner!, lockWindow, C, options.latencyMs),
      answerer: endpointFigures(simBefore.endpoints.answerer!, simAfter.endpoints.answerer!, lockWindow, C, options.latencyMs),
    },
  };
  result.streaming_over_lock_step = ratioFigure(result.streaming.model_calls_per_s, lockCallsPerS);
  ctx.progress(`lock-step: ${result.lock_step.model_calls_per_s} calls/s; streaming ÷ lock-step ${result.streaming_over_lock_step}`);

  result.targets = targetChecks({
    utilisation: [result.streaming.endpoints.questioner.utilisation, result.streaming.endpoints.answerer.utilisation],
    ...(result.streaming.call_mix
      ? { callMixUtilisation: [result.streaming.call_mix.questioner_utilisation, result.streaming.call_mix.answerer_utilisation] }
      : {}),
    streamingOverLockStep: result.streaming_over_lock_step,
    hop: result.streaming.hop,
    peakRssMibAt1000: result.memory?.max_role_rss_mib ?? null,
  });
  return result;
}

function describePhase(p: StreamingPhase): string {
  const cpu = Object.entries(p.roles)
    .map(([name, r]) => `${name} ${r.cpu_cores}`)
    .join(', ');
  const perCall = Object.entries(p.roles)
    .map(([name, r]) => `${name} ${r.cpu_ms_per_call ?? '-'}`)
    .join(', ');
  const q = p.endpoints.questioner;
  const a = p.endpoints.answerer;
  return `${p.model_calls_per_s} calls/s of bound ${p.bound_calls_per_s} (utilisation ${p.utilisation}; mean latency ${q.mean_latency_ms}/${a.mean_latency_ms} ms, of which handling ${q.mean_upstream_latency_ms}/${a.mean_upstream_latency_ms} ms; of the configured mean's bound ${q.utilisation_of_configured}/${a.utilisation_of_configured}), hop p50/p99 ${p.hop.p50_ms}/${p.hop.p99_ms} ms (publish→acked ${p.publish_ack?.p50_ms ?? '-'}/${p.publish_ack?.p99_ms ?? '-'}, produce request ${p.produce_request?.p50_ms ?? '-'}/${p.produce_request?.p99_ms ?? '-'}); CPU cores: ${cpu}, simulator ${p.simulator_cpu_cores}; CPU ms per model call: ${perCall}, simulator ${p.simulator_cpu_ms_per_call ?? '-'} (loop p99 ${p.simulator_loop_delay_p99_ms ?? '-'} ms); load ${p.host_load_1m}`;
}

async function simStats(sim: Child, reset = false): Promise<SimProcessStats> {
  return (await sim.request<{ stats: SimProcessStats }>({ type: 'stats', reset })).stats;
}

/**
 * Every live role's figures. A loaded host can keep a starting process from answering for a while:
 * window boundaries wait long; samples (`optional`) skip a role that does not answer in time.
 */
async function roleStats(
  children: Map<string, Child>,
  options: { reset?: boolean; hops?: boolean; optional?: boolean },
): Promise<Record<string, RoleProcessStats>> {
  const { optional, ...request } = options;
  const entries = await Promise.all(
    [...children]
      .filter(([, c]) => c.alive)
      .map(async ([name, child]) => {
        try {
          return [[name, (await child.request<RoleAgentReply>({ type: 'stats', ...request }, optional ? 5_000 : 90_000)).stats] as const];
        } catch (error) {
          if (optional) return [];
          throw error;
        }
      }),
  );
  return Object.fromEntries(entries.flat());
}

interface StreamRun {
  ch: ClickHouseConnection;
  bus: ReturnType<typeof standaloneBus>;
  images: readonly DatasetImage[];
  plan: LaunchPlan;
  inFlight: number;
  warmupMs: number;
  windowMs: number;
  children: Map<string, Child>;
  sim: Child;
  verdicts: VerdictWatcher;
  sampleEveryMs?: number;
  /** Every RSS sample, warm-up included (`inWindow` false) and in the measured window. */
  onSample?: (rssMib: Record<string, number>, inWindow: boolean) => void;
}

interface StreamOutcome {
  windowMs: number;
  finishedInWindow: number;
  callsPerS: number;
  simBefore: SimProcessStats;
  simAfter: SimProcessStats;
  rolesBefore: Record<string, RoleProcessStats>;
  rolesAfter: Record<string, RoleProcessStats>;
  peakRssMib: Record<string, number>;
  cpuBefore: CpuSnapshot;
  cpuAfter: CpuSnapshot;
  kafkaJit: 'c1-only' | 'tiered' | null;
  benchCpuBefore: NodeJS.CpuUsage;
  benchCpuAfter: NodeJS.CpuUsage;
}

/**
 * Keeps `inFlight` games of the plan unfinished (a game is finished once its row is in
 * ClickHouse), through a warm-up (which starts once the first game finished) and a measured window.
 */
async function streamGames(ctx: BenchContext, run: StreamRun): Promise<StreamOutcome> {
  const rowsWritten = async (): Promise<number> => {
    const [row] = await run.ch.query<{ n: number }>(sql`SELECT uniqExact(game_id) AS n FROM ${run.ch.table('games')} WHERE run_id = ${run.plan.runId}`);
    return Number(row?.n ?? 0);
  };
  const judged = (): number => run.verdicts.count(run.plan.runId);
  let launched = 0;
  let finished = 0;
  let lastProgress = performance.now();
  const peakRssMib: Record<string, number> = {};
  let lastSample = 0;
  let inWindow = false;
  const step = async (): Promise<void> => {
    ctx.checkpoint();
    const room = run.inFlight - (launched - judged());
    if (room > 0) {
      await launchGames(run.bus, run.plan, run.images, room, launched);
      launched += room;
    }
    // Top up at the next verdict (batched by the time a launch takes), not on a poll.
    await run.verdicts.changed(TOP_UP_MS);
    const now = judged();
    if (now > finished) lastProgress = performance.now();
    finished = now;
    if (performance.now() - lastProgress > STALL_MS)
      throw new Error(`no game of run ${run.plan.runId} was judged for ${STALL_MS / 1000} s (${finished} judged, ${launched} launched)`);
    if (run.sampleEveryMs !== undefined && performance.now() - lastSample >= run.sampleEveryMs) {
      lastSample = performance.now();
      const stats = await roleStats(run.children, { optional: true });
      const rss = Object.fromEntries(Object.entries(stats).map(([name, s]) => [name, s.rssBytes / 1_048_576]));
      for (const [name, mib] of Object.entries(rss)) peakRssMib[name] = Math.max(peakRssMib[name] ?? 0, mib);
      run.onSample?.(rss, inWindow);
    }
  };
  while (finished === 0) await step();
  const warmupEnd = performance.now() + run.warmupMs;
  while (performance.now() < warmupEnd) await step();
  const stackPids = localStackPids(ctx.config.stack.dir);
  const cpuBefore = cpuSnapshot(stackPids);
  const benchCpuBefore = process.cpuUsage();
  const rolesBefore = await roleStats(run.children, { reset: true });
  const simBefore = await simStats(run.sim, true);
  const finishedBefore = judged();
  const windowEnd = performance.now() + run.windowMs;
  inWindow = true;
  while (performance.now() < windowEnd) await step();
  inWindow = false;
  const simAfter = await simStats(run.sim);
  const rolesAfter = await roleStats(run.children, { hops: true });
  const cpuAfter = cpuSnapshot(stackPids);
  const benchCpuAfter = process.cpuUsage();
  const finishedAfter = judged();
  // Let this phase's games finish before the next phase starts, so phases do not share the
  // endpoints; and every launched game must reach ClickHouse (the sink kept up, lost nothing).
  const drainEnd = performance.now() + DRAIN_MS;
  let written = await rowsWritten();
  while (written < launched && performance.now() < drainEnd) {
    await abortableSleep(POLL_MS, ctx.signal);
    written = await rowsWritten();
  }
  if (written < launched) ctx.progress(`${launched - written} games of ${run.plan.runId} not in ClickHouse after ${DRAIN_MS / 1000} s; going on`);
  const windowMs = simAfter.atMs - simBefore.atMs;
  const calls = Object.keys(simAfter.endpoints).reduce((sum, k) => sum + simAfter.endpoints[k]!.calls - simBefore.endpoints[k]!.calls, 0);
  return {
    windowMs,
    finishedInWindow: finishedAfter - finishedBefore,
    callsPerS: significant(perSecond(calls, windowMs)),
    simBefore,
    simAfter,
    rolesBefore,
    rolesAfter,
    peakRssMib,
    cpuBefore,
    cpuAfter,
    kafkaJit: brokerJit(stackPids.kafka),
    benchCpuBefore,
    benchCpuAfter,
  };
}

async function streamingPhase(
  ctx: BenchContext,
  run: Omit<StreamRun, 'sampleEveryMs' | 'onSample'> & { concurrency: Record<'questioner' | 'answerer', number>; configuredLatencyMs: number },
): Promise<StreamingPhase> {
  const outcome = await streamGames(ctx, { ...run, sampleEveryMs: 2_000 });
  const endpoints = {
    questioner: endpointFigures(
      outcome.simBefore.endpoints.questioner!,
      outcome.simAfter.endpoints.questioner!,
      outcome.windowMs,
      run.concurrency.questioner,
      run.configuredLatencyMs,
    ),
    answerer: endpointFigures(
      outcome.simBefore.endpoints.answerer!,
      outcome.simAfter.endpoints.answerer!,
      outcome.windowMs,
      run.concurrency.answerer,
      run.configuredLatencyMs,
    ),
  };
  const totalPerS = endpoints.questioner.calls_per_s + endpoints.answerer.calls_per_s;
  const callsFor = (name: string): number =>
    name === 'questioner' ? endpoints.questioner.calls_per_s : name.startsWith('answerer') ? endpoints.answerer.calls_per_s : totalPerS;
  const roles: Record<string, RoleFigures> = {};
  const allHops: number[] = [];
  const allPublishAcks: number[] = [];
  const allProduceRequests: number[] = [];
  for (const [name, after] of Object.entries(outcome.rolesAfter)) {
    const before = outcome.rolesBefore[name];
    if (!before) continue;
    const roleWindow = after.atMs - before.atMs;
    for (const sample of after.hops.samples) allHops.push(sample);
    for (const sample of after.publishAcks.samples) allPublishAcks.push(sample);
    for (const sample of after.produceRequests.samples) allProduceRequests.push(sample);
    const cores = cpuCores(before.cpu, after.cpu, roleWindow);
    roles[name] = {
      cpu_cores: cores,
      // Unrounded cores: the per-call figure is compared before/after optimisations.
      cpu_ms_per_call: cpuMsPerCall((after.cpu.user - before.cpu.user + after.cpu.system - before.cpu.system) / 1000 / roleWindow, callsFor(name)),
      peak_rss_mib: significant(Math.max(outcome.peakRssMib[name] ?? 0, after.rssBytes / 1_048_576), 3),
      heap_used_mib: significant(after.heapUsedBytes / 1_048_576, 3),
      external_mib: significant(after.externalBytes / 1_048_576, 3),
      loop_delay_p99_ms: significant(after.loopDelayMs.p99, 3),
      hop: hopFigures(after.hops.samples),
      publish_ack: hopFigures(after.publishAcks.samples),
      produce_request: hopFigures(after.produceRequests.samples),
      run_queue: roundedRunQueue(runQueueFigures(before.runQueue, after.runQueue, roleWindow)),
    };
  }
  const bound = endpoints.questioner.bound_calls_per_s + endpoints.answerer.bound_calls_per_s;
  const callsPerS = totalCallsPerS([endpoints.questioner, endpoints.answerer]);
  return {
    games_in_flight: run.inFlight,
    window_s: significant(outcome.windowMs / 1000, 3),
    model_calls_per_s: callsPerS,
    bound_calls_per_s: significant(bound),
    utilisation: ratioFigure(callsPerS, bound),
    endpoints,
    call_mix: callMixFigures(endpoints.questioner, endpoints.answerer),
    games_per_s: significant(perSecond(outcome.finishedInWindow, outcome.windowMs)),
    hop: hopFigures(allHops),
    publish_ack: hopFigures(allPublishAcks),
    produce_request: hopFigures(allProduceRequests),
    roles,
    simulator_cpu_cores: cpuCores(outcome.simBefore.cpu, outcome.simAfter.cpu, outcome.windowMs),
    simulator_cpu_ms_per_call: cpuMsPerCall(
      (outcome.simAfter.cpu.user - outcome.simBefore.cpu.user + outcome.simAfter.cpu.system - outcome.simBefore.cpu.system) / 1000 / outcome.windowMs,
      totalPerS,
    ),
    simulator_loop_delay_p99_ms: outcome.simAfter.loopDelayMs ? significant(outcome.simAfter.loopDelayMs.p99, 3) : null,
    simulator_run_queue: roundedRunQueue(runQueueFigures(outcome.simBefore.runQueue, outcome.simAfter.runQueue, outcome.windowMs)),
    host_load_1m: significant(loadavg()[0]!, 3),
    host_cpu_busy: roundedOrNull(hostCpuBusy(outcome.cpuBefore.host, outcome.cpuAfter.host)),
    stack_cpu_cores: Object.fromEntries(
      Object.entries(stackCpuCores(outcome.cpuBefore, outcome.cpuAfter)).map(([component, cores]) => [component, roundedOrNull(cores)]),
    ) as Record<StackComponent, number | null>,
    stack_kafka_jit: outcome.kafkaJit,
    bench_process_cpu_cores: cpuCores(outcome.benchCpuBefore, outcome.benchCpuAfter, outcome.cpuAfter.atMs - outcome.cpuBefore.atMs),
  };
}

function roundedOrNull(value: number | null): number | null {
  return value === null ? null : significant(value, 3);
}

function roundedRunQueue(figures: RunQueueFigures | null): RunQueueFigures | null {
  return figures && { wait_ms_per_s: significant(figures.wait_ms_per_s, 3), wait_ms_per_slice: roundedOrNull(figures.wait_ms_per_slice) };
}
