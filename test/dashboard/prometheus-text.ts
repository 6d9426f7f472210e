/**
 * A strict reader of the Prometheus text exposition format (0.0.4), for tests: every line must be
 * a comment (# HELP / # TYPE), blank, or a sample `name{label="value",...} number`; anything else
 * throws with the line. Samples of histograms (_bucket/_sum/_count) belong to their family.
 */
export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

export interface Family {
  name: string;
  type: string;
  help: string;
  samples: Sample[];
}

const SAMPLE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})?\s+(\S+)(\s+-?\d+)?$/;
const LABEL = /^([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"(,|$)/;

function parseLabels(text: string, line: string): Record<string, string> {
  const labels: Record<string, string> = {};
  let rest = text;
  while (rest.length > 0) {
    const m = LABEL.exec(rest);
    if (!m) throw new Error(`bad labels in line: ${line}`);
    labels[m[1]] = m[2].replace(/\\n/g, '\n').replace(/\\"/g, '"').replace(/\\\\/g, '\\');
    rest = rest.slice(m[0].length);
  }
  return labels;
}

function parseValue(text: string, line: string): number {
  if (text === '+Inf') return Infinity;
  if (text === '-Inf') return -Infinity;
  // Prometheus parses floats like Go's ParseFloat: NaN in any case (prom-client prints `Nan`).
  if (/^nan$/i.test(text)) return NaN;
  const v = Number(text);
  if (!Number.isFinite(v) && !/^[-+]?\d/.test(text)) throw new Error(`bad value in line: ${line}`);
  return v;
}

export function parsePrometheusText(text: string): Map<string, Family> {
  const families = new Map<string, Family>();
  const family = (name: string): Family => {
    let f = families.get(name);
    if (!f) {
      f = { name, type: 'untyped', help: '', samples: [] };
      families.set(name, f);
    }
    return f;
  };
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    if (line.startsWith('#')) {
      const m = /^# (HELP|TYPE) ([a-zA-Z_:][a-zA-Z0-9_:]*) ?(.*)$/.exec(line);
      if (!m) continue;
      if (m[1] === 'TYPE') {
        if (!['counter', 'gauge', 'histogram', 'summary', 'untyped'].includes(m[3])) throw new Error(`bad type in line: ${line}`);
        family(m[2]).type = m[3];
      } else family(m[2]).help = m[3];
      continue;
    }
    const m = SAMPLE.exec(line);
    if (!m) throw new Error(`not a sample line: ${line}`);
    const name = m[1];
    const base = [...families.keys()].find(
      (f) =>
        name === f || ((families.get(f)!.type === 'histogram' || families.get(f)!.type === 'summary') && /^(.*)_(bucket|sum|count)$/.exec(name)?.[1] === f),
    );
    const sample = { name, labels: m[3] ? parseLabels(m[3], line) : {}, value: parseValue(m[4], line) };
    family(base ?? name).samples.push(sample);
  }
  return families;
}

/** Sum of every sample named `name` (a family's samples, or a histogram's `_count`/`_sum`). */
export function sampleSum(families: Map<string, Family>, name: string): number {
  let sum = 0;
  for (const f of families.values()) for (const s of f.samples) if (s.name === name) sum += s.value;
  return sum;
}
