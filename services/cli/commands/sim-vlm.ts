import type { Command } from 'commander';
import { loadConfigOrExit } from '../../core/config';
import { behaviourValueProblem, DEFAULT_MODEL_PRESETS, startSimVlm, type SimBehaviour } from '../../sim-vlm';

export interface SimVlmCommandOptions {
  port?: string;
  host?: string;
  errorRate?: string;
  latency?: string;
  failureRate?: string;
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
  return `error rate ${b.errorRate}, latency ${b.latencyMs}±${b.latencyJitterMs} ms, failure rate ${b.failureRate}`;
}

/** Runs the simulator in the foreground until SIGINT/SIGTERM (or `io.signal`); resolves once it is closed. */
export async function runSimVlm(opts: SimVlmCommandOptions, io: SimVlmRunIo = defaultIo): Promise<void> {
  const config = loadConfigOrExit(
    { SIM_VLM_PORT: opts.port, SIM_VLM_HOST: opts.host, SIM_VLM_ERROR_RATE: opts.errorRate, SIM_VLM_LATENCY_MS: opts.latency },
    io.env ? { env: io.env } : {},
  );
  const failureRate = opts.failureRate === undefined ? 0 : Number(opts.failureRate);
  const problem = behaviourValueProblem('failureRate', failureRate);
  if (problem) {
    io.err(`dg sim-vlm: --failure-rate ${problem}, got ${JSON.stringify(opts.failureRate)}`);
    process.exitCode = 2;
    return;
  }
  const defaults: SimBehaviour = {
    errorRate: config.simVlm.errorRate,
    latencyMs: config.simVlm.latency.meanMs,
    latencyJitterMs: config.simVlm.latency.jitterMs,
    failureRate,
  };
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
  io.out(`sim-vlm: models ${Object.keys(DEFAULT_MODEL_PRESETS).join(', ')} (append @err=,latency=,jitter=,fail= to override); ${describeBehaviour(defaults)}`);

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
    .addHelpText(
      'after',
      [
        '',
        'Models: sim-vlm (server defaults), sim-vlm-noisy (error rate 0.3). Override per model name,',
        'e.g. sim-vlm@err=0.2,latency=150,jitter=50,fail=0.01, or per request with the body fields',
        'sim_error_rate, sim_latency_ms, sim_latency_jitter_ms, sim_failure_rate. A request `seed`',
        'makes answers and questions reproducible.',
      ].join('\n'),
    )
    .action((opts: SimVlmCommandOptions) => runSimVlm(opts));
}
