import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { sql } from '../../services/core/clickhouse';
import type { E2eEnvironment } from '../helpers/e2e-env';
import { runDg } from '../helpers/dg-cli';
import { startSimE2e } from '../helpers/e2e-sim';
import { pollUntil } from '../helpers/e2e-wait';

/**
 * `dg iterate` as a user runs it, with a test hook that "fine-tunes" by renaming the simulator to a
 * lower error rate: 3 iterations, each new model registered with its parent and training set, the
 * frozen eval set played per iteration (success rises as the simulated answerer lies less). The loop
 * is killed (SIGKILL) while its second hook runs and started again with the same command: it resumes
 * at that step, and no iteration's games are played twice. A hook that names another endpoint than
 * the role's is refused with both addresses.
 */

const CLI_TIMEOUT_MS = 600_000;
const G = 12;
const EVAL_GAMES = 30;
const HOOK = `node ${join(__dirname, 'iterate-hook.js')} {parent_model} {out} {endpoint} {dataset}`;

let env: E2eEnvironment;
let childEnv: NodeJS.ProcessEnv;
let simUrl: string;

beforeAll(async () => {
  const started = await startSimE2e('iterate');
  ({ env, childEnv } = started);
  simUrl = started.sim.baseUrl;
  const created = await runDg(['eval', 'create', '--name', 'loop-eval', '--games', String(EVAL_GAMES), '--seed', '5'], childEnv, CLI_TIMEOUT_MS);
  expect(created.code).toBe(0);
}, CLI_TIMEOUT_MS);

afterAll(async () => {
  await env?.cleanup();
}, 60_000);

const iterateArgs = (hook: string, iterations: number): string[] => [
  'iterate',
  '--from-model',
  'sim-vlm@err=0.45',
  '--iterations',
  String(iterations),
  '--games-per-iteration',
  String(G),
  '--hook',
  hook,
  '--eval-set',
  'loop-eval',
  '--json',
];

interface Row {
  iteration: number;
  model: string;
  eval_success: number;
  kept_games: number | null;
  cost_usd: number;
}

it(
  'runs 3 iterations, is killed mid-step and resumes where it was, with lineage and eval results recorded',
  async () => {
    const pauseFile = join(env.dataDir, 'hook-paused');
    // First attempt: killed while the hook of iteration 1 runs.
    const child = spawn(process.execPath, [join(__dirname, '..', '..', 'bin', 'dg'), ...iterateArgs(HOOK, 3)], {
      env: { ...childEnv, HOOK_PAUSE_FILE: pauseFile },
      stdio: 'ignore',
    });
    const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()));
    try {
      await pollUntil(
        'the second hook to start',
        async () => existsSync(pauseFile),
        (v) => v,
        { timeoutMs: CLI_TIMEOUT_MS, intervalMs: 500 },
      );
    } finally {
      child.kill('SIGKILL');
      await exited;
    }
    process.kill(Number(readFileSync(pauseFile, 'utf8')), 'SIGKILL');

    const [state] = await env.clickhouse.query<{ state: string }>(sql`SELECT state FROM ${env.clickhouse.table('iterate_loops')} FINAL`);
    const paused = JSON.parse(state!.state) as { iterations: Record<string, { step: string }> };
    expect(Object.fromEntries(Object.entries(paused.iterations).map(([k, v]) => [k, v.step]))).toEqual({ 0: 'done', 1: 'hook' });

    // The same command again: resumes at iteration 1's hook.
    const resumed = await runDg(iterateArgs(HOOK, 3), { ...childEnv, HOOK_PAUSE_FILE: pauseFile }, CLI_TIMEOUT_MS);
    expect({ code: resumed.code, stderr: resumed.code === 0 ? '' : resumed.stderr }).toEqual({ code: 0, stderr: '' });
    expect(resumed.stderr).not.toMatch(/iteration 0: sim-vlm@err=0.45 plays/);
    const { rows } = JSON.parse(resumed.stdout.trim().split('\n').pop()!) as { rows: Row[] };
    expect(rows.map((r) => [r.iteration, r.model])).toEqual([
      [0, 'sim-vlm@err=0.45'],
      [1, 'sim-vlm@err=0.3'],
      [2, 'sim-vlm@err=0.15'],
      [3, 'sim-vlm@err=0'],
    ]);
    for (const r of rows) expect(r.eval_success).toEqual(expect.any(Number));
    expect(rows[3]!.eval_success).toBeGreaterThan(rows[0]!.eval_success);
    expect(rows.slice(0, 3).every((r) => (r.kept_games ?? 0) > 0)).toBe(true);

    // Every iteration played its games once, killed or not.
    const plays = await env.clickhouse.query<{ iteration: number; n: number }>(
      sql`SELECT iteration, count() AS n FROM ${env.clickhouse.table('games')} FINAL WHERE run_id LIKE 'loop-%' GROUP BY iteration ORDER BY iteration`,
    );
    expect(plays.map((p) => [Number(p.iteration), Number(p.n)])).toEqual([
      [0, G],
      [1, G],
      [2, G],
    ]);

    const models = await runDg(['models', 'list', '--json'], childEnv, CLI_TIMEOUT_MS);
    const list = JSON.parse(models.stdout.trim().split('\n').pop()!) as Array<{
      name: string;
      parent: string;
      iteration: number;
      train_iterations: number[];
      train_games: number;
      train_hash: string;
      evals: Array<{ eval_set: string }>;
      endpoint: string;
    }>;
    const byName = new Map(list.map((m) => [m.name, m]));
    expect(byName.get('sim-vlm@err=0.45')).toEqual(expect.objectContaining({ parent: '', iteration: 0 }));
    const lineage = [
      ['sim-vlm@err=0.3', 'sim-vlm@err=0.45', 1],
      ['sim-vlm@err=0.15', 'sim-vlm@err=0.3', 2],
      ['sim-vlm@err=0', 'sim-vlm@err=0.15', 3],
    ] as const;
    for (const [name, parent, iteration] of lineage) {
      const m = byName.get(name)!;
      expect(m).toEqual(expect.objectContaining({ parent, iteration, train_iterations: [iteration - 1], endpoint: simUrl }));
      expect(m.train_games).toBe(rows[iteration - 1]!.kept_games);
      expect(m.train_hash).toMatch(/^[0-9a-f]{64}$/);
      expect(m.evals.map((e) => e.eval_set)).toEqual(['loop-eval']);
    }
  },
  CLI_TIMEOUT_MS * 2,
);

it(
  'refuses a hook whose model lives on another endpoint than the role calls, naming both',
  async () => {
    const otherEndpoint = 'http://127.0.0.1:9/v1';
    const hook = `echo '{"name":"elsewhere","endpoint":"${otherEndpoint}"}'`;
    const result = await runDg(iterateArgs(hook, 1), childEnv, CLI_TIMEOUT_MS);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(`hook returned model elsewhere at endpoint ${otherEndpoint}, but the answerer calls ${simUrl}`);
  },
  CLI_TIMEOUT_MS,
);
