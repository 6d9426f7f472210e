import type { BoundBenchResult } from './bound-bench';
import type { BusBenchResult } from './bus-bench';
import type { CodecBenchResult } from './codec-bench';
import type { E2eBenchResult } from './e2e-bench';
import type { SinkBenchResult } from './sink-bench';
import { significant } from './stats';

export const BENCH_NAMES = ['bound', 'codec', 'bus', 'e2e', 'sink'] as const;
export type BenchName = (typeof BENCH_NAMES)[number];

export interface BenchResults {
  bound: BoundBenchResult;
  codec: CodecBenchResult;
  bus: BusBenchResult;
  e2e: E2eBenchResult;
  sink: SinkBenchResult;
}

/** A bench that did not finish: why, and how long it ran. */
export interface BenchFailure {
  error: string;
}

export interface BenchRunInfo {
  elapsed_s: number;
  cleanup_notes: string[];
  cleanup_problems: string[];
}

/** Everything `dg bench --json` prints (last line) and `--out` writes. */
export interface BenchReport {
  started_at: string;
  finished_at: string;
  quick: boolean;
  host: { cpus: number; node: string; platform: string; load_average_1m_before: number; load_average_1m_after: number };
  stack_started_by_bench: boolean;
  /** Benches in the order they ran. */
  order: BenchName[];
  bound?: BoundBenchResult | BenchFailure;
  codec?: CodecBenchResult | BenchFailure;
  bus?: BusBenchResult | BenchFailure;
  e2e?: E2eBenchResult | BenchFailure;
  sink?: SinkBenchResult | BenchFailure;
  runs: Partial<Record<BenchName, BenchRunInfo>>;
  ok: boolean;
}

export interface TableRow {
  bench: string;
  figure: string;
  measured: string;
  baseline: string;
  ratio: string;
}

/** 12345.6 → "12,346"; 12.345 → "12.3"; 0.01234 → "0.0123". */
export function formatFigure(value: number | null | undefined): string {
  if (value === null || value === undefined || !Number.isFinite(value)) return '-';
  if (Math.abs(value) >= 100) return Math.round(value).toLocaleString('en-US');
  return String(Number(value.toPrecision(3)));
}

function isFailure(value: object | undefined): value is BenchFailure {
  return value !== undefined && 'error' in value;
}

/** The human table: one line per figure, measured against the baseline of the same run. */
export function tableRows(report: BenchReport): TableRow[] {
  const rows: TableRow[] = [];
  const add = (bench: string, figure: string, measured: string, baseline = '', ratioText = ''): void => {
    rows.push({ bench, figure, measured, baseline, ratio: ratioText });
  };
  const f = formatFigure;
  for (const name of BENCH_NAMES) {
    const result = report[name];
    if (result === undefined) continue;
    if (isFailure(result)) {
      add(name, 'FAILED', result.error);
      continue;
    }
    if (name === 'bound') {
      boundRows(result as BoundBenchResult, add);
    } else if (name === 'codec') {
      const r = result as CodecBenchResult;
      add('codec', 'encode+validate events/s', f(r.codec_encode_events_per_s), `avsc toBuffer ${f(r.raw_encode_events_per_s)}`, f(r.encode_ratio));
      add('codec', 'decode events/s', f(r.codec_decode_events_per_s), `avsc fromBuffer ${f(r.raw_decode_events_per_s)}`, f(r.decode_ratio));
      add('codec', 'validate only events/s', f(r.validate_events_per_s));
      add('codec', 'bytes/event', f(r.bytes_per_event), `avsc body ${f(r.raw_bytes_per_event)}`);
    } else if (name === 'bus') {
      const r = result as BusBenchResult;
      add('bus', 'end-to-end msgs/s', f(r.bus_end_to_end_msgs_per_s), `kafkajs ${f(r.raw_end_to_end_msgs_per_s)}`, f(r.end_to_end_ratio));
      add('bus', 'publish msgs/s', f(r.bus_publish_msgs_per_s), `kafkajs ${f(r.raw_publish_msgs_per_s)}`, f(r.publish_ratio));
    } else if (name === 'e2e') {
      const r = result as E2eBenchResult;
      add('e2e', 'games/s', f(r.games_per_s), `sim-only ${f(r.simulator_bound_games_per_s)}`, f(r.ratio_to_simulator_bound));
      add('e2e', 'model calls/s', f(r.model_calls_per_s), `sim-only ${f(r.simulator_bound_model_calls_per_s)}`);
      add('e2e', 'CPU busy, cores: this process / host', `${f(r.process_cpu_cores)} / ${f(r.host_busy_cores)}`, `of ${report.host.cpus}`);
      add('e2e', 'game latency p50 / p95 ms', `${f(r.game_latency_ms.p50)} / ${f(r.game_latency_ms.p95)}`);
      add(
        'e2e',
        'per call: transport gap p50 / p95 ms',
        `${f(r.transport_gap_ms.p50)} / ${f(r.transport_gap_ms.p95)}`,
        `model call ${f(r.model_call_ms.p50)} / ${f(r.model_call_ms.p95)}`,
      );
      add('e2e', 'peak RSS / heap MiB', `${f(r.peak_rss_mib)} / ${f(r.peak_heap_used_mib)}`, `idle ${f(r.idle_rss_mib)} / ${f(r.idle_heap_used_mib)}`);
      add('e2e', `RSS growth per in-flight game KiB`, f(r.rss_growth_per_in_flight_game_kib), `${r.games_in_flight} in flight`);
      add('e2e', 'success rate', f(r.success_rate), `${r.games} games`);
    } else {
      const r = result as SinkBenchResult;
      add('sink', `rows/s, ${r.games_in_flight} games in flight`, f(r.batch_writer_rows_per_s), `one raw insert ${f(r.raw_insert_rows_per_s)}`, f(r.ratio));
      add('sink', 'rows/s, all games queued', f(r.batch_writer_all_queued_rows_per_s), `one raw insert ${f(r.raw_insert_rows_per_s)}`, f(r.all_queued_ratio));
    }
  }
  return rows;
}

function boundRows(r: BoundBenchResult, add: (bench: string, figure: string, measured: string, baseline?: string, ratio?: string) => void): void {
  const f = formatFigure;
  const b = 'bound';
  add(
    b,
    'set-up',
    `C=${r.concurrency} per endpoint, latency ${r.latency_ms}±${r.jitter_ms} ms`,
    r.role_node_flags ? `role processes: ${r.role_node_flags.join(' ')}` : '',
  );
  const s = r.streaming;
  if (s) {
    add(b, `model calls/s, ${s.games_in_flight} games in flight`, f(s.model_calls_per_s), `Little's law C/latency ${f(s.bound_calls_per_s)}`, f(s.utilisation));
    for (const role of ['questioner', 'answerer'] as const) {
      const e = s.endpoints[role];
      add(
        b,
        `${role}: calls/s, mean in-flight`,
        `${f(e.calls_per_s)}, ${f(e.mean_in_flight)}`,
        `bound ${f(e.bound_calls_per_s)} (${e.concurrency}/${f(e.mean_latency_ms)} ms)`,
        f(e.utilisation),
      );
      if (e.configured_bound_calls_per_s !== undefined && e.configured_bound_calls_per_s !== null) {
        add(
          b,
          `${role}: served latency ms (handling; receiving)`,
          `${f(e.mean_latency_ms)} (${f(e.mean_upstream_latency_ms ?? null)}; ${e.mean_upstream_latency_ms == null ? '-' : f(significant(e.mean_latency_ms - e.mean_upstream_latency_ms, 3))})`,
          `configured mean ${r.latency_ms} ms: bound ${f(e.configured_bound_calls_per_s)}`,
          f(e.utilisation_of_configured ?? null),
        );
      }
    }
    if (s.call_mix) {
      const m = s.call_mix;
      add(
        b,
        `call mix: answerer calls per questioner call; calls/s`,
        `${f(m.answerer_calls_per_questioner_call)}; ${f(s.model_calls_per_s)}`,
        `call-mix bound ${f(significant(m.questioner_attainable_bound_calls_per_s + m.answerer_attainable_bound_calls_per_s))}`,
        f(m.utilisation),
      );
      for (const role of ['questioner', 'answerer'] as const)
        add(
          b,
          `${role}: calls/s of the call mix's bound`,
          f(s.endpoints[role].calls_per_s),
          `attainable ${f(role === 'questioner' ? m.questioner_attainable_bound_calls_per_s : m.answerer_attainable_bound_calls_per_s)}`,
          f(role === 'questioner' ? m.questioner_utilisation : m.answerer_utilisation),
        );
    }
    add(b, 'games/s', f(s.games_per_s));
    add(b, 'per-hop publish→handler p50 / p99 ms', `${f(s.hop.p50_ms)} / ${f(s.hop.p99_ms)}`, 'target 5 / 25');
    if (s.publish_ack)
      add(
        b,
        'of which publish→acked p50 / p99 ms',
        `${f(s.publish_ack.p50_ms)} / ${f(s.publish_ack.p99_ms)}`,
        "producer's share: behind the request in flight, then the produce round trip",
      );
    if (s.produce_request)
      add(
        b,
        'produce request round trip p50 / p99 ms',
        `${f(s.produce_request.p50_ms)} / ${f(s.produce_request.p99_ms)}`,
        'one sample per coalesced request; an ack above this waited behind the request in flight',
      );
    for (const [name, role] of Object.entries(s.roles)) {
      add(
        b,
        `${name}: CPU cores, RSS MiB, loop p99 ms`,
        `${f(role.cpu_cores)}, ${f(role.peak_rss_mib)}, ${f(role.loop_delay_p99_ms)}`,
        `hop p50/p99 ${f(role.hop.p50_ms)}/${f(role.hop.p99_ms)}${role.publish_ack ? `; its publishes acked p50/p99 ${f(role.publish_ack.p50_ms)}/${f(role.publish_ack.p99_ms)}` : ''}${role.produce_request?.count ? `; produce requests p50/p99 ${f(role.produce_request.p50_ms)}/${f(role.produce_request.p99_ms)}` : ''}`,
      );
      if (role.cpu_ms_per_call !== undefined)
        add(
          b,
          `${name}: CPU ms per model call`,
          f(role.cpu_ms_per_call),
          name === 'questioner' || name.startsWith('answerer') ? 'per call of its endpoint' : 'per call of both endpoints',
        );
    }
    add(b, 'simulator CPU cores; host load (1 min)', `${f(s.simulator_cpu_cores)}; ${f(s.host_load_1m)}`);
    if (s.simulator_cpu_ms_per_call !== undefined)
      add(b, 'simulator: CPU ms per model call, loop p99 ms', `${f(s.simulator_cpu_ms_per_call)}, ${f(s.simulator_loop_delay_p99_ms ?? null)}`);
    if (s.host_cpu_busy !== undefined) {
      const stack = s.stack_cpu_cores;
      add(
        b,
        'host CPU busy; cores of kafka / registry / clickhouse; bench process',
        `${f(s.host_cpu_busy)}; ${stack ? `${f(stack.kafka)} / ${f(stack['schema-registry'])} / ${f(stack.clickhouse)}` : '-'}; ${f(s.bench_process_cpu_cores)}`,
        s.stack_kafka_jit === 'c1-only' ? 'of all cores; broker JIT C1 only (DG_STACK_KAFKA_JIT=quick): more broker CPU than deployed' : 'of all cores',
      );
    }
    const queued = [...Object.entries(s.roles).map(([name, role]) => [name, role.run_queue] as const), ['simulator', s.simulator_run_queue] as const].filter(
      ([, q]) => q !== undefined && q !== null,
    );
    if (queued.length > 0)
      add(
        b,
        'main thread waiting for a core, most of any process, ms per s',
        f(Math.max(...queued.map(([, q]) => q!.wait_ms_per_s))),
        'CPU queueing; per process ms per s (per slice):',
        queued.map(([name, q]) => `${name} ${f(q!.wait_ms_per_s)} (${f(q!.wait_ms_per_slice)})`).join(' '),
      );
  }
  if (r.lock_step)
    add(b, 'lock-step model calls/s', f(r.lock_step.model_calls_per_s), `streaming ${f(s?.model_calls_per_s)}`, `${f(r.streaming_over_lock_step ?? null)}x`);
  if (r.scale_out)
    add(
      b,
      'scale-out (2 answerers, C split) calls/s',
      f(r.scale_out.model_calls_per_s),
      `one answerer ${f(s?.model_calls_per_s)}`,
      f(r.scale_out_over_streaming ?? null),
    );
  if (r.memory)
    add(
      b,
      `max RSS per role, ${r.memory.games_in_flight} in flight MiB`,
      f(r.memory.max_role_rss_mib),
      'target 250 MB',
      Object.entries(r.memory.peak_rss_mib)
        .map(([k, v]) => `${k} ${f(v)}`)
        .join(' '),
    );
  if (r.soak)
    add(
      b,
      `soak RSS drift MiB (${r.soak.duration_s} s)`,
      Object.entries(r.soak.rss_drift_mib)
        .map(([k, v]) => `${k} ${f(v)}`)
        .join(', '),
    );
  if (r.soak?.rss_drift_second_half_mib)
    add(
      b,
      `soak RSS drift MiB, second half (${r.soak.duration_s / 2} s)`,
      Object.entries(r.soak.rss_drift_second_half_mib)
        .map(([k, v]) => `${k} ${f(v)}`)
        .join(', '),
    );
  for (const t of r.targets) add(b, `target: ${t.target}`, f(t.value), t.met === null ? 'not measured' : t.met ? 'met' : 'MISSED');
}

export function renderTable(rows: readonly TableRow[]): string {
  const header: TableRow = { bench: 'bench', figure: 'figure', measured: 'measured', baseline: 'baseline (same run)', ratio: 'ratio' };
  const all = [header, ...rows];
  const width = (key: keyof TableRow): number => Math.max(...all.map((r) => r[key].length));
  const widths = { bench: width('bench'), figure: width('figure'), measured: width('measured'), baseline: width('baseline'), ratio: width('ratio') };
  const line = (r: TableRow): string =>
    [
      r.bench.padEnd(widths.bench),
      r.figure.padEnd(widths.figure),
      r.measured.padStart(widths.measured),
      r.baseline.padEnd(widths.baseline),
      r.ratio.padStart(widths.ratio),
    ]
      .join('  ')
      .trimEnd();
  return [line(header), ...rows.map(line)].join('\n');
}
