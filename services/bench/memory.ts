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
