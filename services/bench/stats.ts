/** Pure statistics for benchmark figures: no clocks, no I/O. */

/**
 * The p-th percentile (0..100) by linear interpolation between closest ranks (the "R-7" method of
 * numpy and spreadsheets): p50 of [1, 2, 3, 4] is 2.5, p0 the minimum, p100 the maximum.
 */
export function percentile(values: readonly number[], p: number): number {
  if (!(p >= 0 && p <= 100)) throw new RangeError(`percentile must be between 0 and 100, got ${p}`);
  if (values.length === 0) throw new RangeError('percentile of no values');
  const sorted = [...values].sort((a, b) => a - b);
  const rank = (p / 100) * (sorted.length - 1);
  const below = Math.floor(rank);
  const above = Math.ceil(rank);
  return sorted[below]! + (sorted[above]! - sorted[below]!) * (rank - below);
}

export function median(values: readonly number[]): number {
  return percentile(values, 50);
}

export function mean(values: readonly number[]): number {
  if (values.length === 0) throw new RangeError('mean of no values');
  return values.reduce((sum, v) => sum + v, 0) / values.length;
}

/** Items per second; throws on a non-positive duration rather than reporting Infinity. */
export function perSecond(count: number, elapsedMs: number): number {
  if (!(elapsedMs > 0)) throw new RangeError(`elapsed time must be positive, got ${elapsedMs} ms`);
  return (count * 1000) / elapsedMs;
}

/** measured / baseline, or null when there is no baseline to compare with. */
export function ratio(measured: number, baseline: number): number | null {
  return baseline > 0 && Number.isFinite(measured) ? measured / baseline : null;
}

/** measured / baseline to 3 significant digits, null without a baseline: the ratios of the report. */
export function ratioFigure(measured: number, baseline: number): number | null {
  const value = ratio(measured, baseline);
  return value === null ? null : significant(value, 3);
}

/** Rounds to `digits` significant digits: figures are reported, not their noise. */
export function significant(value: number, digits = 4): number {
  if (value === 0 || !Number.isFinite(value)) return value;
  return Number(value.toPrecision(digits));
}

export interface Distribution {
  count: number;
  min: number;
  p50: number;
  p95: number;
  max: number;
  mean: number;
}

export function distribution(values: readonly number[]): Distribution {
  return {
    count: values.length,
    min: percentile(values, 0),
    p50: percentile(values, 50),
    p95: percentile(values, 95),
    max: percentile(values, 100),
    mean: mean(values),
  };
}

/** Peak of a series of samples, tracked as they arrive (memory sampling). */
export class PeakTracker {
  private peakValue = -Infinity;
  private samples = 0;

  add(value: number): void {
    this.samples++;
    if (value > this.peakValue) this.peakValue = value;
  }

  get count(): number {
    return this.samples;
  }

  /** The highest sample; throws when nothing was sampled. */
  get peak(): number {
    if (this.samples === 0) throw new RangeError('no samples');
    return this.peakValue;
  }
}
