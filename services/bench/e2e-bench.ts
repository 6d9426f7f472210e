import { mkdtemp, rm } from 'node:fs/promises';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { startRoles } from '../role-runtime/role-app';
import { ClickHouseConnection, migrateClickHouse, sql } from '../core/clickhouse';
import { ROLE_NAMES } from '../core/bus';
import type { DatasetImage } from '../datasets/dataset';
import { loadDataset } from '../datasets/resolve';
import { buildGameRequest, type LaunchPlan } from '../launcher/game-requests';
import { launchGames, planFrom, standaloneBus } from '../launcher/launcher';
import { DEFAULT_MODEL_PRESETS, startSimVlm } from '../sim-vlm';
import { abortableSleep, type Bench, type BenchContext } from './context';
import { benchDatabase, benchTopicPrefix, deferIsolationCleanup, dropDatabase, uniqueSuffix } from './isolation';
import { hostBusyCores, mebibytes, MemorySampler, readHostCpuTimes } from './memory';
import { transportGaps } from './hops';
import { simulatorBound } from './sim-bound';
import { percentile, perSecond, ratioFigure, significant } from './stats';

export interface E2eBenchResult {
  games: number;
  warmup_games: number;
  games_in_flight: number;
  candidates: number;
  max_turns: number;
  /** DG_MAX_IN_FLIGHT and <ROLE>_CONCURRENCY the roles ran with. */
  consumer_max_in_flight: number;
  model_concurrency: { questioner: number; answerer: number };
  /** First launch until every game has its ClickHouse row. */
  elapsed_s: number;
  games_per_s: number;
  /** requested_at_ms → ended_at_ms (GameEnded), from ClickHouse. */
  game_latency_ms: { p50: number; p95: number; max: number };
  /** Per model call: time from the previous step to the call's turn being recorded, minus the call (see hops.ts). */
  transport_gap_ms: { p50: number; p95: number };
  /** Model call latency as the roles measured it (HTTP to the in-process simulator), per turn. */
  model_call_ms: { p50: number; p95: number };
  model_calls: number;
  model_calls_per_s: number;
  mean_model_calls_per_game: number;
  success_rate: number;
  endings: Record<string, number>;
  idle_rss_mib: number;
  peak_rss_mib: number;
  idle_heap_used_mib: number;
  peak_heap_used_mib: number;
  memory_samples: number;
  /** CPU time of this process (all roles, the simulator, the driver) per wall-clock second while measuring. */
  process_cpu_cores: number;
  /** Busy cores of the whole host meanwhile (the stack and anything else running too); null off Linux. */
  host_busy_cores: number | null;
  /** (peak RSS − idle RSS) / games in flight. */
  rss_growth_per_in_flight_game_kib: number;
  /** The same games played by direct simulator calls, no transport (the ceiling). */
  simulator_bound_games_per_s: number;
  simulator_bound_model_calls_per_s: number;
  simulator_bound_model_calls: number;
  /** pipeline games/s ÷ simulator-bound games/s (1 = the pipeline costs nothing beyond the model). */
  ratio_to_simulator_bound: number | null;
}

interface GameTiming {
  game_id: string;
  requested_at_ms: number;
  ended_at_ms: number;
  questioner_latency_ms: number;
  turns_used: number;
  ending_kind: string;
  ended_by: string;
  verdict: string;
}

interface TurnTiming {
  game_id: string;
  speaker: 'questioner' | 'answerer';
  created_at_ms: number;
  latency_ms: number;
}

const LAUNCH_SEED = 20_261_127;
const POLL_MS = 100;
const STALL_MS = 60_000;

/**
 * Games per second through the whole pipeline in this process: every role (startRoles), the
 * simulated VLM on a free loopback port with zero latency and no errors, a topic prefix, ClickHouse
 * database and data directory of its own. A fixed number of games is kept in flight (topped up as
 * their rows land in ClickHouse) so latencies are game latencies, not queueing behind a burst.
 * Memory is sampled every 100 ms. Then the same games are played by direct simulator calls: the
 * ceiling the pipeline is compared with.
 */
export function e2eBench(options: { inFlight: number }): Bench<E2eBenchResult> {
  return { name: 'e2e', timeoutMs: 300_000, run: (ctx) => runE2eBench(ctx, options.inFlight) };
}

async function runE2eBench(ctx: BenchContext, inFlight: number): Promise<E2eBenchResult> {
  const count = ctx.quick ? 100 : 300;
  const warmup = Math.min(inFlight, 32);
  const suffix = uniqueSuffix();
  const prefix = benchTopicPrefix('e2e', suffix);
  const database = benchDatabase('e2e', suffix);
  const dataDir = await mkdtemp(join(tmpdir(), 'dg-bench-e2e-'));
  ctx.defer(`data dir ${dataDir}`, () => rm(dataDir, { recursive: true, force: true }));
  deferIsolationCleanup(ctx, prefix);
  ctx.defer(`clickhouse database ${database}`, async () => {
    await dropDatabase(ctx.config, database);
    return 'dropped';
  });

  const sim = await startSimVlm({
    host: '127.0.0.1',
    port: 0,
    defaults: { errorRate: 0, latencyMs: 0, latencyJitterMs: 0, failureRate: 0 },
    models: DEFAULT_MODEL_PRESETS,
  });
  ctx.defer('simulated VLM', () => sim.close());
  const config = ctx.configWith({
    DG_TOPIC_PREFIX: prefix,
    CLICKHOUSE_DATABASE: database,
    DG_DATA_DIR: dataDir,
    QUESTIONER_BASE_URL: sim.baseUrl,
    ANSWERER_BASE_URL: sim.baseUrl,
    QUESTIONER_MODEL: 'sim-vlm',
    ANSWERER_MODEL: 'sim-vlm',
  });
  await migrateClickHouse({ ...config.clickhouse });
  const ch = new ClickHouseConnection({ ...config.clickhouse });
  ctx.defer('clickhouse connection', () => ch.close());
  const dataset = await loadDataset('synthetic-v1', { datasetsDir: config.paths.datasetsDir });

  ctx.progress(`starting roles (${ROLE_NAMES.join(', ')}) on prefix ${prefix}`);
  // Registered before it resolves: roles still starting when the bench is aborted are closed too.
  const starting = startRoles(config, ROLE_NAMES);
  let closing: Promise<void> | undefined;
  const closeRoles = (): Promise<void> =>
    (closing ??= starting.then(
      (app) => app.close(),
      () => undefined,
    ));
  ctx.defer('roles', closeRoles);
  await starting;
  const bus = standaloneBus(config);
  ctx.defer('launcher bus', () => bus.close());

  const warmupPlan = planFrom(config, { datasetName: dataset.name, seed: LAUNCH_SEED + 1, runId: `bench-warmup-${suffix}` });
  ctx.progress(`warm-up: ${warmup} games`);
  await playWindowed(ctx, { ch, bus, plan: warmupPlan, images: dataset.images, count: warmup, inFlight });

  const idle = process.memoryUsage();
  const sampler = new MemorySampler(100);
  const plan = planFrom(config, { datasetName: dataset.name, seed: LAUNCH_SEED, runId: `bench-e2e-${suffix}` });
  ctx.progress(`measuring: ${count} games, ${inFlight} in flight`);
  sampler.start();
  ctx.defer('memory sampler', async () => void sampler.stop());
  const cpuBefore = process.cpuUsage();
  const hostBefore = readHostCpuTimes();
  const elapsedMs = await playWindowed(ctx, { ch, bus, plan, images: dataset.images, count, inFlight });
  const cpu = process.cpuUsage(cpuBefore);
  const hostBusy = hostBusyCores(hostBefore, readHostCpuTimes(), cpus().length);
  const memory = sampler.stop();
  const timings = await ch.query<GameTiming>(sql`
    SELECT game_id, requested_at_ms, ended_at_ms, questioner_latency_ms, turns_used, toString(ending_kind) AS ending_kind, toString(ended_by) AS ended_by, toString(verdict) AS verdict
    FROM ${ch.table('games')} FINAL WHERE run_id = ${plan.runId}`);
  if (timings.length !== count) throw new Error(`ClickHouse has ${timings.length} games of run ${plan.runId}, expected ${count}`);
  const turns = await ch.query<TurnTiming>(sql`
    SELECT game_id, toString(speaker) AS speaker, created_at_ms, latency_ms
    FROM ${ch.table('turns')} FINAL WHERE run_id = ${plan.runId} ORDER BY game_id, turn_index`);
  const latencies = timings.map((t) => Number(t.ended_at_ms) - Number(t.requested_at_ms));
  const modelCalls = timings.reduce((sum, t) => sum + modelCallsOf(t), 0);
  const gaps = transportGapsOf(timings, turns);
  const modelCallMs = turns.map((t) => Number(t.latency_ms));
  const endings: Record<string, number> = {};
  for (const t of timings) endings[t.ending_kind] = (endings[t.ending_kind] ?? 0) + 1;
  const gamesPerSecond = perSecond(count, elapsedMs);
  ctx.progress(`pipeline: ${gamesPerSecond.toFixed(2)} games/s; stopping roles for the simulator-only bound`);

  await closeRoles();
  const now = Date.now();
  const sameGames = Array.from({ length: count }, (_, i) => buildGameRequest(plan, dataset.images, i, now).game);
  const bound = await simulatorBound(sameGames, { signal: ctx.signal });
  const boundGamesPerSecond = perSecond(bound.games, bound.elapsedMs);
  ctx.progress(`simulator bound: ${boundGamesPerSecond.toFixed(2)} games/s (${bound.modelCalls} model calls; pipeline made ${modelCalls})`);

  return {
    games: count,
    warmup_games: warmup,
    games_in_flight: inFlight,
    candidates: plan.numCandidates,
    max_turns: plan.maxTurns,
    consumer_max_in_flight: config.kafka.maxInFlight,
    model_concurrency: { questioner: config.models.questioner.concurrency, answerer: config.models.answerer.concurrency },
    elapsed_s: significant(elapsedMs / 1000),
    games_per_s: significant(gamesPerSecond),
    game_latency_ms: { p50: significant(percentile(latencies, 50)), p95: significant(percentile(latencies, 95)), max: Math.max(...latencies) },
    transport_gap_ms: { p50: significant(percentile(gaps, 50)), p95: significant(percentile(gaps, 95)) },
    model_call_ms: { p50: significant(percentile(modelCallMs, 50)), p95: significant(percentile(modelCallMs, 95)) },
    model_calls: modelCalls,
    model_calls_per_s: significant(perSecond(modelCalls, elapsedMs)),
    mean_model_calls_per_game: significant(modelCalls / count),
    success_rate: significant(timings.filter((t) => t.verdict === 'success').length / count),
    endings,
    idle_rss_mib: significant(mebibytes(idle.rss)),
    peak_rss_mib: significant(mebibytes(memory.peakRssBytes)),
    idle_heap_used_mib: significant(mebibytes(idle.heapUsed)),
    peak_heap_used_mib: significant(mebibytes(memory.peakHeapUsedBytes)),
    memory_samples: memory.samples,
    process_cpu_cores: significant((cpu.user + cpu.system) / 1000 / elapsedMs, 3),
    host_busy_cores: hostBusy === null ? null : significant(hostBusy, 3),
    rss_growth_per_in_flight_game_kib: significant(Math.max(0, memory.peakRssBytes - idle.rss) / 1024 / inFlight),
    simulator_bound_games_per_s: significant(boundGamesPerSecond),
    simulator_bound_model_calls_per_s: significant(perSecond(bound.modelCalls, bound.elapsedMs)),
    simulator_bound_model_calls: bound.modelCalls,
    ratio_to_simulator_bound: ratioFigure(gamesPerSecond, boundGamesPerSecond),
  };
}

function transportGapsOf(games: readonly GameTiming[], turns: readonly TurnTiming[]): number[] {
  const turnsByGame = new Map<string, TurnTiming[]>();
  for (const turn of turns) {
    const list = turnsByGame.get(turn.game_id) ?? [];
    list.push(turn);
    turnsByGame.set(turn.game_id, list);
  }
  return games.flatMap((g) =>
    transportGaps({
      requestedAtMs: Number(g.requested_at_ms),
      endedAtMs: Number(g.ended_at_ms),
      questionerLatencyMs: Number(g.questioner_latency_ms),
      endedByQuestionerOutput: modelCallsOf(g) > Number(g.turns_used),
      turns: (turnsByGame.get(g.game_id) ?? []).map((t) => ({ speaker: t.speaker, createdAtMs: Number(t.created_at_ms), latencyMs: Number(t.latency_ms) })),
    }),
  );
}

/**
 * Model calls a finished game cost: one per transcript turn, plus the questioner's last call when
 * it ended the game with its output (a guess, or output that could not go on).
 */
function modelCallsOf(t: GameTiming): number {
  const lastCallEnded = t.ended_by === 'questioner' && ['guess', 'no_guess', 'turn_limit', 'unparseable_output'].includes(t.ending_kind);
  return Number(t.turns_used) + (lastCallEnded ? 1 : 0);
}

/**
 * Launches `count` games of `plan`, keeping `inFlight` of them unfinished (a game is finished once
 * its row is in ClickHouse). Returns the milliseconds from the first launch to the last row.
 */
async function playWindowed(
  ctx: BenchContext,
  run: { ch: ClickHouseConnection; bus: ReturnType<typeof standaloneBus>; plan: LaunchPlan; images: readonly DatasetImage[]; count: number; inFlight: number },
): Promise<number> {
  const finishedGames = async (): Promise<number> => {
    const [row] = await run.ch.query<{ n: number }>(sql`SELECT uniqExact(game_id) AS n FROM ${run.ch.table('games')} WHERE run_id = ${run.plan.runId}`);
    return Number(row?.n ?? 0);
  };
  const started = performance.now();
  let launched = 0;
  let finished = 0;
  let lastProgress = started;
  while (finished < run.count) {
    ctx.checkpoint();
    const room = Math.min(run.inFlight - (launched - finished), run.count - launched);
    if (room > 0) {
      await launchGames(run.bus, run.plan, run.images, room, launched);
      launched += room;
    }
    await abortableSleep(POLL_MS, ctx.signal);
    const now = await finishedGames();
    if (now > finished) lastProgress = performance.now();
    finished = now;
    // A lost game would otherwise hold the bench until its hard timeout.
    if (performance.now() - lastProgress > STALL_MS)
      throw new Error(`no game of run ${run.plan.runId} finished for ${STALL_MS / 1000} s (${finished} of ${run.count} finished, ${launched} launched)`);
  }
  return performance.now() - started;
}
