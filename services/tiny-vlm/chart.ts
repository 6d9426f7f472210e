import { PNG } from 'pngjs';
import { drawText, GLYPH_HEIGHT, textWidth } from './bitmap-font';
import type { IterationRow } from './experiment';

/**
 * The experiment as a PNG line chart (pngjs; labels drawn with a 5×7 bitmap font, no font renderer
 * is installed): x = iteration (model M_k), y = rate in %. Thick lines: eval success rate (filtered
 * = blue, control = orange) with 95% Wilson intervals as vertical bars and the value printed at each
 * point; thin lines: held-out answer accuracy in lighter shades. Title, axis labels and a legend
 * are drawn as text; the numbers are also in the JSON and the printed table.
 */

type Rgb = [number, number, number];
const BLUE: Rgb = [37, 84, 220];
const ORANGE: Rgb = [220, 105, 10];
const LIGHT_BLUE: Rgb = [140, 170, 240];
const LIGHT_ORANGE: Rgb = [245, 185, 130];
const INK: Rgb = [40, 40, 40];
const GRID: Rgb = [228, 228, 228];
const AXIS: Rgb = [110, 110, 110];

export interface ChartOptions {
  title?: string;
}

export function renderChart(rows: readonly IterationRow[], options: ChartOptions = {}, width = 900, height = 600): Buffer {
  const png = new PNG({ width, height });
  png.data.fill(255);
  const set = (x: number, y: number, c: Rgb): void => {
    if (x < 0 || y < 0 || x >= width || y >= height) return;
    const i = (Math.round(y) * width + Math.round(x)) * 4;
    png.data[i] = c[0];
    png.data[i + 1] = c[1];
    png.data[i + 2] = c[2];
    png.data[i + 3] = 255;
  };
  const line = (x0: number, y0: number, x1: number, y1: number, c: Rgb, thick = 1): void => {
    const steps = Math.max(Math.abs(x1 - x0), Math.abs(y1 - y0), 1);
    for (let s = 0; s <= steps; s++) {
      const x = x0 + ((x1 - x0) * s) / steps;
      const y = y0 + ((y1 - y0) * s) / steps;
      for (let dx = -thick + 1; dx < thick; dx++) for (let dy = -thick + 1; dy < thick; dy++) set(x + dx, y + dy, c);
    }
  };
  const text = (x: number, y: number, s: string, c: Rgb, scale = 1): void => drawText((px, py) => set(px, py, c), x, y, s, scale);

  const plot = { left: 80, right: width - 30, top: 70, bottom: height - 150 };
  const maxIter = Math.max(1, ...rows.map((r) => r.iteration));
  // y range: whole 10% steps around every plotted value (interval ends included).
  const values = rows.flatMap((r) => [r.heldOutAccuracy, r.evalCi.low, r.evalCi.high, r.evalSuccessRate]);
  const lo = values.length ? Math.max(0, Math.floor(Math.min(...values) * 10) / 10) : 0;
  const hi = values.length ? Math.min(1, Math.ceil(Math.max(...values) * 10) / 10) : 1;
  const [yMin, yMax] = hi > lo ? [lo, hi] : [0, 1];
  const px = (iteration: number): number => plot.left + ((plot.right - plot.left) * iteration) / maxIter;
  const py = (rate: number): number => plot.bottom - ((plot.bottom - plot.top) * (rate - yMin)) / (yMax - yMin);

  if (options.title) text((width - textWidth(options.title, 2)) / 2, 14, options.title, INK, 2);
  text(plot.left, plot.top - 22, 'RATE (%): EVAL SUCCESS (THICK), HELD-OUT ANSWER ACCURACY (THIN)', INK, 1);
  for (let g = Math.round(yMin * 100); g <= Math.round(yMax * 100); g += 5) {
    const y = py(g / 100);
    line(plot.left, y, plot.right, y, g % 10 === 0 ? GRID : [243, 243, 243]);
    if (g % 10 === 0) text(plot.left - 10 - textWidth(`${g}%`, 2), y - GLYPH_HEIGHT, `${g}%`, INK, 2);
  }
  line(plot.left, plot.bottom, plot.right, plot.bottom, AXIS);
  line(plot.left, plot.top, plot.left, plot.bottom, AXIS);
  for (let i = 0; i <= maxIter; i++) {
    line(px(i), plot.bottom, px(i), plot.bottom + 6, AXIS);
    text(px(i) - textWidth(String(i), 2) / 2, plot.bottom + 12, String(i), INK, 2);
  }
  const xTitle = 'ITERATION K (MODEL M_K, M_0 = BASE)';
  text((plot.left + plot.right - textWidth(xTitle, 2)) / 2, plot.bottom + 36, xTitle, INK, 2);

  for (const [arm, strong, light, dx] of [
    ['control', ORANGE, LIGHT_ORANGE, 5],
    ['filtered', BLUE, LIGHT_BLUE, -5],
  ] as const) {
    const series = rows.filter((r) => r.arm === arm).sort((a, b) => a.iteration - b.iteration);
    for (let k = 1; k < series.length; k++) {
      const [a, b] = [series[k - 1]!, series[k]!];
      line(px(a.iteration), py(a.heldOutAccuracy), px(b.iteration), py(b.heldOutAccuracy), light, 1);
      line(px(a.iteration), py(a.evalSuccessRate), px(b.iteration), py(b.evalSuccessRate), strong, 2);
    }
    for (const r of series) {
      // Interval bars of the two arms side by side (dx), so that they do not hide each other.
      const x = px(r.iteration) + (r.iteration === 0 ? 0 : dx);
      line(x, py(r.evalCi.low), x, py(r.evalCi.high), strong, 1);
      line(x - 4, py(r.evalCi.low), x + 4, py(r.evalCi.low), strong, 1);
      line(x - 4, py(r.evalCi.high), x + 4, py(r.evalCi.high), strong, 1);
      if (r.iteration === 0 && arm === 'control') continue; // M_0 is shared: label it once
      const label = `${(r.evalSuccessRate * 100).toFixed(1)}%`;
      const lx = r.iteration === maxIter ? x - textWidth(label) - 8 : x + 8;
      text(lx, py(r.evalSuccessRate) + (arm === 'filtered' ? -12 : 5), label, strong, 1);
    }
  }

  const legend: Array<[Rgb, number, string]> = [
    [BLUE, 3, 'FILTERED ARM (SUCCESSFUL GAMES ONLY): EVAL SUCCESS, 95% CI'],
    [ORANGE, 3, 'CONTROL ARM (ALL GAMES, UNFILTERED): EVAL SUCCESS, 95% CI'],
    [LIGHT_BLUE, 1, 'FILTERED ARM: HELD-OUT ANSWER ACCURACY'],
    [LIGHT_ORANGE, 1, 'CONTROL ARM: HELD-OUT ANSWER ACCURACY'],
  ];
  const arms = new Set(rows.map((r) => r.arm));
  legend
    .filter(([, , label]) => arms.has(label.startsWith('FILTERED') ? 'filtered' : 'control'))
    .forEach(([color, thick, label], i) => {
      const y = plot.bottom + 68 + i * 18;
      line(plot.left, y, plot.left + 36, y, color, thick);
      text(plot.left + 46, y - 3, label, INK, 1);
    });
  return PNG.sync.write(png);
}
