import type { EndpointCounters } from './bound-sim';
import { percentile, ratioFigure, significant } from './stats';

/** Pure arithmetic of the bound bench: counters in, figures out (unit-tested in bound-report.spec.ts). */

export interface EndpointFigures {
  calls: number;
  calls_per_s: number;
  /** Time-average of calls in flight at the endpoint during the window. */
  mean_in_flight: number;
  mean_latency_ms: number;
  /** Little's law: at most `concurrency` calls in flight, each taking the mean latency. */
  bound_calls_per_s: number;
  /** calls/s ÷ bound (equivalently mean in-flight ÷ concurrency). */
  utilisation: number | null;
  concurrency: number;
  failed: number;
  /**
   * The endpoint's handling share of the mean latency (request read in full → answer ended);
   * mean_latency_ms − this is receiving the request. Null when the counters lack it.
   */
  mean_upstream_latency_ms: number | null;
  /** Little's law with the configured distribution's mean instead of the served latency. */
  configured_bound_calls_per_s: number | null;
  /** calls/s ÷ configured bound: what a endpoint serving exactly its configured latency would show. */
  utilisation_of_configured: number | null;
}

/** One endpoint's figures over a window, from its counters at the window's start and end. */
export function endpointFigures(
  before: EndpointCounters,
  after: EndpointCounters,
  windowMs: number,
  concurrency: number,
  configuredMeanMs?: number,
): EndpointFigures {
  if (!(windowMs > 0)) throw new RangeError(`window must be positive, got ${windowMs} ms`);
  const calls = after.calls - before.calls;
  const latencySum = after.latencySumMs - before.latencySumMs;
  const meanLatency = calls > 0 ? latencySum / calls : 0;
  const callsPerS = (calls * 1000) / windowMs;
  const bound = meanLatency > 0 ? (concurrency * 1000) / meanLatency : 0;
  return {
    calls,
    calls_per_s: significant(callsPerS),
    mean_in_flight: significant((after.busyArea - before.busyArea) / windowMs),
    mean_latency_ms: significant(meanLatency),
    bound_calls_per_s: significant(bound),
    utilisation: ratioFigure(callsPerS, bound),
    concurrency,
    failed: after.failed - before.failed,
    mean_upstream_latency_ms:
      calls > 0 && after.upstreamLatencySumMs !== undefined && before.upstreamLatencySumMs !== undefined
        ? significant((after.upstreamLatencySumMs - before.upstreamLatencySumMs) / calls)
        : null,
    configured_bound_calls_per_s: configuredMeanMs !== undefined && configuredMeanMs > 0 ? significant((concurrency * 1000) / configuredMeanMs) : null,
    utilisation_of_configured: configuredMeanMs !== undefined && configuredMeanMs > 0 ? ratioFigure(callsPerS, (concurrency * 1000) / configuredMeanMs) : null,
  };
}

/**
 * The bound the game's call mix allows. Every answerer call answers a questioner call, and a game
 * ends with a questioner call (the guess), so the answerer gets r < 1 calls per questioner call
 * (r = its calls ÷ the questioner's in the window). With the same C and latency on both endpoints,
 * the answerer can never be busier than r × the questioner's bound, however many games are in
 * flight: its attainable bound is min(its own C/latency, r × the questioner's), and likewise the
 * questioner's is min(its own, the answerer's ÷ r) when the answerer limits. Utilisation against
 * this bound says how busy the pipeline keeps each endpoint compared with what the game can ask of it.
 */
export interface CallMixFigures {
  answerer_calls_per_questioner_call: number | null;
  questioner_attainable_bound_calls_per_s: number;
  answerer_attainable_bound_calls_per_s: number;
  questioner_utilisation: number | null;
  answerer_utilisation: number | null;
  /** Both endpoints' calls/s ÷ the sum of their attainable bounds. */
  utilisation: number | null;
}

export function callMixFigures(questioner: EndpointFigures, answerer: EndpointFigures): CallMixFigures {
  const r = questioner.calls > 0 ? answerer.calls / questioner.calls : null;
  const qBound = r === null || r === 0 ? questioner.bound_calls_per_s : Math.min(questioner.bound_calls_per_s, answerer.bound_calls_per_s / r);
  const aBound = r === null ? answerer.bound_calls_per_s : Math.min(answerer.bound_calls_per_s, r * questioner.bound_calls_per_s);
  return {
    answerer_calls_per_questioner_call: r === null ? null : significant(r, 3),
    questioner_attainable_bound_calls_per_s: significant(qBound),
    answerer_attainable_bound_calls_per_s: significant(aBound),
    questioner_utilisation: ratioFigure(questioner.calls_per_s, qBound),
    answerer_utilisation: ratioFigure(answerer.calls_per_s, aBound),
    utilisation: ratioFigure(questioner.calls_per_s + answerer.calls_per_s, qBound + aBound),
  };
}

/** CPU milliseconds a process spent per model call over the window (cores ÷ calls/s × 1000). */
export function cpuMsPerCall(cores: number, callsPerS: number): number | null {
  if (!(callsPerS > 0)) return null;
  return significant((cores * 1000) / callsPerS, 3);
}

/** CPU cores a process used over the window (user + system). */
export function cpuCores(before: NodeJS.CpuUsage, after: NodeJS.CpuUsage, windowMs: number): number {
  if (!(windowMs > 0)) throw new RangeError(`window must be positive, got ${windowMs} ms`);
  return significant((after.user - before.user + (after.system - before.system)) / 1000 / windowMs, 3);
}

export interface HopFigures {
  count: number;
  p50_ms: number | null;
  p99_ms: number | null;
  max_ms: number | null;
}

/** Per-hop overhead (publish → handler start) over every role's samples. */
export function hopFigures(samples: readonly number[]): HopFigures {
  if (samples.length === 0) return { count: 0, p50_ms: null, p99_ms: null, max_ms: null };
  return {
    count: samples.length,
    p50_ms: significant(percentile(samples, 50), 3),
    p99_ms: significant(percentile(samples, 99), 3),
    max_ms: significant(Math.max(...samples), 3),
  };
}

/** Calls per second of the two endpoints together. */
export function totalCallsPerS(figures: readonly EndpointFigures[]): number {
  return significant(figures.reduce((sum, f) => sum + f.calls_per_s, 0));
}

/** Target checks of issue 10, each with the figure it judges; null when the figure is missing. */
export interface TargetCheck {
  target: string;
  value: number | null;
  met: boolean | null;
}

export function targetChecks(figures: {
  utilisation: readonly (number | null)[];
  /** Per endpoint, against the call mix's attainable bound (callMixFigures); omitted: not checked. */
  callMixUtilisation?: readonly (number | null)[];
  streamingOverLockStep: number | null;
  hop: HopFigures;
  peakRssMibAt1000: number | null;
}): TargetCheck[] {
  const minOf = (values: readonly (number | null)[]): number | null =>
    values.length > 0 && values.every((u) => u !== null) ? Math.min(...(values as number[])) : null;
  const minUtil = minOf(figures.utilisation);
  const check = (target: string, value: number | null, ok: (v: number) => boolean): TargetCheck => ({ target, value, met: value === null ? null : ok(value) });
  return [
    check('utilisation >= 0.90 per endpoint', minUtil, (v) => v >= 0.9),
    ...(figures.callMixUtilisation
      ? [check("utilisation >= 0.90 per endpoint of the call mix's bound", minOf(figures.callMixUtilisation), (v) => v >= 0.9)]
      : []),
    check('streaming >= 1.5x lock-step', figures.streamingOverLockStep, (v) => v >= 1.5),
    check('per-hop p50 <= 5 ms', figures.hop.p50_ms, (v) => v <= 5),
    check('per-hop p99 <= 25 ms', figures.hop.p99_ms, (v) => v <= 25),
    check('RSS per role <= 250 MB with 1,000 games in flight', figures.peakRssMibAt1000, (v) => v * 1.048576 <= 250),
  ];
}

/**
 * RSS drift over a soak: the mean of the last quarter of samples minus the mean of the first
 * quarter (MiB; the bench passes only samples taken after the warm-up). Flat memory keeps this near zero.
 */
export function rssDriftMib(samplesMib: readonly number[]): number | null {
  if (samplesMib.length < 8) return null;
  const quarter = Math.floor(samplesMib.length / 4);
  const avg = (values: readonly number[]): number => values.reduce((s, v) => s + v, 0) / values.length;
  return significant(avg(samplesMib.slice(-quarter)) - avg(samplesMib.slice(0, quarter)), 3);
}
