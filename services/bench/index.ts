/**
 * `dg bench`: throughput and memory figures of the codec, the bus, the whole pipeline and the
 * ClickHouse sink, each against a baseline measured in the same run, on the real local stack.
 * Every bench is bounded in count and time and removes what it created.
 */
export { BENCH_NAMES, formatFigure, renderTable, tableRows, type BenchName, type BenchReport } from './report';
export { RUN_ORDER, runBenches, type RunBenchesOptions } from './run-benches';
