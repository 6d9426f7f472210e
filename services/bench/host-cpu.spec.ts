import { brokerJitOfCmdline, hostCpuBusy, parsePidStatCpuMs, parseProcStat, parseSchedstat, runQueueFigures, stackCpuCores } from './host-cpu';

describe('host CPU accounting from /proc', () => {
  it('reads busy and total ticks from the aggregate cpu line of /proc/stat (idle and iowait are not busy)', () => {
    const text = 'cpu  100 5 50 800 20 3 2 0 0 0\ncpu0 50 2 25 400 10 1 1 0 0 0\nintr 1 2 3\n';
    expect(parseProcStat(text)).toEqual({ busyTicks: 160, totalTicks: 980 });
    expect(parseProcStat('intr 1 2\n')).toBeNull();
  });

  it('gives the busy fraction of all cores between two samples, none without a second sample', () => {
    expect(hostCpuBusy({ busyTicks: 100, totalTicks: 1_000 }, { busyTicks: 280, totalTicks: 1_200 })).toBe(0.9);
    expect(hostCpuBusy({ busyTicks: 100, totalTicks: 1_000 }, null)).toBeNull();
  });

  it('reads utime + stime of /proc/<pid>/stat even when the command name holds spaces and parentheses', () => {
    // Fields after the name: state ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt utime stime ...
    const text = '4242 (java (kafka) x) S 1 4242 4242 0 -1 4194560 100 0 0 0 1234 566 0 0 20 0 80 0 7029337 0 0\n';
    expect(parsePidStatCpuMs(text)).toBe(18_000);
    expect(parsePidStatCpuMs('4242 (x) S 1')).toBeNull();
  });

  it('reads the run-queue counters of /proc/<pid>/schedstat and turns them into wait per second and per slice', () => {
    const before = parseSchedstat('5000000000 1000000000 2000\n');
    const after = parseSchedstat('5500000000 1300000000 2100\n');
    expect(before).toEqual({ onCpuNs: 5e9, waitNs: 1e9, slices: 2_000 });
    // 300 ms of waiting over a 2 s window, in 100 slices.
    expect(runQueueFigures(before, after, 2_000)).toEqual({ wait_ms_per_s: 150, wait_ms_per_slice: 3 });
    expect(runQueueFigures(before, before, 2_000)).toEqual({ wait_ms_per_s: 0, wait_ms_per_slice: null });
    expect(runQueueFigures(null, after, 2_000)).toBeNull();
    expect(parseSchedstat('garbage')).toBeNull();
  });

  it('gives cores per stack component over a window, null for one not sampled both times', () => {
    const cores = stackCpuCores(
      { atMs: 0, host: null, stackCpuMs: { kafka: 1_000, clickhouse: 50 } },
      { atMs: 10_000, host: null, stackCpuMs: { kafka: 4_600, 'schema-registry': 10 } },
    );
    expect(cores).toEqual({ kafka: 0.36, 'schema-registry': null, clickhouse: null });
  });

  it('tells a broker started with the JIT stopped at C1 from one running tiered C2', () => {
    expect(brokerJitOfCmdline(['/usr/bin/java', '-Xmx512m', '-XX:TieredStopAtLevel=1', 'kafka.Kafka', 'server.properties'].join('\0'))).toBe('c1-only');
    expect(brokerJitOfCmdline(['/usr/bin/java', '-Xmx512m', '-XX:+UseSerialGC', 'kafka.Kafka'].join('\0'))).toBe('tiered');
  });
});
