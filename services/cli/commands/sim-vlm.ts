import type { Command } from 'commander';
import { loadConfigOrExit } from '../../core/config';
import {
  behaviourValueProblem,
  DEFAULT_BEHAVIOUR,
  DEFAULT_MODEL_PRESETS,
  faultSumProblem,
  FAULTS,
  parseBehaviourSpec,
  startSimVlm,
  type SimBehaviour,
} from '../../sim-vlm';

export interface SimVlmCommandOptions {
  port?: string;
  host?: string;
  errorRate?: string;
  latency?: string;
  failureRate?: string;
  faults?: string;
  maxConcurrency?: string;
  random?: boolean;
}

export interface SimVlmRunIo {
  out: (line: string) => void;
  err: (line: string) => void;
  /** Stops the server when aborted; SIGINT/SIGTERM always do. */
  signal?: AbortSignal;
  env?: NodeJS.ProcessEnv;
}

const defaultIo: SimVlmRunIo = {
  out: (line) => process.stdout.write(`${line}\n`),
  err: (line) => process.stderr.write(`${line}\n`),
};

function describeBehaviour(b: SimBehaviour): string {
  const faults = FAULTS.filter((f) => b[f] > 0).map((f) => `${f} ${b[f]}`);
  return [
    `error rate ${b.errorRate}, latency ${b.latencyMs}±${b.latencyJitterMs} ms, failure rate ${b.failureRate}`,
    ...faults.filter((f) => !f.startsWith('failureRate')),
    ...(b.rateLimitRate > 0 ? [`Retry-After ${b.retryAfterMs} ms`] : []),
    ...(b.maxConcurrency > 0 ? [`max concurrency ${b.maxConcurrency} (then 429)`] : []),
    ...(b.random === 1 ? ['random (request seeds ignored)'] : []),
  ].join(', ');
}

/** Runs the simulator in the foreground until SIGINT/SIGTERM (or `io.signal`); resolves once it is closed. */
export async function runSimVlm(opts: SimVlmCommandOptions, io: SimVlmRunIo = defaultIo): Promise<void> {
  const config = loadConfigOrExit(
    { SIM_VLM_PORT: opts.port, SIM_VLM_HOST: opts.host, SIM_VLM_ERROR_RATE: opts.errorRate, SIM_VLM_LATENCY_MS: opts.latency, SIM_VLM_FAULTS: opts.faults },
    io.env ? { env: io.env } : {},
  );
  const usage = (message: string): void => {
    io.err(`dg sim-vlm: ${message}`);
    process.exitCode = 2;
  };
  const faults = parseBehaviourSpec(config.simVlm.faults, opts.faults === undefined ? 'SIM_VLM_FAULTS' : '--faults');
  if (!faults.ok) return usage(faults.message);
  const failureRate = opts.failureRate === undefined ? (faults.overrides.failureRate ?? 0) : Number(opts.failureRate);
  const problem = behaviourValueProblem('failureRate', failureRate);
  if (problem) return usage(`--failure-rate ${problem}, got ${JSON.stringify(opts.failureRate)}`);
  const defaults: SimBehaviour = {
    ...DEFAULT_BEHAVIOUR,
    ...faults.overrides,
    errorRate: config.simVlm.errorRate,
    latencyMs: config.simVlm.latency.meanMs,
    latencyJitterMs: config.simVlm.latency.jitterMs,
    failureRate,
  };
  if (opts.maxConcurrency !== undefined) {
    const maxConcurrency = Number(opts.maxConcurrency);
    const capProblem = behaviourValueProblem('maxConcurrency', maxConcurrency);
    if (capProblem) return usage(`--max-concurrency ${capProblem}, got ${JSON.stringify(opts.maxConcurrency)}`);
    defaults.maxConcurrency = maxConcurrency;
  }
  if (opts.random) defaults.random = 1;
  const sumProblem = faultSumProblem(defaults);
  if (sumProblem) return usage(sumProblem);
  let server;
  try {
    server = await startSimVlm({ host: config.simVlm.host, port: config.simVlm.port, defaults, models: DEFAULT_MODEL_PRESETS });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code !== 'EADDRINUSE' && code !== 'EADDRNOTAVAIL' && code !== 'EACCES') throw err;
    io.err(`dg sim-vlm: cannot listen on ${config.simVlm.host}:${config.simVlm.port} (${code}); choose another with --port or SIM_VLM_PORT`);
    process.exitCode = 1;
    return;
  }
  io.out(`sim-vlm: SIMULATED VLM (not a real model) listening on ${server.baseUrl}`);
  io.out(
    `sim-vlm: models ${Object.keys(DEFAULT_MODEL_PRESETS).join(', ')} (append @err=,latency=,jitter=,fail=,r429=,... to override); ${describeBehaviour(defaults)}`,
  );
  io.out(`sim-vlm: stats at ${server.url}/v1/sim/stats`);

  await new Promise<void>((resolve) => {
    const stop = (): void => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      io.signal?.removeEventListener('abort', stop);
      resolve();
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
    if (io.signal?.aborted) stop();
    else io.signal?.addEventListener('abort', stop);
  });
  await server.close();
  io.out('sim-vlm: stopped');
}

/** `dg sim-vlm`: the simulated OpenAI-compatible VLM in the foreground. */
export function register(program: Command): void {
  program
    .command('sim-vlm')
    .description('run the simulated OpenAI-compatible VLM (a SIMULATOR that reads scenes embedded in synthetic PNGs) until Ctrl-C')
    .option('--port <port>', 'port to listen on, 0 for any free one (SIM_VLM_PORT, default 8000)')
    .option('--host <host>', 'address to bind (SIM_VLM_HOST, default 127.0.0.1)')
    .option('--error-rate <p>', 'probability a yes/no answer is flipped (SIM_VLM_ERROR_RATE, default 0)')
    .option('--latency <spec>', 'added latency: <ms> or mean:<ms>,jitter:<ms> (SIM_VLM_LATENCY_MS, default 0)')
    .option('--failure-rate <p>', 'probability of an injected HTTP 500 (default 0)')
    .option(
      '--faults <spec>',
      'fault injection, key=value,... e.g. r429=0.1,retry_after=1000,fail=0.05,r503=0.01,reset=0.01,hang=0.01,malformed=0.02,refusal=0.01 (SIM_VLM_FAULTS)',
    )
    .option('--max-concurrency <n>', 'requests in flight above which it answers 429 at once, like a saturated server (default 0: no cap)')
    .option('--random', 'ignore request seeds: a non-deterministic model (for testing turn forking)')
    .addHelpText(
      'after',
      [
        '',
        'Models: sim-vlm (server defaults), sim-vlm-noisy (error rate 0.3). Override per model name,',
        'e.g. sim-vlm@err=0.2,latency=150,jitter=50,fail=0.01, or per request with the body fields',
        'sim_error_rate, sim_latency_ms, sim_latency_jitter_ms, sim_failure_rate. A request `seed`',
        'makes answers and questions reproducible (unless random=1).',
        '',
        'Faults (per server with --faults, per model name after @, per request as sim_<name> fields):',
        '  r429=<p> retry_after=<ms>   429 with Retry-After, at once     r503=<p>  503, at once',
        '  fail=<p>                    500 after the latency             reset=<p> connection destroyed',
        '  hang=<p>                    never answers (until the client gives up)',
        '  malformed=<p>               output cut in half                refusal=<p> a refusal instead of an answer',
        '  max_concurrency=<n>         429 when n requests are in flight (server-wide); random=1: seeds ignored',
        'One uniform draw per request picks at most one fault (their probabilities must add up to <= 1).',
        'GET /v1/sim/stats: requests per model by outcome, in flight now and at peak; DELETE resets it.',
      ].join('\n'),
    )
    .action((opts: SimVlmCommandOptions) => runSimVlm(opts));
}
