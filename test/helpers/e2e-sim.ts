import type { ConfigOverrides } from '../../services/core/config';
import type { RunSummary } from '../../services/launcher/run-summary';
import { startSimVlm, type SimVlmOptions, type SimVlmServer } from '../../services/sim-vlm/server';
import { runDg } from './dg-cli';
import { createE2eEnvironment, type E2eEnvironment } from './e2e-env';

/**
 * The set-up the CLI end-to-end tests share: a fresh environment (topic prefix, database, data
 * folder), the simulated VLM on port 0, this process's roles playing against it, and the environment
 * a `dg` child process needs to reach the same topics, database, data folder and simulator.
 */
export interface SimE2e {
  env: E2eEnvironment;
  sim: SimVlmServer;
  /** For runDg: the test's topics, database and data folder, both roles' endpoints on the simulator. */
  childEnv: NodeJS.ProcessEnv;
}

export interface SimE2eOptions {
  sim?: SimVlmOptions;
  /** Config of the roles started here (on top of both endpoints pointing at the simulator). */
  roles?: ConfigOverrides;
}

export async function startSimE2e(label: string, options: SimE2eOptions = {}): Promise<SimE2e> {
  const env = await createE2eEnvironment(label);
  try {
    const sim = await startSimVlm({ port: 0, ...options.sim });
    env.track(() => sim.close());
    await env.startRoles({ QUESTIONER_BASE_URL: sim.baseUrl, ANSWERER_BASE_URL: sim.baseUrl, ...options.roles });
    return { env, sim, childEnv: dgChildEnv(env, { QUESTIONER_BASE_URL: sim.baseUrl, ANSWERER_BASE_URL: sim.baseUrl }) };
  } catch (err) {
    // The caller never gets the environment to clean up: do it here.
    await env.cleanup().catch(() => undefined);
    throw err;
  }
}

/** The environment of a `dg` child process for this test's topics, database and data folder (warnings only). */
export function dgChildEnv(env: E2eEnvironment, extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  return { ...process.env, DG_TOPIC_PREFIX: env.topicPrefix, CLICKHOUSE_DATABASE: env.database, DG_DATA_DIR: env.dataDir, ...extra, DG_LOG_LEVEL: 'warn' };
}

/** Runs `dg <args>` (add --json yourself), expects exit 0 with no stderr, and returns the JSON object on its last stdout line. */
export async function dgJson<T = Record<string, unknown>>(args: readonly string[], childEnv: NodeJS.ProcessEnv, timeoutMs: number): Promise<T> {
  const result = await runDg(args, childEnv, timeoutMs);
  expect({ code: result.code, stderr: result.code === 0 ? '' : result.stderr.slice(-2000) }).toEqual({ code: 0, stderr: '' });
  return JSON.parse(result.stdout.trim().split('\n').pop()!) as T;
}

/** `dg play ... --wait --json`: the run summary it prints last. */
export function playAndWait(args: readonly string[], childEnv: NodeJS.ProcessEnv, timeoutMs: number): Promise<RunSummary> {
  return dgJson<RunSummary>(['play', ...args, '--wait', '--json'], childEnv, timeoutMs);
}
