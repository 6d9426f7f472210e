import { readFileSync } from 'node:fs';
import { PeakTracker } from './stats';

export interface MemoryReading {
  rss: number;
  heapUsed: number;
}

export interface MemoryPeaks {
  samples: number;
  peakRssBytes: number;
  peakHeapUsedBytes: number;
}

/**
 * Samples the process's memory on an interval and keeps the peaks. The timer is unref'd: sampling
 * never keeps the process alive. One sample is taken at start and one at stop, so even a run
 * shorter than the interval has peaks.
 */
export class MemorySampler {
  private readonly rss = new PeakTracker();
  private readonly heap = new PeakTracker();
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly intervalMs = 100,
    private readonly read: () => MemoryReading = () => process.memoryUsage(),
  ) {}

  start(): void {
    if (this.timer) return;
    this.sample();
    this.timer = setInterval(() => this.sample(), this.intervalMs);
    this.timer.unref();
  }

  stop(): MemoryPeaks {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    this.sample();
    return { samples: this.rss.count, peakRssBytes: this.rss.peak, peakHeapUsedBytes: this.heap.peak };
  }

  sample(): void {
    const reading = this.read();
    this.rss.add(reading.rss);
    this.heap.add(reading.heapUsed);
  }
}

export function mebibytes(bytes: number): number {
  return bytes / (1024 * 1024);
}

/** Jiffies of every CPU of the host from /proc/stat (Linux), or undefined elsewhere. */
export interface HostCpuTimes {
  busy: number;
  total: number;
}

export function readHostCpuTimes(read: () => string = () => readFileSync('/proc/stat', 'utf8')): HostCpuTimes | undefined {
  let text: string;
  try {
    text = read();
  } catch {
    return undefined;
  }
  const fields = /^cpu\s+(.+)$/m.exec(text)?.[1]?.trim().split(/\s+/).map(Number);
  if (!fields || fields.length < 4 || fields.some((n) => !Number.isFinite(n))) return undefined;
  // user nice system idle iowait irq softirq steal ...: idle and iowait are not busy.
  const total = fields.reduce((sum, n) => sum + n, 0);
  const idle = fields[3]! + (fields[4] ?? 0);
  return { busy: total - idle, total };
}

/** Busy cores of the whole host between two readings (all processes: the stack's too), or null. */
export function hostBusyCores(before: HostCpuTimes | undefined, after: HostCpuTimes | undefined, cpus: number): number | null {
  if (!before || !after || after.total <= before.total) return null;
  return ((after.busy - before.busy) / (after.total - before.total)) * cpus;
}
