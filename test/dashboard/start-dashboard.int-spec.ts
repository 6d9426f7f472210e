import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { createE2eEnvironment, type E2eEnvironment } from '../helpers/e2e-env';
import { closedPort } from '../helpers/e2e-vlm';
import { pollUntil } from '../helpers/e2e-wait';

/**
 * `dg start` (what `npm start` runs) prints the dashboard's and the roles' metrics addresses, and
 * someone opening the dashboard sees games arrive while it plays: the overview's game count grows between two looks. Isolated topic
 * prefix and database; the dashboard and the simulator on ports nobody else holds.
 */

let env: E2eEnvironment;

beforeAll(async () => {
  env = await createE2eEnvironment('start_dash');
}, 60_000);

afterAll(async () => {
  await env?.cleanup();
}, 60_000);

it('prints the dashboard address and the dashboard shows games arriving', async () => {
  const simPort = await closedPort();
  const child = spawn(process.execPath, [join(__dirname, '..', '..', 'bin', 'dg'), 'start', '--no-stack', '--duration', '40', '--in-flight', '8'], {
    env: {
      ...process.env,
      DG_TOPIC_PREFIX: env.topicPrefix,
      CLICKHOUSE_DATABASE: env.database,
      DG_DATA_DIR: env.dataDir,
      SIM_VLM_PORT: String(simPort),
      DG_DASHBOARD_PORT: '0',
      DG_LOG_FORMAT: 'json',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (c: Buffer) => (stdout += c.toString('utf8')));
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString('utf8')));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  env.track(async () => {
    if (child.exitCode === null) child.kill('SIGKILL');
  });

  const url = await pollUntil(
    'the dashboard address on stdout',
    async () => /dashboard: (http:\/\/127\.0\.0\.1:\d+)\//.exec(stdout)?.[1],
    (u) => u !== undefined,
    { timeoutMs: 120_000, intervalMs: 200 },
  ).catch((err: Error) => {
    throw new Error(`${err.message}\nstdout: ${stdout}\nstderr: ${stderr.slice(-3000)}`);
  });
  const games = async (): Promise<number> => ((await (await fetch(`${url!}/api/overview`)).json()) as { totals: { games: number } }).totals.games;
  const first = await pollUntil('games on the dashboard', games, (n) => n > 0, { timeoutMs: 60_000, intervalMs: 500 });
  await pollUntil('more games on the dashboard', games, (n) => n > first, { timeoutMs: 60_000, intervalMs: 500 });
  const metricsUrl = /Prometheus metrics at (http:\/\/127\.0\.0\.1:\d+\/metrics)/.exec(stdout)?.[1];
  expect(metricsUrl).toBeDefined();
  expect(await (await fetch(metricsUrl!)).text()).toMatch(/^dg_messages_handled_total\{topic="[^"]+game-requested",outcome="handled"\} [1-9]/m);
  const page = await fetch(`${url!}/`);
  expect(page.status).toBe(200);
  expect(await page.text()).toContain('Dialog browser');

  expect(await exited).toBe(0);
  expect(stdout).toMatch(/stopped dashboard/);
}, 240_000);
