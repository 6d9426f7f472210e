import { type SqlExecutor } from '../core/clickhouse';
import { gameSummary, type GameFilter, type OutcomeSummary } from '../analytics';

/** One refresh of the live view: all games of the filter, and those that ended in the last minute. */
export interface LiveSnapshot {
  overall: OutcomeSummary;
  lastMinute: OutcomeSummary;
  /** Seconds the view has been running (caps the per-second rate while under a minute). */
  uptimeS: number;
  inFlight?: number;
}

export async function takeSnapshot(ch: SqlExecutor, database: string, filter: GameFilter, startedAtMs: number, now = Date.now()): Promise<LiveSnapshot> {
  const [overall, lastMinute] = await Promise.all([gameSummary(ch, database, filter), gameSummary(ch, database, { ...filter, endedSinceMs: now - 60_000 })]);
  return { overall, lastMinute, uptimeS: (now - startedAtMs) / 1000 };
}

const pct = (x: number): string => `${(x * 100).toFixed(1)}%`;

/** The one-line live view: games finished, success overall and over the last minute, kept, games per second. */
export function formatSnapshot(s: LiveSnapshot): string {
  const window = Math.max(1, Math.min(60, s.uptimeS));
  const perSecond = s.lastMinute.games / window;
  const parts = [
    `games ${s.overall.games}`,
    `success ${pct(s.overall.successRate)} (last min ${s.lastMinute.games > 0 ? pct(s.lastMinute.successRate) : '-'})`,
    `kept ${s.overall.kept}`,
    `${perSecond.toFixed(2)} games/s`,
  ];
  if (s.inFlight !== undefined) parts.push(`in flight ${s.inFlight}`);
  return parts.join(' | ');
}
