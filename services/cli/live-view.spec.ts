import { formatSnapshot, type LiveSnapshot } from './live-view';

const outcome = (games: number, succeeded: number, kept: number) => ({
  games,
  succeeded,
  failed: games - succeeded,
  kept,
  successRate: games ? succeeded / games : 0,
  avgQuestions: 3,
  costUsd: 0,
});

describe('formatSnapshot', () => {
  it('shows finished games, overall and last-minute success, kept and rate', () => {
    const s: LiveSnapshot = { overall: outcome(200, 190, 180), lastMinute: outcome(120, 108, 100), uptimeS: 300, inFlight: 32 };
    expect(formatSnapshot(s)).toBe('games 200 | success 95.0% (last min 90.0%) | kept 180 | 2.00 games/s | in flight 32');
  });

  it('divides by the uptime while the view is younger than a minute', () => {
    expect(formatSnapshot({ overall: outcome(30, 30, 30), lastMinute: outcome(30, 30, 30), uptimeS: 10 })).toContain('3.00 games/s');
  });

  it('shows a dash when nothing ended in the last minute', () => {
    expect(formatSnapshot({ overall: outcome(5, 5, 5), lastMinute: outcome(0, 0, 0), uptimeS: 600 })).toContain('last min -');
  });
});
