import { PNG } from 'pngjs';
import type { IterationRow } from './experiment';

/**
 * A plain line chart of the experiment as a PNG (pngjs; no font rendering): x = iteration, y from 0
 * to 100%, gridlines every 10%. Solid lines: eval success rate (filtered = blue, control = orange)
 * with their 95% Wilson intervals as vertical bars; thin lines: held-out answer accuracy in the
 * same colours. Numbers are in the JSON and the printed table.
 */

type Rgb = [number, number, number];
const BLUE: Rgb = [37, 84, 220];
const ORANGE: Rgb = [235, 120, 20];
const LIGHT_BLUE: Rgb = [140, 170, 240];
const LIGHT_ORANGE: Rgb = [245, 185, 130];

export function renderChart(rows: readonly IterationRow[], options: { title?: string } = {}, width = 640, height = 400): Buffer {
  void options;
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
  const margin = 40;
  const maxIter = Math.max(1, ...rows.map((r) => r.iteration));
  const px = (iteration: number): number => margin + ((width - 2 * margin) * iteration) / maxIter;
  const py = (rate: number): number => height - margin - (height - 2 * margin) * rate;
  for (let g = 0; g <= 10; g++) line(margin, py(g / 10), width - margin, py(g / 10), g % 5 === 0 ? [150, 150, 150] : [225, 225, 225]);
  for (let i = 0; i <= maxIter; i++) line(px(i), py(0), px(i), py(0) + 6, [100, 100, 100]);
  line(margin, py(0), margin, py(1), [100, 100, 100]);
  for (const [arm, strong, light] of [['control', ORANGE, LIGHT_ORANGE], ['filtered', BLUE, LIGHT_BLUE]] as const) {
    const series = rows.filter((r) => r.arm === arm).sort((a, b) => a.iteration - b.iteration);
    for (let k = 1; k < series.length; k++) {
      const [a, b] = [series[k - 1]!, series[k]!];
      line(px(a.iteration), py(a.heldOutAccuracy), px(b.iteration), py(b.heldOutAccuracy), light, 1);
      line(px(a.iteration), py(a.evalSuccessRate), px(b.iteration), py(b.evalSuccessRate), strong, 2);
    }
    for (const r of series) {
      line(px(r.iteration), py(r.evalCi.low), px(r.iteration), py(r.evalCi.high), strong, 1);
      line(px(r.iteration) - 4, py(r.evalCi.low), px(r.iteration) + 4, py(r.evalCi.low), strong, 1);
      line(px(r.iteration) - 4, py(r.evalCi.high), px(r.iteration) + 4, py(r.evalCi.high), strong, 1);
    }
  }
  // Legend swatches (top left): blue = filtered, orange = control.
  line(margin + 10, margin - 20, margin + 40, margin - 20, BLUE, 3);
  line(margin + 60, margin - 20, margin + 90, margin - 20, ORANGE, 3);
  return PNG.sync.write(png);
}
