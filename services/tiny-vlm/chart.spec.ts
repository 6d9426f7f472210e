import { PNG } from 'pngjs';
import { drawText, GLYPH_HEIGHT, textWidth } from './bitmap-font';
import { renderChart } from './chart';
import type { IterationRow } from './experiment';

function row(arm: 'filtered' | 'control', iteration: number, rate: number): IterationRow {
  return {
    arm,
    iteration,
    model: `m${iteration}`,
    heldOutAccuracy: 0.7,
    evalSuccesses: Math.round(rate * 300),
    evalGames: 300,
    evalSuccessRate: rate,
    evalCi: { low: rate - 0.05, high: rate + 0.05 },
    played: 1000,
    kept: 400,
    trainingLabelAccuracy: 1,
    trainingExamples: 800,
    trainMillis: 1000,
  };
}

describe('bitmap font', () => {
  it('draws known glyphs pixel by pixel, lower case as upper case, unknown characters blank', () => {
    const lit = (text: string): string[] => {
      const out: string[] = [];
      drawText((x, y) => out.push(`${x},${y}`), 0, 0, text);
      return out.sort();
    };
    // "1": 00100 01100 00100 00100 00100 00100 01110 -> 10 lit pixels.
    expect(lit('1')).toHaveLength(10);
    expect(lit('1')).toContain('2,0');
    expect(lit('a')).toEqual(lit('A'));
    expect(lit('\u0007')).toEqual([]);
    expect(textWidth('AB', 2)).toBe(22);
    expect(GLYPH_HEIGHT).toBe(7);
  });
});

describe('experiment chart', () => {
  it('is a PNG with both arms in their colours and dark text pixels (labels) outside the plot lines', () => {
    const rows = [row('filtered', 0, 0.44), row('control', 0, 0.44), row('filtered', 1, 0.5), row('control', 1, 0.38)];
    const png = PNG.sync.read(renderChart(rows, { title: 'TEST' }));
    expect([png.width, png.height]).toEqual([900, 600]);
    const count = (r: number, g: number, b: number): number => {
      let n = 0;
      for (let i = 0; i < png.data.length; i += 4) if (png.data[i] === r && png.data[i + 1] === g && png.data[i + 2] === b) n++;
      return n;
    };
    expect(count(37, 84, 220)).toBeGreaterThan(100); // filtered (blue)
    expect(count(220, 105, 10)).toBeGreaterThan(100); // control (orange)
    expect(count(40, 40, 40)).toBeGreaterThan(1000); // title, tick labels, axis title, legend
  });
});
