/**
 * How the simulator misbehaves, layered (later wins):
 *   server defaults (SIM_VLM_* config, `dg sim-vlm` flags)
 *   → the preset of the model name (`models` option; `sim-vlm`, `sim-vlm-noisy` by default)
 *   → overrides in the model name after `@`: `sim-vlm@err=0.3,latency=200,jitter=50,fail=0.05`
 *   → request body fields: sim_error_rate, sim_latency_ms, sim_latency_jitter_ms, sim_failure_rate.
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
}

export const DEFAULT_BEHAVIOUR: Readonly<SimBehaviour> = { errorRate: 0, latencyMs: 0, latencyJitterMs: 0, failureRate: 0 };

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
};

export const REQUEST_FIELDS: Readonly<Record<string, keyof SimBehaviour>> = {
  sim_error_rate: 'errorRate',
  sim_latency_ms: 'latencyMs',
  sim_latency_jitter_ms: 'latencyJitterMs',
  sim_failure_rate: 'failureRate',
};

const PROBABILITIES = new Set<keyof SimBehaviour>(['errorRate', 'failureRate']);

/** undefined when `value` is valid for `key`, else what is wrong. */
export function behaviourValueProblem(key: keyof SimBehaviour, value: unknown): string | undefined {
  if (typeof value !== 'number' || !Number.isFinite(value)) return 'must be a number';
  if (PROBABILITIES.has(key)) return value >= 0 && value <= 1 ? undefined : 'must be between 0 and 1';
  return value >= 0 && value <= 600_000 ? undefined : 'must be between 0 and 600000 (ms)';
}

export type ModelResolution =
  | { ok: true; base: string; overrides: Partial<SimBehaviour> }
  | { ok: false; status: 400 | 404; message: string };

/** Splits `name@k=v,...` into a known preset and its overrides. */
export function resolveModelName(model: string, presets: Readonly<Record<string, Partial<SimBehaviour>>>): ModelResolution {
  const at = model.indexOf('@');
  const base = at < 0 ? model : model.slice(0, at);
  const preset = presets[base];
  if (!preset) {
    return { ok: false, status: 404, message: `The model \`${model}\` does not exist. This simulator serves: ${Object.keys(presets).join(', ')} (optionally with @err=<0..1>,latency=<ms>,jitter=<ms>,fail=<0..1>).` };
  }
  const overrides: Partial<SimBehaviour> = { ...preset };
  if (at >= 0) {
    for (const pair of model.slice(at + 1).split(',')) {
      const match = /^\s*([a-z_]+)\s*=\s*([0-9.eE+-]+)\s*$/.exec(pair);
      const key = match ? SUFFIX_KEYS[match[1]!] : undefined;
      if (!match || !key) {
        return { ok: false, status: 400, message: `Invalid model option "${pair}" in \`${model}\`: expected key=value with key one of ${Object.keys(SUFFIX_KEYS).join(', ')}.` };
      }
      const value = Number(match[2]);
      const problem = behaviourValueProblem(key, value);
      if (problem) return { ok: false, status: 400, message: `Invalid model option "${pair}" in \`${model}\`: ${match[1]} ${problem}.` };
      overrides[key] = value;
    }
  }
  return { ok: true, base, overrides };
}

/** A latency draw in ms. */
export function drawLatencyMs(behaviour: SimBehaviour, random: () => number): number {
  if (behaviour.latencyMs === 0 && behaviour.latencyJitterMs === 0) return 0;
  return Math.max(0, Math.round(behaviour.latencyMs + (random() * 2 - 1) * behaviour.latencyJitterMs));
}
