import { hostBusyCores, MemorySampler, readHostCpuTimes } from './memory';
import { formatFigure, renderTable } from './report';
import { transportGaps } from './hops';
import { distribution, mean, median, PeakTracker, percentile, perSecond, ratio, significant } from './stats';

describe('percentile', () => {
  it('interpolates between closest ranks', () => {
    expect(percentile([1, 2, 3, 4], 50)).toBe(2.5);
    expect(percentile([10, 20, 30, 40, 50], 95)).toBeCloseTo(48);
    expect(percentile([10, 20, 30, 40, 50], 25)).toBe(20);
  });

  it('does not depend on input order and leaves the input alone', () => {
    const values = [5, 1, 4, 2, 3];
    expect(percentile(values, 50)).toBe(3);
    expect(values).toEqual([5, 1, 4, 2, 3]);
  });

  it('gives min and max at the ends and the value itself for one sample', () => {
    expect(percentile([3, 9, 1], 0)).toBe(1);
    expect(percentile([3, 9, 1], 100)).toBe(9);
    expect(percentile([7], 95)).toBe(7);
  });

  it('rejects empty input and percentiles outside 0..100', () => {
    expect(() => percentile([], 50)).toThrow(RangeError);
    expect(() => percentile([1], 101)).toThrow(RangeError);
    expect(() => percentile([1], -1)).toThrow(RangeError);
    expect(() => percentile([1], Number.NaN)).toThrow(RangeError);
  });
});

describe('summaries', () => {
  it('median and mean', () => {
    expect(median([4, 1, 3])).toBe(3);
    expect(mean([1, 2, 3, 6])).toBe(3);
    expect(() => mean([])).toThrow(RangeError);
  });

  it('distribution of latencies', () => {
    const d = distribution(Array.from({ length: 101 }, (_, i) => i));
    expect(d).toEqual({ count: 101, min: 0, p50: 50, p95: 95, max: 100, mean: 50 });
  });

  it('rates per second refuse a zero duration', () => {
    expect(perSecond(500, 250)).toBe(2000);
    expect(() => perSecond(1, 0)).toThrow(RangeError);
  });

  it('ratio is null without a baseline', () => {
    expect(ratio(50, 200)).toBe(0.25);
    expect(ratio(50, 0)).toBeNull();
    expect(ratio(Number.NaN, 10)).toBeNull();
  });

  it('significant digits', () => {
    expect(significant(123456.789)).toBe(123500);
    expect(significant(0.000123456, 3)).toBe(0.000123);
    expect(significant(0)).toBe(0);
  });
});

describe('peaks and memory sampling', () => {
  it('tracks the highest sample', () => {
    const peak = new PeakTracker();
    expect(() => peak.peak).toThrow(RangeError);
    for (const v of [3, 8, 2]) peak.add(v);
    expect(peak.peak).toBe(8);
    expect(peak.count).toBe(3);
  });

  it('samples at start and stop even without a tick', () => {
    const readings = [
      { rss: 100, heapUsed: 50 },
      { rss: 300, heapUsed: 40 },
    ];
    let i = 0;
    const sampler = new MemorySampler(60_000, () => readings[Math.min(i++, readings.length - 1)]!);
    sampler.start();
    expect(sampler.stop()).toEqual({ samples: 2, peakRssBytes: 300, peakHeapUsedBytes: 50 });
  });
});

describe('report formatting', () => {
  it('formats figures for people', () => {
    expect(formatFigure(12345.6)).toBe('12,346');
    expect(formatFigure(12.345)).toBe('12.3');
    expect(formatFigure(0.01234)).toBe('0.0123');
    expect(formatFigure(null)).toBe('-');
  });

  it('aligns the table columns', () => {
    const table = renderTable([
      { bench: 'codec', figure: 'encode events/s', measured: '50,000', baseline: 'avsc 200,000', ratio: '0.25' },
      { bench: 'sink', figure: 'rows/s', measured: '900', baseline: '', ratio: '' },
    ]).split('\n');
    expect(table).toHaveLength(3);
    expect(table[1]!.indexOf('50,000') + '50,000'.length).toBe(table[2]!.indexOf('900') + '900'.length);
  });
});

describe('transport gaps between model calls', () => {
  it('subtracts each call from the time since the previous step, the final guess included', () => {
    const gaps = transportGaps({
      requestedAtMs: 1_000,
      endedAtMs: 1_400,
      questionerLatencyMs: 60 + 40,
      endedByQuestionerOutput: true,
      turns: [
        { speaker: 'questioner', createdAtMs: 1_100, latencyMs: 60 },
        { speaker: 'answerer', createdAtMs: 1_250, latencyMs: 20 },
      ],
    });
    expect(gaps).toEqual([40, 130, 110]);
  });

  it('has no final gap when the game did not end with a questioner call, and never goes negative', () => {
    const gaps = transportGaps({
      requestedAtMs: 1_000,
      endedAtMs: 1_300,
      questionerLatencyMs: 90,
      endedByQuestionerOutput: false,
      turns: [{ speaker: 'questioner', createdAtMs: 1_080, latencyMs: 90 }],
    });
    expect(gaps).toEqual([0]);
  });
});

describe('host CPU', () => {
  it('counts everything but idle and iowait as busy', () => {
    const before = readHostCpuTimes(() => 'cpu  100 0 50 800 50 0 0 0 0 0\ncpu0 1 2 3 4\n');
    const after = readHostCpuTimes(() => 'cpu  250 0 100 900 50 0 0 0 0 0\n');
    expect(before).toEqual({ busy: 150, total: 1000 });
    expect(hostBusyCores(before, after, 2)).toBeCloseTo(((350 - 150) / (1300 - 1000)) * 2);
  });

  it('gives up without /proc/stat', () => {
    expect(
      readHostCpuTimes(() => {
        throw new Error('ENOENT');
      }),
    ).toBeUndefined();
    expect(hostBusyCores(undefined, { busy: 1, total: 2 }, 2)).toBeNull();
  });
});
