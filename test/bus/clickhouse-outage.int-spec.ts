import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, open, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { configureLogging } from '../../services/core/logging';
import { planFrom } from '../../services/launcher/launcher';
import { clickhouseComponent } from '../../services/local-stack/components/clickhouse';
import { httpAnswers } from '../../services/local-stack/probes';
import { startSimVlm, type SimVlmServer } from '../../services/sim-vlm/server';
import { createE2eEnvironment, topicMessageCount, type E2eEnvironment } from '../helpers/e2e-env';
import { gameRecords, launch, syntheticImages, waitForRunRows } from '../helpers/e2e-games';
import { pollUntil } from '../helpers/e2e-wait';

/**
 * Issue 6 defect 3: a ClickHouse outage longer than the retry budget must lose nothing. The sink's
 * inserts fail with retriable errors; the bus stalls those messages (partition paused, alarm
 * logged) instead of dead-lettering them, and once ClickHouse is back every game lands.
 *
 * The shared ClickHouse on 8123 is never touched: the test runs a private clickhouse-server (the
 * local stack's own config, on free ports, with its own data dir), stops it for longer than the
 * retry budget, restarts it on the same data, and removes it at the end.
 */

/** DG_RETRY_*: a budget of about a second, so the outage below outlasts it many times over. */
const RETRY = { DG_RETRY_MAX_ATTEMPTS: 3, DG_RETRY_INITIAL_MS: 100, DG_RETRY_MAX_MS: 500 };
const OUTAGE_BEYOND_FIRST_ALARM_MS = 8_000;

class PrivateClickHouse {
  private child: ChildProcess | undefined;
  private constructor(
    readonly url: string,
    private readonly launchSpec: { command: string; args: string[]; cwd: string; outFile: string },
    readonly homeDir: string,
  ) {}

  static async create(): Promise<PrivateClickHouse> {
    const homeDir = await mkdtemp(join(tmpdir(), 'dg-ch-outage-'));
    const [http, tcp] = [await freePort(), await freePort()];
    const component = clickhouseComponent({
      stackDir: homeDir,
      cacheDir: homeDir,
      javaHome: '',
      startTimeoutMs: 60_000,
      stopTimeoutMs: 30_000,
      ports: { kafka: 0, kafkaController: 0, schemaRegistry: 0, clickhouseHttp: http, clickhouseTcp: tcp },
    });
    const spec = await component.prepareLaunch(() => undefined);
    return new PrivateClickHouse(
      component.address,
      { command: spec.command, args: [...spec.args], cwd: spec.cwd ?? homeDir, outFile: spec.outFile ?? join(homeDir, 'out.log') },
      homeDir,
    );
  }

  get running(): boolean {
    return this.child !== undefined && this.child.exitCode === null && this.child.signalCode === null;
  }

  async start(): Promise<void> {
    if (this.running) return;
    const out = await open(this.launchSpec.outFile, 'a');
    this.child = spawn(this.launchSpec.command, this.launchSpec.args, { cwd: this.launchSpec.cwd, stdio: ['ignore', out.fd, out.fd] });
    await out.close();
    await pollUntil(
      `private ClickHouse on ${this.url}`,
      () => httpAnswers(`${this.url}/?query=SELECT%201`, (body) => body.trim() === '1'),
      (up) => up,
      { timeoutMs: 90_000, intervalMs: 250 },
    );
  }

  async stop(): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
    await exited;
    clearTimeout(timer);
    this.child = undefined;
  }

  async remove(): Promise<void> {
    await this.stop();
    await rm(this.homeDir, { recursive: true, force: true });
  }
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

describe('a ClickHouse outage longer than the retry budget', () => {
  let clickhouse: PrivateClickHouse;
  let sim: SimVlmServer;
  let env: E2eEnvironment;
  const alarms: Array<Record<string, unknown>> = [];

  beforeAll(async () => {
    clickhouse = await PrivateClickHouse.create();
    await clickhouse.start();
    sim = await startSimVlm({ port: 0 });
    env = await createE2eEnvironment('chOutage', {
      CLICKHOUSE_URL: clickhouse.url,
      ...RETRY,
      QUESTIONER_BASE_URL: sim.baseUrl,
      ANSWERER_BASE_URL: sim.baseUrl,
    });
    configureLogging({
      write: (line) => {
        if (!line.includes('"alarm"')) return;
        try {
          alarms.push(JSON.parse(line) as Record<string, unknown>);
        } catch {
          // A pretty-printed line: not ours to parse.
        }
      },
    });
    await env.startRoles();
  }, 180_000);

  afterAll(async () => {
    // Back up (if a failed assertion left it down) so the environment can drop its database.
    if (clickhouse && !clickhouse.running) await clickhouse.start().catch(() => undefined);
    await env?.cleanup();
    await sim?.close();
    await clickhouse?.remove();
  }, 180_000);

  it('stalls the sink (partition paused, alarm), dead-letters nothing, and every game lands once ClickHouse is back', async () => {
    const config = env.config();
    const images = await syntheticImages(config);
    const runId = `${env.topicPrefix}outage`;
    const plan = planFrom(config, { datasetName: 'synthetic-v1', runId, seed: 6_003, candidates: 4, maxTurns: 6 });
    const started = Date.now();

    await launch(config, plan, images, 3, 0);
    await waitForRunRows(env.clickhouse, env.database, runId, 3, started, 120_000);

    await clickhouse.stop();
    await launch(config, plan, images, 9, 3);
    // The sink's inserts fail until the budget runs out; then the message stalls with an alarm
    // (before the fix it was dead-lettered and committed instead: its game never landed).
    const deadLetters = (): Promise<number> => topicMessageCount(env.admin, env.topic('deadLetter'));
    await pollUntil(
      'the retry budget to run out (a stall alarm or a dead letter)',
      async () => ({ alarms: alarms.filter((a) => a.alarm === 'bus.stalled').length, deadLetters: await deadLetters() }),
      (seen) => seen.alarms > 0 || seen.deadLetters > 0,
      { timeoutMs: 120_000, intervalMs: 250 },
    );
    expect(await deadLetters()).toBe(0);
    const stallAlarm = alarms.find((a) => a.alarm === 'bus.stalled')!;
    expect(stallAlarm.stage).toBe('handler');
    expect(Number(stallAlarm.attempts)).toBeGreaterThanOrEqual(RETRY.DG_RETRY_MAX_ATTEMPTS);
    // Stay down many budgets longer.
    await new Promise((resolve) => setTimeout(resolve, OUTAGE_BEYOND_FIRST_ALARM_MS));
    expect(await deadLetters()).toBe(0);

    await clickhouse.start();
    await waitForRunRows(env.clickhouse, env.database, runId, 12, started, 180_000);
    const games = await gameRecords(env.clickhouse, runId);
    expect(games).toHaveLength(12);
    expect(new Set(games.map((g) => g.game_id)).size).toBe(12);
    expect(await topicMessageCount(env.admin, env.topic('deadLetter'))).toBe(0);
  }, 600_000);
});
