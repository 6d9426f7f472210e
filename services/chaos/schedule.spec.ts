import { chaosSchedule, modelWithFaults, seededRandom } from './schedule';

describe('chaos schedule', () => {
  const base = { seed: 7, durationMs: 200_000, killEveryMs: 20_000, restartBroker: true, clickhouseStopMs: 30_000 };

  it('is the same for the same seed and differs for another', () => {
    expect(chaosSchedule(base)).toEqual(chaosSchedule(base));
    const roles = (seed: number) =>
      chaosSchedule({ ...base, seed })
        .filter((f) => f.kind === 'kill-role')
        .map((f) => (f as { role: string }).role);
    expect(roles(7)).not.toEqual(roles(8));
  });

  it('kills a role every interval, restarts the broker once and stops ClickHouse once, all inside the window', () => {
    const faults = chaosSchedule(base);
    const kills = faults.filter((f) => f.kind === 'kill-role');
    expect(kills.map((k) => k.atMs)).toEqual([20, 40, 60, 80, 100, 120, 140, 160, 180, 200].map((s) => s * 1000));
    expect(faults.filter((f) => f.kind === 'restart-broker')).toHaveLength(1);
    const stop = faults.find((f) => f.kind === 'stop-clickhouse') as { atMs: number; forMs: number };
    expect(stop.forMs).toBe(30_000);
    expect(stop.atMs + stop.forMs).toBeLessThanOrEqual(base.durationMs);
    // The outage falls inside the launch span (the first 60% of the window): games are in flight.
    expect(stop.atMs + stop.forMs).toBeLessThanOrEqual(base.durationMs * 0.6);
    for (const f of faults) expect(f.atMs).toBeLessThanOrEqual(base.durationMs);
    expect(faults.map((f) => f.atMs)).toEqual([...faults.map((f) => f.atMs)].sort((a, b) => a - b));
  });

  it('leaves out what is switched off', () => {
    expect(chaosSchedule({ ...base, killEveryMs: 0, restartBroker: false, clickhouseStopMs: 0 })).toEqual([]);
    expect(
      chaosSchedule({ ...base, roles: ['sink'] })
        .filter((f) => f.kind === 'kill-role')
        .every((f) => (f as { role: string }).role === 'sink'),
    ).toBe(true);
  });

  it('seededRandom is deterministic and in [0, 1)', () => {
    const a = seededRandom(42);
    const b = seededRandom(42);
    for (let i = 0; i < 1000; i++) {
      const x = a();
      expect(x).toBe(b());
      expect(x).toBeGreaterThanOrEqual(0);
      expect(x).toBeLessThan(1);
    }
  });

  it('appends fault knobs to a model name', () => {
    expect(modelWithFaults('sim-vlm', 'fail=0.1')).toBe('sim-vlm@fail=0.1');
    expect(modelWithFaults('sim-vlm@latency=5', 'fail=0.1')).toBe('sim-vlm@latency=5,fail=0.1');
    expect(modelWithFaults('sim-vlm', ' ')).toBe('sim-vlm');
  });
});
