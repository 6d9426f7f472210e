import { ROLE_NAMES, type RoleName } from '../core/bus';

/**
 * The seeded fault schedule of a chaos run: the same seed and options give the same faults at the
 * same offsets, so a run that finds a defect can be replayed. Pure: the runner executes it.
 */

export type ChaosFault =
  { atMs: number; kind: 'kill-role'; role: RoleName } | { atMs: number; kind: 'restart-broker' } | { atMs: number; kind: 'stop-clickhouse'; forMs: number };

export interface ScheduleOptions {
  seed: number;
  /** Length of the fault window; no fault starts after it. */
  durationMs: number;
  /** A random role process is kill -9'd every this often (0: never). */
  killEveryMs: number;
  /** Roles the kills choose from. */
  roles?: readonly RoleName[];
  /** Restart the Kafka broker once (at a seeded offset in the middle third of the window). */
  restartBroker: boolean;
  /** Stop ClickHouse once for this long (0: never), starting in the middle of the window. */
  clickhouseStopMs: number;
}

/** mulberry32: small, fast, good enough to pick faults; never for anything secret. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function chaosSchedule(options: ScheduleOptions): ChaosFault[] {
  const random = seededRandom(options.seed);
  const roles = options.roles ?? ROLE_NAMES;
  const faults: ChaosFault[] = [];
  if (options.killEveryMs > 0 && roles.length > 0) {
    for (let at = options.killEveryMs; at <= options.durationMs; at += options.killEveryMs) {
      faults.push({ atMs: at, kind: 'kill-role', role: roles[Math.floor(random() * roles.length)]! });
    }
  }
  const third = options.durationMs / 3;
  if (options.restartBroker) faults.push({ atMs: Math.round(third * (1 + random() * 0.5)), kind: 'restart-broker' });
  if (options.clickhouseStopMs > 0) {
    // Inside the launch span (the first 60% of the window), so games are in flight during the whole
    // outage; the outage ends inside the window when it can.
    const latest = Math.max(0, options.durationMs - options.clickhouseStopMs);
    const at = Math.round(Math.min(latest, third * 0.75 + random() * third * 0.3));
    faults.push({ atMs: at, kind: 'stop-clickhouse', forMs: options.clickhouseStopMs });
  }
  return faults.sort((a, b) => a.atMs - b.atMs || a.kind.localeCompare(b.kind));
}

/** `fail=0.1` → `sim-vlm@fail=0.1`: the simulator's per-model fault knobs, passed through as written. */
export function modelWithFaults(model: string, faults: string): string {
  const spec = faults.trim();
  if (spec === '') return model;
  return model.includes('@') ? `${model},${spec}` : `${model}@${spec}`;
}
