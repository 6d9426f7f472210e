import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { isRecordedProcessAlive, readPidRecord } from '../local-stack/processes';

/**
 * Where the CPU went during a bench window, from Linux /proc (null elsewhere): how busy the host's
 * cores were, the CPU of the local stack's processes (broker, registry, ClickHouse), and how long
 * each process's main thread (its event loop) waited for a core while it was runnable. The last
 * says whether a hop's latency is CPU queueing: a handler cannot start while its thread waits.
 */

/** Clock ticks per second of /proc/<pid>/stat and /proc/stat (USER_HZ: 100 on Linux x86 and arm). */
const TICKS_PER_S = 100;

export interface HostCpuSample {
  busyTicks: number;
  totalTicks: number;
}

/** The aggregate `cpu` line of /proc/stat: busy = everything but idle and iowait. */
export function parseProcStat(text: string): HostCpuSample | null {
  const line = text.split('\n').find((l) => l.startsWith('cpu '));
  if (!line) return null;
  // user nice system idle iowait irq softirq steal (guest time is already inside user and nice).
  const fields = line.trim().split(/\s+/).slice(1, 9).map(Number);
  if (fields.length < 5 || fields.some((n) => !Number.isFinite(n))) return null;
  const total = fields.reduce((sum, n) => sum + n, 0);
  return { busyTicks: total - fields[3]! - fields[4]!, totalTicks: total };
}

/** utime + stime of /proc/<pid>/stat, in ms. */
export function parsePidStatCpuMs(text: string): number | null {
  // The command name (field 2) may hold spaces and parentheses: fields count from after the last ')'.
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
  const utime = Number(fields[11]);
  const stime = Number(fields[12]);
  if (!Number.isFinite(utime) || !Number.isFinite(stime)) return null;
  return ((utime + stime) * 1000) / TICKS_PER_S;
}

export interface RunQueueSample {
  /** Time on a CPU (ns). */
  onCpuNs: number;
  /** Time runnable but waiting for a CPU (ns). */
  waitNs: number;
  /** Times it was scheduled onto a CPU. */
  slices: number;
}

/** /proc/<pid>/schedstat: "on-cpu-ns wait-ns timeslices" of that task (for a pid: its main thread). */
export function parseSchedstat(text: string): RunQueueSample | null {
  const [onCpu, wait, slices] = text.trim().split(/\s+/).map(Number);
  if (![onCpu, wait, slices].every((n) => Number.isFinite(n))) return null;
  return { onCpuNs: onCpu!, waitNs: wait!, slices: slices! };
}

function readOr<T>(file: string, parse: (text: string) => T | null): T | null {
  try {
    return parse(readFileSync(file, 'utf8'));
  } catch {
    return null;
  }
}

export const readHostCpu = (): HostCpuSample | null => readOr('/proc/stat', parseProcStat);
export const readProcessCpuMs = (pid: number): number | null => readOr(`/proc/${pid}/stat`, parsePidStatCpuMs);
/** The run-queue counters of a process's main thread (this process's by default). */
export const readMainThreadRunQueue = (pid: number = process.pid): RunQueueSample | null => readOr(`/proc/${pid}/schedstat`, parseSchedstat);

/** Fraction of all the host's CPU time that was busy between two samples. */
export function hostCpuBusy(before: HostCpuSample | null, after: HostCpuSample | null): number | null {
  if (!before || !after) return null;
  const total = after.totalTicks - before.totalTicks;
  return total > 0 ? (after.busyTicks - before.busyTicks) / total : null;
}

export interface RunQueueFigures {
  /** Ms per second of the window the main thread was runnable but had no core. */
  wait_ms_per_s: number;
  /** Mean wait each time it was scheduled (ms). */
  wait_ms_per_slice: number | null;
}

export function runQueueFigures(before: RunQueueSample | null | undefined, after: RunQueueSample | null | undefined, windowMs: number): RunQueueFigures | null {
  if (!before || !after || !(windowMs > 0)) return null;
  const waitMs = (after.waitNs - before.waitNs) / 1e6;
  const slices = after.slices - before.slices;
  return { wait_ms_per_s: (waitMs * 1000) / windowMs, wait_ms_per_slice: slices > 0 ? waitMs / slices : null };
}

export const STACK_COMPONENTS = ['kafka', 'schema-registry', 'clickhouse'] as const;
export type StackComponent = (typeof STACK_COMPONENTS)[number];

/** Pids of the local stack's running components (from `dg stack`'s pid records); absent when not local. */
export function localStackPids(stackDir: string): Partial<Record<StackComponent, number>> {
  const pids: Partial<Record<StackComponent, number>> = {};
  for (const component of STACK_COMPONENTS) {
    const record = readPidRecord(join(stackDir, component, 'pid.json'));
    if (record && isRecordedProcessAlive(record)) pids[component] = record.pid;
  }
  return pids;
}

/**
 * How the local broker's JVM compiles: 'c1-only' (the test stack's quick start, DG_STACK_KAFKA_JIT=quick)
 * or 'tiered' (C2, as deployed); null when it is not a local process.
 */
export function brokerJit(pid: number | undefined): 'c1-only' | 'tiered' | null {
  if (pid === undefined) return null;
  return readOr(`/proc/${pid}/cmdline`, brokerJitOfCmdline);
}

/** From a NUL-separated /proc/<pid>/cmdline: a JIT stopped below C2 (level 4) is 'c1-only'. */
export function brokerJitOfCmdline(cmdline: string): 'c1-only' | 'tiered' {
  return cmdline.split('\0').some((arg) => /^-XX:TieredStopAtLevel=[0-3]$/.test(arg)) ? 'c1-only' : 'tiered';
}

export interface CpuSnapshot {
  atMs: number;
  host: HostCpuSample | null;
  /** CPU ms of each local stack component so far. */
  stackCpuMs: Partial<Record<StackComponent, number>>;
}

export function cpuSnapshot(stackPids: Partial<Record<StackComponent, number>>): CpuSnapshot {
  const stackCpuMs: Partial<Record<StackComponent, number>> = {};
  for (const [component, pid] of Object.entries(stackPids) as Array<[StackComponent, number]>) {
    const ms = readProcessCpuMs(pid);
    if (ms !== null) stackCpuMs[component] = ms;
  }
  return { atMs: Date.now(), host: readHostCpu(), stackCpuMs };
}

/** Cores each stack component used between two snapshots (null when it was not sampled both times). */
export function stackCpuCores(before: CpuSnapshot, after: CpuSnapshot): Record<StackComponent, number | null> {
  const windowMs = after.atMs - before.atMs;
  const cores = {} as Record<StackComponent, number | null>;
  for (const component of STACK_COMPONENTS) {
    const a = before.stackCpuMs[component];
    const b = after.stackCpuMs[component];
    cores[component] = a === undefined || b === undefined || !(windowMs > 0) ? null : (b - a) / windowMs;
  }
  return cores;
}
