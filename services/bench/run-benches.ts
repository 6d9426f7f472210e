import { cpus, loadavg } from 'node:os';
import type { ConfigOverrides, DgConfig } from '../core/config';
import { boundBench, type BoundBenchOptions } from './bound-bench';
import { busBench } from './bus-bench';
import { codecBench } from './codec-bench';
import { runBench, type Bench } from './context';
import { e2eBench } from './e2e-bench';
import type { BenchName, BenchReport } from './report';
import { sinkBench } from './sink-bench';
import { significant } from './stats';

export interface RunBenchesOptions {
  quick: boolean;
  /** Which benches to run; they always run in RUN_ORDER. */
  only: readonly BenchName[];
  /** Games kept in flight by the end-to-end bench. */
  inFlight: number;
  /** The bound bench's settings. */
  bound: BoundBenchOptions;
  config: DgConfig;
  /** `config` with more settings on top (each bench's isolation). */
  configWith: (overrides: ConfigOverrides) => DgConfig;
  stackStartedByBench: boolean;
  /** Aborts the bench that is running (its clean-ups still run) and skips the rest. */
  interrupt: AbortSignal;
  progress: (line: string) => void;
}

/**
 * The bound bench (separate processes) runs first; then the end-to-end bench, while the process is fresh, so its memory figures are not
 * inflated by what earlier benches left on the heap; the CPU-only codec bench runs last.
 */
export const RUN_ORDER: readonly BenchName[] = ['bound', 'e2e', 'bus', 'sink', 'codec'];

export async function runBenches(options: RunBenchesOptions): Promise<BenchReport> {
  const benches: Record<BenchName, () => Bench<unknown>> = {
    bound: () => boundBench(options.bound),
    e2e: () => e2eBench({ inFlight: options.inFlight }),
    bus: busBench,
    sink: sinkBench,
    codec: codecBench,
  };
  const order = RUN_ORDER.filter((name) => options.only.includes(name));
  const report: BenchReport = {
    started_at: new Date().toISOString(),
    finished_at: '',
    quick: options.quick,
    host: {
      cpus: cpus().length,
      node: process.version,
      platform: `${process.platform}-${process.arch}`,
      load_average_1m_before: significant(loadavg()[0]!, 3),
      load_average_1m_after: 0,
    },
    stack_started_by_bench: options.stackStartedByBench,
    order,
    runs: {},
    ok: true,
  };
  for (const name of order) {
    if (options.interrupt.aborted) break;
    const bench = benches[name]();
    options.progress(`${name}: running (hard timeout ${bench.timeoutMs / 1000} s)`);
    const outcome = await runBench(bench, {
      quick: options.quick,
      config: options.config,
      configWith: options.configWith,
      interrupt: options.interrupt,
      progress: options.progress,
    });
    (report as unknown as Record<BenchName, unknown>)[name] = outcome.ok ? outcome.result : { error: outcome.error };
    report.runs[name] = { elapsed_s: significant(outcome.elapsedMs / 1000, 3), cleanup_notes: outcome.cleanupNotes, cleanup_problems: outcome.cleanupProblems };
    if (!outcome.ok || outcome.cleanupProblems.length > 0) report.ok = false;
    options.progress(`${name}: ${outcome.ok ? 'done' : `FAILED: ${outcome.error}`} in ${(outcome.elapsedMs / 1000).toFixed(1)} s`);
    for (const problem of outcome.cleanupProblems) options.progress(`${name}: clean-up problem: ${problem}`);
  }
  report.host.load_average_1m_after = significant(loadavg()[0]!, 3);
  report.finished_at = new Date().toISOString();
  return report;
}
