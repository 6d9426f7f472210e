import type { EndpointCounters } from './bound-sim';
import { callMixFigures, cpuCores, cpuMsPerCall, endpointFigures, hopFigures, rssDriftMib, targetChecks, totalCallsPerS } from './bound-report';
import { Pool } from './lockstep';
import { renderTable, tableRows, type BenchReport } from './report';
import type { BoundBenchResult } from './bound-bench';

const counters = (over: Partial<EndpointCounters>): EndpointCounters => ({
  calls: 0,
  failed: 0,
  inFlight: 0,
  busyArea: 0,
  latencySumMs: 0,
  peakInFlight: 0,
  upstreamLatencySumMs: 0,
  ...over,
});

describe('bound bench arithmetic', () => {
  it("derives calls/s, mean in-flight and the Little's-law bound of one endpoint over a window", () => {
    // 10 s window: 2,400 calls of 250 ms mean with 60 in flight on average, at C = 64.
    const figures = endpointFigures(
      counters({ calls: 100, latencySumMs: 25_000, busyArea: 1_000 }),
      counters({ calls: 2_500, latencySumMs: 625_000, busyArea: 601_000, failed: 2 }),
      10_000,
      64,
    );
    expect(figures.calls).toBe(2_400);
    expect(figures.calls_per_s).toBe(240);
    expect(figures.mean_latency_ms).toBe(250);
    expect(figures.mean_in_flight).toBe(60);
    expect(figures.bound_calls_per_s).toBe(256);
    expect(figures.utilisation).toBe(0.938);
    expect(figures.failed).toBe(2);
    // Without a configured mean there is no configured bound.
    expect(figures.configured_bound_calls_per_s).toBeNull();
  });

  it('splits the served latency into handling and receiving the request and judges against the configured mean too', () => {
    // 2,000 calls served at 300 ms mean, of which 280 ms after the request was read, configured 250 ms, C = 64, 10 s.
    const figures = endpointFigures(
      counters({}),
      counters({ calls: 2_000, latencySumMs: 600_000, upstreamLatencySumMs: 560_000, busyArea: 600_000 }),
      10_000,
      64,
      250,
    );
    expect(figures.mean_latency_ms).toBe(300);
    expect(figures.mean_upstream_latency_ms).toBe(280);
    expect(figures.bound_calls_per_s).toBe(213.3);
    expect(figures.utilisation).toBe(0.938);
    expect(figures.configured_bound_calls_per_s).toBe(256);
    expect(figures.utilisation_of_configured).toBe(0.781);
  });

  it('gives CPU ms per model call, none without calls', () => {
    expect(cpuMsPerCall(0.5, 250)).toBe(2);
    expect(cpuMsPerCall(0.3, 0)).toBeNull();
  });

  it('reports no utilisation for an endpoint that served nothing, and refuses an empty window', () => {
    expect(endpointFigures(counters({}), counters({}), 1_000, 64)).toMatchObject({ calls: 0, calls_per_s: 0, bound_calls_per_s: 0, utilisation: null });
    expect(() => endpointFigures(counters({}), counters({}), 0, 64)).toThrow(RangeError);
  });

  it('turns CPU time into cores and sums endpoints', () => {
    expect(cpuCores({ user: 1_000_000, system: 0 }, { user: 2_500_000, system: 500_000 }, 2_000)).toBe(1);
    expect(totalCallsPerS([{ calls_per_s: 240 } as never, { calls_per_s: 250.5 } as never])).toBe(490.5);
  });

  it('summarises hop samples (p50, p99, max) and says when there are none', () => {
    const samples = Array.from({ length: 100 }, (_, i) => i + 1);
    expect(hopFigures(samples)).toEqual({ count: 100, p50_ms: 50.5, p99_ms: 99, max_ms: 100 });
    expect(hopFigures([])).toEqual({ count: 0, p50_ms: null, p99_ms: null, max_ms: null });
  });

  it('judges each target of issue 10 from its figure, and leaves unmeasured ones open', () => {
    const checks = targetChecks({
      utilisation: [0.95, 0.89],
      streamingOverLockStep: 1.8,
      hop: { count: 5, p50_ms: 3, p99_ms: 30, max_ms: 40 },
      peakRssMibAt1000: null,
    });
    expect(checks.map((c) => [c.target.split(' ')[0], c.value, c.met])).toEqual([
      ['utilisation', 0.89, false],
      ['streaming', 1.8, true],
      ['per-hop', 3, true],
      ['per-hop', 30, false],
      ['RSS', null, null],
    ]);
  });

  it("bounds the answerer by the questioner's calls: the call mix caps it below C/latency", () => {
    // 10 s at C = 64 and 250 ms (bound 256/s each): the questioner at 240/s (0.9375), the answerer
    // at 160/s, i.e. 2 answers per 3 questioner calls, so it can be at most 2/3 × 256 busy.
    const q = endpointFigures(counters({}), counters({ calls: 2_400, latencySumMs: 600_000, busyArea: 600_000 }), 10_000, 64);
    const a = endpointFigures(counters({}), counters({ calls: 1_600, latencySumMs: 400_000, busyArea: 400_000 }), 10_000, 64);
    expect(a.utilisation).toBe(0.625);
    const mix = callMixFigures(q, a);
    expect(mix.answerer_calls_per_questioner_call).toBe(0.667);
    expect(mix.questioner_attainable_bound_calls_per_s).toBe(256);
    expect(mix.answerer_attainable_bound_calls_per_s).toBeCloseTo(170.7, 1);
    expect(mix.questioner_utilisation).toBe(0.938);
    expect(mix.answerer_utilisation).toBe(0.938);
    expect(mix.utilisation).toBe(0.938);
    // An answerer slower than its share (its own bound below r × the questioner's) limits both.
    const slow = endpointFigures(counters({}), counters({ calls: 1_000, latencySumMs: 1_000_000, busyArea: 1_000_000 }), 10_000, 64);
    const limited = callMixFigures(q, slow);
    expect(limited.answerer_attainable_bound_calls_per_s).toBe(64);
    expect(limited.questioner_attainable_bound_calls_per_s).toBeCloseTo(153.6, 1);
    // No questioner calls: nothing to relate the answerer to; its own bound stands.
    expect(callMixFigures(endpointFigures(counters({}), counters({}), 10_000, 64), a).answerer_attainable_bound_calls_per_s).toBe(256);
  });

  it('judges the call-mix utilisation target when it is given', () => {
    const checks = targetChecks({
      utilisation: [0.95, 0.62],
      callMixUtilisation: [0.95, 0.91],
      streamingOverLockStep: 1.8,
      hop: { count: 5, p50_ms: 3, p99_ms: 30, max_ms: 40 },
      peakRssMibAt1000: 200,
    });
    expect(checks.slice(0, 2).map((c) => [c.target, c.value, c.met])).toEqual([
      ['utilisation >= 0.90 per endpoint', 0.62, false],
      ["utilisation >= 0.90 per endpoint of the call mix's bound", 0.91, true],
    ]);
  });

  it('measures RSS drift as the last quarter minus the first quarter of a soak', () => {
    expect(rssDriftMib([100, 100, 101, 100, 120, 121, 122, 122])).toBe(22);
    expect(rssDriftMib([100, 101])).toBeNull();
  });

  it('prints the whole-window and the second-half soak drift', () => {
    const samples = [200, 210, 220, 230, 240, 241, 241, 242, 242, 242, 242, 242, 243, 242, 242, 243];
    const soak = {
      games_in_flight: 1000,
      duration_s: 600,
      rss_samples_mib: { questioner: samples },
      rss_drift_mib: { questioner: rssDriftMib(samples) },
      rss_drift_second_half_mib: { questioner: rssDriftMib(samples.slice(8)) },
    };
    expect(soak.rss_drift_mib.questioner).toBe(27.5);
    expect(soak.rss_drift_second_half_mib.questioner).toBe(0.5);
    const report = {
      started_at: '',
      finished_at: '',
      quick: false,
      host: { cpus: 2, node: 'v24', platform: 'linux-x64', load_average_1m_before: 1, load_average_1m_after: 1 },
      stack_started_by_bench: false,
      order: ['bound'],
      bound: { concurrency: 64, latency_ms: 250, jitter_ms: 50, targets: [], soak } as BoundBenchResult,
      runs: {},
      ok: true,
    } as BenchReport;
    const rows = tableRows(report);
    expect(rows.find((r) => r.figure === 'soak RSS drift MiB (600 s)')).toMatchObject({ measured: 'questioner 27.5' });
    expect(rows.find((r) => r.figure === 'soak RSS drift MiB, second half (300 s)')).toMatchObject({ measured: 'questioner 0.5' });
  });
});

describe('lock-step Pool', () => {
  it('never runs more than its limit at once and serves waiters in order', async () => {
    const pool = new Pool(2);
    let running = 0;
    let peak = 0;
    const order: number[] = [];
    await Promise.all(
      Array.from({ length: 7 }, (_, i) =>
        pool.run(async () => {
          running++;
          peak = Math.max(peak, running);
          order.push(i);
          await new Promise((resolve) => setTimeout(resolve, 2));
          running--;
        }),
      ),
    );
    expect(peak).toBe(2);
    expect(order).toEqual([0, 1, 2, 3, 4, 5, 6]);
  });
});

describe('bound bench table', () => {
  it('prints each figure with its same-run bound or baseline and the ratio, and the target verdicts', () => {
    const endpoint = {
      calls: 2_400,
      calls_per_s: 240,
      mean_in_flight: 60,
      mean_latency_ms: 300,
      bound_calls_per_s: 213,
      utilisation: 1.13,
      concurrency: 64,
      failed: 0,
      mean_upstream_latency_ms: 280,
      configured_bound_calls_per_s: 256,
      utilisation_of_configured: 0.938,
    };
    const bound: BoundBenchResult = {
      concurrency: 64,
      latency_ms: 250,
      jitter_ms: 50,
      role_node_flags: ['--max-semi-space-size=16', '--max-old-space-size=160'],
      streaming: {
        games_in_flight: 256,
        window_s: 30,
        model_calls_per_s: 480,
        bound_calls_per_s: 512,
        utilisation: 0.938,
        endpoints: { questioner: endpoint, answerer: endpoint },
        call_mix: {
          answerer_calls_per_questioner_call: 0.667,
          questioner_attainable_bound_calls_per_s: 256,
          answerer_attainable_bound_calls_per_s: 170.7,
          questioner_utilisation: 0.938,
          answerer_utilisation: 0.91,
          utilisation: 0.927,
        },
        games_per_s: 40,
        hop: { count: 10, p50_ms: 2, p99_ms: 20, max_ms: 30 },
        publish_ack: { count: 8, p50_ms: 1, p99_ms: 9, max_ms: 12 },
        produce_request: { count: 5, p50_ms: 1, p99_ms: 6, max_ms: 7 },
        roles: {
          sink: {
            cpu_cores: 0.1,
            peak_rss_mib: 120,
            heap_used_mib: 50,
            external_mib: 5,
            loop_delay_p99_ms: 12,
            hop: { count: 2, p50_ms: 1, p99_ms: 2, max_ms: 2 },
            publish_ack: { count: 2, p50_ms: 1, p99_ms: 3, max_ms: 3 },
            cpu_ms_per_call: 0.208,
            run_queue: { wait_ms_per_s: 120, wait_ms_per_slice: 1.5 },
          },
        },
        simulator_cpu_cores: 0.3,
        simulator_cpu_ms_per_call: 0.625,
        simulator_loop_delay_p99_ms: 20,
        simulator_run_queue: { wait_ms_per_s: 80, wait_ms_per_slice: null },
        host_load_1m: 1.5,
        host_cpu_busy: 0.93,
        stack_cpu_cores: { kafka: 0.36, 'schema-registry': 0.01, clickhouse: null },
        stack_kafka_jit: 'c1-only',
        bench_process_cpu_cores: 0.12,
      },
      lock_step: {
        games_in_flight: 256,
        window_s: 30,
        model_calls_per_s: 240,
        batches: 20,
        games_per_s: 20,
        endpoints: { questioner: endpoint, answerer: endpoint },
      },
      streaming_over_lock_step: 2,
      targets: targetChecks({
        utilisation: [0.938, 0.938],
        streamingOverLockStep: 2,
        hop: { count: 10, p50_ms: 2, p99_ms: 20, max_ms: 30 },
        peakRssMibAt1000: null,
      }),
    };
    const report: BenchReport = {
      started_at: '',
      finished_at: '',
      quick: true,
      host: { cpus: 2, node: 'v24', platform: 'linux-x64', load_average_1m_before: 1, load_average_1m_after: 1 },
      stack_started_by_bench: false,
      order: ['bound'],
      bound,
      runs: {},
      ok: true,
    };
    const rows = tableRows(report);
    expect(rows.find((r) => r.figure.startsWith('model calls/s'))).toMatchObject({ measured: '480', baseline: "Little's law C/latency 512", ratio: '0.938' });
    expect(rows.find((r) => r.figure === 'lock-step model calls/s')).toMatchObject({ measured: '240', ratio: '2x' });
    expect(rows.find((r) => r.figure.startsWith('target: per-hop p99'))).toMatchObject({ measured: '20', baseline: 'met' });
    expect(rows.find((r) => r.figure.startsWith('target: RSS'))).toMatchObject({ baseline: 'not measured' });
    expect(renderTable(rows)).toContain('sink: CPU cores, RSS MiB, loop p99 ms');
    expect(rows.find((r) => r.figure === 'of which publish→acked p50 / p99 ms')).toMatchObject({ measured: '1 / 9' });
    expect(rows.find((r) => r.figure === 'produce request round trip p50 / p99 ms')).toMatchObject({ measured: '1 / 6' });
    expect(rows.find((r) => r.figure === 'set-up')).toMatchObject({
      measured: 'C=64 per endpoint, latency 250±50 ms',
      baseline: 'role processes: --max-semi-space-size=16 --max-old-space-size=160',
    });
    expect(rows.find((r) => r.figure.startsWith('sink: CPU cores'))).toMatchObject({ baseline: 'hop p50/p99 1/2; its publishes acked p50/p99 1/3' });
    expect(rows.find((r) => r.figure === 'sink: CPU ms per model call')).toMatchObject({ measured: '0.208', baseline: 'per call of both endpoints' });
    expect(rows.find((r) => r.figure.startsWith('questioner: served latency'))).toMatchObject({
      measured: '300 (280; 20)',
      baseline: 'configured mean 250 ms: bound 256',
      ratio: '0.938',
    });
    expect(rows.find((r) => r.figure.startsWith('simulator: CPU ms per model call'))).toMatchObject({ measured: '0.625, 20' });
    expect(rows.find((r) => r.figure.startsWith('call mix'))).toMatchObject({ measured: '0.667; 480', baseline: 'call-mix bound 427', ratio: '0.927' });
    expect(rows.find((r) => r.figure === "answerer: calls/s of the call mix's bound")).toMatchObject({ baseline: 'attainable 171', ratio: '0.91' });
    expect(rows.find((r) => r.figure.startsWith('host CPU busy'))).toMatchObject({
      measured: '0.93; 0.36 / 0.01 / -; 0.12',
      baseline: expect.stringMatching(/broker JIT C1 only/),
    });
    expect(rows.find((r) => r.figure.startsWith('main thread waiting for a core'))).toMatchObject({
      measured: '120',
      ratio: 'sink 120 (1.5) simulator 80 (-)',
    });
  });
});
