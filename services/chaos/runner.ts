import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, openSync, closeSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { topicName, type TopicKey } from '../../schemas/topics';
import type { GameRequested } from '../../schemas/generated/events';
import { busConfigFrom, ensureTopics } from '../core/bus';
import { ClickHouseConnection, identifier, migrateClickHouse, sql, table } from '../core/clickhouse';
import { EventCodec } from '../core/codec';
import { loadConfig, type DgConfig } from '../core/config';
import { repoRoot } from '../core/config/repo-root';
import { ROLE_INPUTS, ROLE_NAMES, type RoleName } from '../core/bus';
import { loadDataset } from '../datasets/resolve';
import { buildGameRequest } from '../launcher/game-requests';
import { planFrom, standaloneBus } from '../launcher/launcher';
import { stackAddresses, stackComponents, stackUp, type StackSettings } from '../local-stack';
import { pollUntil, readPidRecord, stopRecordedProcess } from '../local-stack/processes';
import { startSimVlm } from '../sim-vlm/server';
import { kafkaAdminFor, runChecks, type ChaosFigures } from './checks';
import { startModelCounter } from './model-counter';
import { chaosSchedule, modelWithFaults, seededRandom, type ChaosFault } from './schedule';

/**
 * `dg chaos`: N games with every role in its own process while a seeded schedule kill -9s role
 * processes, restarts the broker, stops ClickHouse, the simulator injects model faults and poison
 * records land on input topics; then every figure is read back and checked. Bounded in time; stops
 * everything it started. Runs under its own topic prefix, database and data folder.
 */

export interface ChaosOptions {
  games: number;
  seed: number;
  /** Fault window (and the span over which games are launched, the first 60% of it). */
  durationMs: number;
  killEveryMs: number;
  /** How long a killed role stays down before it is started again. */
  restartDelayMs: number;
  restartBroker: boolean;
  clickhouseStopMs: number;
  /** Simulator fault knobs appended to both roles' model names, e.g. `fail=0.1` (HTTP 500 on 10% of calls). */
  modelFaults: string;
  /** Undecodable records injected on input topics; each must end as a dead letter. */
  poison: number;
  /** After the window: how long to wait for every verdict and for every partition to drain. */
  drainTimeoutMs: number;
  stack: StackSettings;
  /** Broker restart and ClickHouse stop are only done on a stack whose processes this folder records. */
  keep: boolean;
  log: (line: string) => void;
}

export const DEFAULT_CHAOS_OPTIONS = {
  games: 2000,
  seed: 1,
  durationMs: 240_000,
  killEveryMs: 20_000,
  restartDelayMs: 2_000,
  restartBroker: true,
  clickhouseStopMs: 30_000,
  modelFaults: 'fail=0.1',
  poison: 6,
  drainTimeoutMs: 600_000,
  keep: false,
} as const;

/** After the window: no new verdict for this long, with no lag left anywhere, ends the wait. */
const STALL_MS = 90_000;

export interface ExecutedFault {
  atS: number;
  kind: ChaosFault['kind'];
  role?: RoleName;
  pid?: number;
  detail: string;
}

export interface ChaosReport {
  runId: string;
  seed: number;
  games: number;
  modelFaults: string;
  faults: ExecutedFault[];
  roleRestarts: Record<string, number>;
  /** Role processes that exited on their own (not killed by the schedule). */
  unexpectedExits: string[];
  figures: ChaosFigures;
  /** Games with a row that were never requested (must be 0). */
  unrequestedGames: number;
  wallTimeS: number;
  /** Seconds from start until every game had its verdict, or null if some never did. */
  allVerdictsAtS: number | null;
  problems: string[];
  ok: boolean;
}

interface RoleProcess {
  role: RoleName;
  child: ChildProcess;
  killedOnPurpose: boolean;
}

export async function runChaos(options: ChaosOptions): Promise<ChaosReport> {
  const started = Date.now();
  const at = () => Number(((Date.now() - started) / 1000).toFixed(1));
  const log = (line: string) => options.log(`chaos ${at().toFixed(1)}s: ${line}`);
  const id = `${Date.now().toString(36)}${randomBytes(2).toString('hex')}`;
  const runId = `chaos-${id}`;
  const prefix = `chaos-${id}.`;
  const poisonKeyPrefix = `${runId}-poison-`;
  const workDir = mkdtempSync(join(tmpdir(), `dg-chaos-${id}-`));
  const dataDir = join(workDir, 'data');
  const addresses = stackAddresses(options.stack);
  const isolation = {
    KAFKA_BROKERS: addresses.kafkaBrokers,
    SCHEMA_REGISTRY_URL: addresses.schemaRegistryUrl,
    CLICKHOUSE_URL: addresses.clickhouseUrl,
    DG_TOPIC_PREFIX: prefix,
    CLICKHOUSE_DATABASE: `dg_chaos_${id}`,
    DG_DATA_DIR: dataDir,
  };
  const config: DgConfig = loadConfig(process.env, isolation);
  const clickhouse = new ClickHouseConnection({ ...config.clickhouse });
  const codec = EventCodec.fromConfig(config);
  const cleanups: Array<() => Promise<unknown>> = [];
  const roles = new Map<RoleName, RoleProcess>();
  // Every process ever started, so none outlives the run whatever the schedule did.
  const allProcesses = new Set<RoleProcess>();
  const roleRestarts: Record<string, number> = {};
  const unexpectedExits: string[] = [];
  const executed: ExecutedFault[] = [];
  let stopping = false;

  const infraOwned = stackComponents(options.stack).every((c) => readPidRecord(join(c.homeDir, 'pid.json')) !== undefined);
  if ((options.restartBroker || options.clickhouseStopMs > 0) && !infraOwned) {
    throw new Error(
      `dg chaos: the stack in ${options.stack.stackDir} has no pid records of its own processes, so its broker and ClickHouse cannot be restarted; use --scratch-stack, or --no-broker-restart --clickhouse-stop 0`,
    );
  }

  try {
    log(
      `run ${runId}: ${options.games} games, seed ${options.seed}, window ${options.durationMs / 1000}s, kill every ${options.killEveryMs / 1000}s, broker restart ${options.restartBroker}, ClickHouse stop ${options.clickhouseStopMs / 1000}s, model faults "${options.modelFaults}", poison ${options.poison}`,
    );
    await migrateClickHouse({ ...config.clickhouse });
    await ensureTopics(busConfigFrom(config).kafka, prefix);
    await codec.registerAll();

    const sim = await startSimVlm({ port: 0 });
    cleanups.push(() => sim.close());
    const counter = await startModelCounter(sim.baseUrl);
    cleanups.push(() => counter.close());

    const logsDir = join(workDir, 'logs');
    mkdirSync(logsDir, { recursive: true });
    const roleEnv: NodeJS.ProcessEnv = {
      ...process.env,
      ...isolation,
      QUESTIONER_BASE_URL: counter.baseUrl,
      ANSWERER_BASE_URL: counter.baseUrl,
      // A kill -9'd member holds its partitions until the broker evicts it: keep that short.
      KAFKA_SESSION_TIMEOUT_MS: process.env.KAFKA_SESSION_TIMEOUT_MS || '10000',
      KAFKA_HEARTBEAT_INTERVAL_MS: process.env.KAFKA_HEARTBEAT_INTERVAL_MS || '1000',
      DG_LOG_LEVEL: process.env.DG_LOG_LEVEL || 'warn',
    };
    const startRole = (role: RoleName): void => {
      const out = openSync(join(logsDir, `${role}.log`), 'a');
      const child = spawn(process.execPath, [join(repoRoot(), 'bin', 'dg'), 'run', role], { env: roleEnv, stdio: ['ignore', out, out] });
      closeSync(out);
      const entry: RoleProcess = { role, child, killedOnPurpose: false };
      roles.set(role, entry);
      allProcesses.add(entry);
      child.once('exit', (code, signal) => {
        if (!entry.killedOnPurpose && !stopping) {
          unexpectedExits.push(`${role} pid ${child.pid} exited (code ${code}, signal ${signal}) at ${at()}s; restarted`);
          log(`${role} exited on its own (code ${code}, signal ${signal}); restarting`);
          roleRestarts[role] = (roleRestarts[role] ?? 0) + 1;
          setTimeout(() => {
            if (!stopping && roles.get(role) === entry) startRole(role);
          }, options.restartDelayMs);
        }
      });
    };
    for (const role of ROLE_NAMES) startRole(role);
    log(`roles started (logs in ${logsDir})`);

    // Games: deterministic ids, so a batch re-sent after a failed produce is the same games again.
    const images = (await loadDataset('synthetic-v1', { datasetsDir: config.paths.datasetsDir })).images;
    const baseModel = config.models.questioner.model;
    const plan = planFrom(config, {
      datasetName: 'synthetic-v1',
      runId,
      seed: options.seed,
      questionerModel: modelWithFaults(baseModel, options.modelFaults),
      answererModel: modelWithFaults(config.models.answerer.model, options.modelFaults),
    });
    const requestedIds: string[] = [];
    const launchBus = standaloneBus(config);
    cleanups.push(() => launchBus.close());
    const launchSpanMs = Math.max(1_000, options.durationMs * 0.6);
    const batches = Math.max(1, Math.min(options.games, Math.ceil(launchSpanMs / 1_000)));
    const perBatch = Math.ceil(options.games / batches);
    const usedBatches = Math.ceil(options.games / perBatch);
    const random = seededRandom(options.seed ^ 0x5eed);
    // Poison goes out after seeded batches, so it sits between good games on the partitions.
    const poisonAfter = Array.from({ length: options.poison }, () => Math.floor(random() * usedBatches));
    let poisonSent = 0;
    const sendPoison = async (): Promise<void> => {
      const role = ROLE_NAMES[Math.floor(random() * ROLE_NAMES.length)]!;
      const inputs: readonly TopicKey[] = ROLE_INPUTS[role];
      const key = inputs[Math.floor(random() * inputs.length)]!;
      await retrying(() => injectPoison(config, topicName(key, prefix), `${poisonKeyPrefix}${poisonSent}`, random), 'poison', log);
      poisonSent++;
    };
    const launching = (async () => {
      for (let b = 0; b < usedBatches && !stopping; b++) {
        const dueAt = started + (b * launchSpanMs) / batches;
        if (Date.now() < dueAt) await new Promise((r) => setTimeout(r, dueAt - Date.now()));
        const from = requestedIds.length;
        const count = Math.min(perBatch, options.games - from);
        const now = Date.now();
        const requests: GameRequested[] = Array.from({ length: count }, (_, i) => buildGameRequest(plan, images, from + i, now, `${runId}-g${from + i}`));
        await retrying(
          () => launchBus.publishBatch(requests.map((value) => ({ topic: 'gameRequested' as const, key: value.game.header.gameId, value }))),
          `launch batch ${b}`,
          log,
        );
        requestedIds.push(...requests.map((r) => r.game.header.gameId));
        for (const after of poisonAfter) if (after === b) await sendPoison();
      }
      while (poisonSent < options.poison && !stopping) await sendPoison();
      log(`launched ${requestedIds.length} games`);
    })();

    // Faults.
    const schedule = chaosSchedule({
      seed: options.seed,
      durationMs: options.durationMs,
      killEveryMs: options.killEveryMs,
      restartBroker: options.restartBroker,
      clickhouseStopMs: options.clickhouseStopMs,
    });
    const infraFaults: Array<Promise<void>> = [];
    const infraErrors: unknown[] = [];
    const infra = (task: () => Promise<void>): void => {
      infraFaults.push(task().catch((err: unknown) => void infraErrors.push(err)));
    };
    const faultsDone = (async () => {
      for (const fault of schedule) {
        const dueAt = started + fault.atMs;
        if (Date.now() < dueAt) await new Promise((r) => setTimeout(r, dueAt - Date.now()));
        if (stopping) return;
        if (fault.kind === 'kill-role') {
          const entry = roles.get(fault.role);
          // Faults delayed behind a broker restart fire together: never kill the same process twice.
          if (!entry || entry.killedOnPurpose || entry.child.exitCode !== null || entry.child.signalCode !== null) continue;
          entry.killedOnPurpose = true;
          const pid = entry.child.pid;
          entry.child.kill('SIGKILL');
          executed.push({
            atS: at(),
            kind: fault.kind,
            role: fault.role,
            pid,
            detail: `kill -9 ${fault.role} (pid ${pid}), restart in ${options.restartDelayMs / 1000}s`,
          });
          log(`kill -9 ${fault.role} (pid ${pid})`);
          roleRestarts[fault.role] = (roleRestarts[fault.role] ?? 0) + 1;
          setTimeout(() => {
            if (!stopping && roles.get(fault.role) === entry) startRole(fault.role);
          }, options.restartDelayMs);
        } else if (fault.kind === 'restart-broker') {
          // Infra faults run beside the kill schedule, which keeps its own clock.
          infra(async () => {
            const t = Date.now();
            const startedAtS = at();
            await stopComponent(options.stack, 'kafka');
            await stackUp(options.stack, { provisioners: [] });
            executed.push({ atS: startedAtS, kind: fault.kind, detail: `Kafka broker stopped and started again in ${((Date.now() - t) / 1000).toFixed(1)}s` });
            log(`broker restarted in ${((Date.now() - t) / 1000).toFixed(1)}s`);
          });
        } else {
          infra(async () => {
            const startedAtS = at();
            await stopComponent(options.stack, 'clickhouse');
            log(`ClickHouse stopped for ${fault.forMs / 1000}s`);
            await new Promise((r) => setTimeout(r, fault.forMs));
            const t = Date.now();
            await stackUp(options.stack, { provisioners: [] });
            executed.push({
              atS: startedAtS,
              kind: fault.kind,
              detail: `ClickHouse stopped for ${fault.forMs / 1000}s (up again in ${((Date.now() - t) / 1000).toFixed(1)}s)`,
            });
            log('ClickHouse started again');
          });
        }
      }
    })();

    // Progress while the window runs, then until every game has its verdict or the drain deadline passes.
    let allVerdictsAtS: number | null = null;
    const games = table(config.clickhouse.database, 'games');
    const countGames = async (): Promise<number> => {
      const [row] = await clickhouse.query<{ n: number | string }>(
        sql`SELECT count() AS n FROM (SELECT game_id FROM ${games} WHERE run_id = ${runId} GROUP BY game_id)`,
      );
      return Number(row?.n ?? 0);
    };
    let lastProgress = 0;
    const progress = async (): Promise<number> => {
      const n = await countGames().catch(() => -1);
      if (Date.now() - lastProgress >= 10_000) {
        lastProgress = Date.now();
        log(
          `verdicts ${n < 0 ? '? (ClickHouse down)' : n}/${requestedIds.length} launched, model calls ${counter.served} served ${JSON.stringify(counter.failed)}`,
        );
      }
      return n;
    };
    await launching;
    const windowEnd = started + options.durationMs;
    while (Date.now() < windowEnd) {
      await progress();
      await new Promise((r) => setTimeout(r, 1_000));
    }
    await faultsDone;
    await Promise.all(infraFaults);
    if (infraErrors.length > 0)
      throw new Error(`dg chaos: an infrastructure fault could not be carried out: ${String(infraErrors[0])}`, { cause: infraErrors[0] });
    executed.sort((x, y) => x.atS - y.atS);
    const drainDeadline = Date.now() + options.drainTimeoutMs;
    // Stop waiting early once nothing moves: no new verdict for STALL_MS while no partition has lag left
    // (the missing games are then lost, not late).
    const lagAdmin = kafkaAdminFor(config, 'dg-chaos-stall').admin();
    await lagAdmin.connect().catch(() => undefined);
    let lastCount = -1;
    let lastChange = Date.now();
    await pollUntil(
      async () => {
        const n = await progress();
        if (n >= requestedIds.length && allVerdictsAtS === null) allVerdictsAtS = at();
        if (n >= requestedIds.length) return true;
        if (n !== lastCount) {
          lastCount = n;
          lastChange = Date.now();
          return false;
        }
        if (Date.now() - lastChange < STALL_MS) return false;
        const lag = await lagOf(lagAdmin, prefix).catch(() => -1);
        if (lag === 0) {
          log(`no new verdict for ${STALL_MS / 1000}s and no lag left: ${requestedIds.length - n} games will not get one`);
          return true;
        }
        return false;
      },
      options.drainTimeoutMs,
      1_000,
    );
    await lagAdmin.disconnect().catch(() => undefined);
    // Verdicts are in; the last commits (and any straggling redelivery) settle before the roles stop.
    const kafka = kafkaAdminFor(config, 'dg-chaos-drain');
    const admin = kafka.admin();
    await admin.connect();
    await pollUntil(async () => (await lagOf(admin, prefix)) === 0, Math.max(5_000, Math.min(120_000, drainDeadline - Date.now())), 1_000);
    await admin.disconnect();

    stopping = true;
    log('stopping roles (SIGTERM, drain)');
    await stopRoles(allProcesses);
    const modelCalls = { served: counter.served, failed: { ...counter.failed } };
    const figures = await runChecks({ config, clickhouse, codec, runId, requestedIds, poisonKeyPrefix, injectedPoison: options.poison, modelCalls });
    const [unrequested] = await clickhouse.query<{ n: number | string }>(
      sql`SELECT count() AS n FROM (SELECT game_id FROM ${games} WHERE run_id = ${runId} GROUP BY game_id) WHERE NOT startsWith(game_id, ${`${runId}-g`})`,
    );
    const unrequestedGames = Number(unrequested?.n ?? 0);
    const problems = findProblems(figures, unrequestedGames, options.poison);
    return {
      runId,
      seed: options.seed,
      games: options.games,
      modelFaults: options.modelFaults,
      faults: executed,
      roleRestarts,
      unexpectedExits,
      figures,
      unrequestedGames,
      wallTimeS: at(),
      allVerdictsAtS,
      problems,
      ok: problems.length === 0,
    };
  } finally {
    stopping = true;
    await stopRoles(allProcesses).catch(() => undefined);
    for (const close of cleanups.reverse()) await close().catch(() => undefined);
    if (!options.keep) {
      await deleteRunResources(config, clickhouse).catch((err) => log(`cleanup: ${String(err)}`));
      rmSync(workDir, { recursive: true, force: true });
    } else {
      log(`kept: topics ${prefix}*, database ${config.clickhouse.database}, folder ${workDir}`);
    }
    await clickhouse.close().catch(() => undefined);
  }
}

export function findProblems(f: ChaosFigures, unrequestedGames: number, injectedPoison: number): string[] {
  const problems: string[] = [];
  if (f.lost > 0) problems.push(`${f.lost} of ${f.requested} games have no verdict (lost), e.g. ${f.lostGameIds.slice(0, 3).join(', ')}`);
  if (f.duplicateTerminalRows > 0) problems.push(`${f.duplicateTerminalRows} games have more than one terminal row after FINAL`);
  if (unrequestedGames > 0) problems.push(`${unrequestedGames} games in ClickHouse were never requested`);
  if (f.dataset.duplicateLines > 0) problems.push(`${f.dataset.duplicateLines} duplicate dataset lines`);
  if (f.dataset.keptWithoutLine > 0) problems.push(`${f.dataset.keptWithoutLine} kept games have no dataset line`);
  if (f.dataset.linesNotKept > 0) problems.push(`${f.dataset.linesNotKept} dataset lines belong to games not kept`);
  if (f.stuckPartitions.length > 0)
    problems.push(
      `${f.stuckPartitions.length} partitions with lag left: ${f.stuckPartitions
        .slice(0, 5)
        .map((p) => `${p.group} ${p.topic}[${p.partition}] lag ${p.lag}`)
        .join('; ')}`,
    );
  if (f.deadLetters.unexpected > 0)
    problems.push(`${f.deadLetters.unexpected} dead letters that are not injected poison: ${f.deadLetters.unexpectedSamples.join(' | ')}`);
  if (f.deadLetters.poisonRecordsDeadLettered < injectedPoison)
    problems.push(`only ${f.deadLetters.poisonRecordsDeadLettered} of ${injectedPoison} poison records reached the dead-letter topic`);
  if (f.modelCalls.served < f.modelCalls.turnsRecorded)
    problems.push(`fewer model calls served (${f.modelCalls.served}) than model turns recorded (${f.modelCalls.turnsRecorded})`);
  return problems;
}

async function retrying<T>(what: () => Promise<T>, label: string, log: (line: string) => void, attempts = 30): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await what();
    } catch (err) {
      if (attempt >= attempts) throw err;
      log(`${label} failed (${String(err).slice(0, 160)}); retrying`);
      await new Promise((r) => setTimeout(r, Math.min(5_000, 250 * attempt)));
    }
  }
}

/** An undecodable record: random bytes, or a Confluent frame with a schema id nobody registered. */
async function injectPoison(config: DgConfig, topic: string, key: string, random: () => number): Promise<void> {
  const kafka = kafkaAdminFor(config, 'dg-chaos-poison');
  const producer = kafka.producer();
  await producer.connect();
  try {
    const bytes = Buffer.from(Array.from({ length: 16 + Math.floor(random() * 200) }, () => Math.floor(random() * 256)));
    const value = random() < 0.5 ? bytes : Buffer.concat([Buffer.from([0, 0x7f, 0xff, 0xff, 0xf0]), bytes]);
    await producer.send({ topic, messages: [{ key, value }] });
  } finally {
    await producer.disconnect();
  }
}

async function stopComponent(stack: StackSettings, name: string): Promise<void> {
  const component = stackComponents(stack).find((c) => c.name === name);
  const record = component ? readPidRecord(join(component.homeDir, 'pid.json')) : undefined;
  if (!component || !record) throw new Error(`dg chaos: no pid record of ${name} in ${stack.stackDir}`);
  await stopRecordedProcess(record, 30_000);
}

async function lagOf(admin: ReturnType<ReturnType<typeof kafkaAdminFor>['admin']>, prefix: string): Promise<number> {
  let lag = 0;
  for (const role of ROLE_NAMES) {
    for (const key of ROLE_INPUTS[role]) {
      const topic = topicName(key, prefix);
      const [ends, committed] = await Promise.all([admin.fetchTopicOffsets(topic), admin.fetchOffsets({ groupId: `${prefix}${role}`, topics: [topic] })]);
      const done = new Map((committed[0]?.partitions ?? []).map((p) => [p.partition, Number(p.offset)]));
      for (const p of ends) lag += Math.max(0, Number(p.high) - Math.max(Number(p.low), done.get(p.partition) ?? -1));
    }
  }
  return lag;
}

async function stopRoles(processes: Set<RoleProcess>): Promise<void> {
  await Promise.all(
    [...processes].map(async (entry) => {
      const { child } = entry;
      if (child.exitCode !== null || child.signalCode !== null) return;
      entry.killedOnPurpose = true;
      const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
      await exited;
      clearTimeout(timer);
    }),
  );
}

async function deleteRunResources(config: DgConfig, clickhouse: ClickHouseConnection): Promise<void> {
  const prefix = config.topics.prefix;
  const admin = kafkaAdminFor(config, 'dg-chaos-cleanup').admin();
  await admin.connect();
  try {
    const groups = (await admin.listGroups()).groups.map((g) => g.groupId).filter((g) => g.startsWith(prefix));
    if (groups.length > 0) await admin.deleteGroups(groups).catch(() => undefined);
    const topics = (await admin.listTopics()).filter((t) => t.startsWith(prefix));
    if (topics.length > 0) await admin.deleteTopics({ topics, timeout: 20_000 });
  } finally {
    await admin.disconnect();
  }
  const response = await fetch(`${config.schemaRegistry.url}/subjects`, { signal: AbortSignal.timeout(5_000) });
  for (const subject of ((await response.json()) as string[]).filter((s) => s.startsWith(prefix))) {
    await fetch(`${config.schemaRegistry.url}/subjects/${encodeURIComponent(subject)}`, { method: 'DELETE', signal: AbortSignal.timeout(5_000) }).catch(
      () => undefined,
    );
  }
  await clickhouse.command(sql`DROP DATABASE IF EXISTS ${identifier(config.clickhouse.database)}`);
}
