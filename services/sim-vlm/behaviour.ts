/**
 * How the simulator misbehaves, layered (later wins):
 *   server defaults (SIM_VLM_* config, `dg sim-vlm` flags, SIM_VLM_FAULTS / --faults)
 *   → the preset of the model name (`models` option; `sim-vlm`, `sim-vlm-noisy` by default)
 *   → overrides in the model name after `@`: `sim-vlm@err=0.3,latency=200,jitter=50,fail=0.05,r429=0.1`
 *   → request body fields: sim_error_rate, sim_latency_ms, …, sim_max_concurrency, sim_random.
 * Fault probabilities are drawn once per request from one uniform number, in this order: 429, 503,
 * 500, reset, hang, malformed, refusal; so each happens with exactly its probability (their sum must
 * not exceed 1).
 */
export interface SimBehaviour {
  /** Probability that a yes/no answer is flipped. */
  errorRate: number;
  /** Mean added latency per request. */
  latencyMs: number;
  /** Latency is uniform in [mean - jitter, mean + jitter], floored at 0. */
  latencyJitterMs: number;
  /** Probability of an injected HTTP 500. */
  failureRate: number;
  /** Probability of an injected 429 with Retry-After (`retryAfterMs`), answered at once. */
  rateLimitRate: number;
  /** The Retry-After of injected 429s, sent as `retry-after` (whole seconds, rounded up) and `retry-after-ms`. */
  retryAfterMs: number;
  /** Probability of an injected 503 (no Retry-After), answered at once. */
  unavailableRate: number;
  /** Probability that the connection is destroyed (TCP reset) after the latency. */
  resetRate: number;
  /** Probability that the request is never answered (until the client gives up or the server closes). */
  hangRate: number;
  /** Probability that the completion text is cut in half (unparseable output). */
  malformedRate: number;
  /** Probability that the completion text is a refusal instead of an answer. */
  refusalRate: number;
  /** Requests in flight (server-wide) above which new ones get 429 at once, like a saturated server; 0: no cap. */
  maxConcurrency: number;
  /** 1: ignore the request `seed` (fresh randomness on every call, a non-deterministic model). */
  random: number;
}

export const DEFAULT_BEHAVIOUR: Readonly<SimBehaviour> = {
  errorRate: 0,
  latencyMs: 0,
  latencyJitterMs: 0,
  failureRate: 0,
  rateLimitRate: 0,
  retryAfterMs: 1_000,
  unavailableRate: 0,
  resetRate: 0,
  hangRate: 0,
  malformedRate: 0,
  refusalRate: 0,
  maxConcurrency: 0,
  random: 0,
};

/** The injected faults, in the order one uniform draw is matched against them. */
export const FAULTS = ['rateLimitRate', 'unavailableRate', 'failureRate', 'resetRate', 'hangRate', 'malformedRate', 'refusalRate'] as const;
export type SimFault = (typeof FAULTS)[number];

export const DEFAULT_MODEL_PRESETS: Readonly<Record<string, Partial<SimBehaviour>>> = {
  'sim-vlm': {},
  'sim-vlm-noisy': { errorRate: 0.3 },
};

/** The description every model carries in /v1/models: nobody should mistake it for a real VLM. */
export const SIMULATOR_NOTICE =
  'SIMULATOR, not a vision-language model: plays the dialog game by reading the scene description embedded in synthetic dialog-games PNGs.';

const SUFFIX_KEYS: Readonly<Record<string, keyof SimBehaviour>> = {
  err: 'errorRate',
  error: 'errorRate',
  error_rate: 'errorRate',
  latency: 'latencyMs',
  latency_ms: 'latencyMs',
  jitter: 'latencyJitterMs',
  jitter_ms: 'latencyJitterMs',
  fail: 'failureRate',
  failure_rate: 'failureRate',
  r500: 'failureRate',
  r429: 'rateLimitRate',
  rate_limit: 'rateLimitRate',
  rate_limit_rate: 'rateLimitRate',
  retry_after: 'retryAfterMs',
  retry_after_ms: 'retryAfterMs',
  retryAfterMs: 'retryAfterMs',
  r503: 'unavailableRate',
  unavailable: 'unavailableRate',
  unavailable_rate: 'unavailableRate',
  reset: 'resetRate',
  reset_rate: 'resetRate',
  hang: 'hangRate',
  hang_rate: 'hangRate',
  malformed: 'malformedRate',
  malformed_rate: 'malformedRate',
  refusal: 'refusalRate',
  refusal_rate: 'refusalRate',
  max_concurrency: 'maxConcurrency',
  maxConcurrency: 'maxConcurrency',
  random: 'random',
};

export const REQUEST_FIELDS: Readonly<Record<string, keyof SimBehaviour>> = {
  sim_error_rate: 'errorRate',
  sim_latency_ms: 'latencyMs',
  sim_latency_jitter_ms: 'latencyJitterMs',
  sim_failure_rate: 'failureRate',
  sim_rate_limit_rate: 'rateLimitRate',
  sim_retry_after_ms: 'retryAfterMs',
  sim_unavailable_rate: 'unavailableRate',
  sim_reset_rate: 'resetRate',
  sim_hang_rate: 'hangRate',
  sim_malformed_rate: 'malformedRate',
  sim_refusal_rate: 'refusalRate',
  sim_max_concurrency: 'maxConcurrency',
  sim_random: 'random',
};

const PROBABILITIES = new Set<keyof SimBehaviour>(['errorRate', ...FAULTS]);

/** undefined when `value` is valid for `key`, else what is wrong. */
export function behaviourValueProblem(key: keyof SimBehaviour, value: unknown): string | undefined {
  if (typeof value !== 'number' || !Number.isFinite(value)) return 'must be a number';
  if (PROBABILITIES.has(key)) return value >= 0 && value <= 1 ? undefined : 'must be between 0 and 1';
  if (key === 'random') return value === 0 || value === 1 ? undefined : 'must be 0 or 1';
  if (key === 'maxConcurrency') return Number.isInteger(value) && value >= 0 && value <= 100_000 ? undefined : 'must be an integer between 0 and 100000';
  return value >= 0 && value <= 600_000 ? undefined : 'must be between 0 and 600000 (ms)';
}

export type ModelResolution = { ok: true; base: string; overrides: Partial<SimBehaviour> } | { ok: false; status: 400 | 404; message: string };

/** Splits `name@k=v,...` into a known preset and its overrides. */
export function resolveModelName(model: string, presets: Readonly<Record<string, Partial<SimBehaviour>>>): ModelResolution {
  const at = model.indexOf('@');
  const base = at < 0 ? model : model.slice(0, at);
  const preset = presets[base];
  if (!preset) {
    return {
      ok: false,
      status: 404,
      message: `The model \`${model}\` does not exist. This simulator serves: ${Object.keys(presets).join(', ')} (optionally with @err=<0..1>,latency=<ms>,jitter=<ms>,fail=<0..1>).`,
    };
  }
  if (at < 0) return { ok: true, base, overrides: { ...preset } };
  const parsed = parseBehaviourSpec(model.slice(at + 1), `\`${model}\``);
  if (!parsed.ok) return { ok: false, status: 400, message: parsed.message.replace(/^Invalid option/, 'Invalid model option') };
  return { ok: true, base, overrides: { ...preset, ...parsed.overrides } };
}

/**
 * `key=value,...` as after `@` in a model name (also SIM_VLM_FAULTS and `dg sim-vlm --faults`),
 * e.g. `r429=0.1,retry_after=1000,fail=0.05,malformed=0.02,hang=0.01,max_concurrency=16,random=1`.
 */
export function parseBehaviourSpec(
  spec: string,
  where = 'the behaviour spec',
): { ok: true; overrides: Partial<SimBehaviour> } | { ok: false; message: string } {
  const overrides: Partial<SimBehaviour> = {};
  if (spec.trim() === '') return { ok: true, overrides };
  for (const pair of spec.split(',')) {
    const match = /^\s*([A-Za-z][A-Za-z0-9_]*)\s*=\s*([0-9.eE+-]+)\s*$/.exec(pair);
    const key = match ? SUFFIX_KEYS[match[1]!] : undefined;
    if (!match || !key) {
      return { ok: false, message: `Invalid option "${pair}" in ${where}: expected key=value with key one of ${Object.keys(SUFFIX_KEYS).join(', ')}.` };
    }
    const value = Number(match[2]);
    const problem = behaviourValueProblem(key, value);
    if (problem) return { ok: false, message: `Invalid option "${pair}" in ${where}: ${match[1]} ${problem}.` };
    overrides[key] = value;
  }
  return { ok: true, overrides };
}

/** undefined when the fault probabilities can all hold (sum <= 1), else what is wrong. */
export function faultSumProblem(behaviour: Pick<SimBehaviour, SimFault>): string | undefined {
  const sum = FAULTS.reduce((total, fault) => total + behaviour[fault], 0);
  return sum <= 1 + 1e-9 ? undefined : `the fault probabilities (${FAULTS.join(', ')}) add up to ${Number(sum.toFixed(6))}, more than 1`;
}

/** Which fault (if any) a uniform draw in [0, 1) falls on. */
export function drawFault(behaviour: Pick<SimBehaviour, SimFault>, draw: number): SimFault | undefined {
  let edge = 0;
  for (const fault of FAULTS) {
    edge += behaviour[fault];
    if (draw < edge) return fault;
  }
  return undefined;
}

/** A latency draw in ms. */
export function drawLatencyMs(behaviour: Pick<SimBehaviour, 'latencyMs' | 'latencyJitterMs'>, random: () => number): number {
  if (behaviour.latencyMs === 0 && behaviour.latencyJitterMs === 0) return 0;
  return Math.max(0, Math.round(behaviour.latencyMs + (random() * 2 - 1) * behaviour.latencyJitterMs));
}
