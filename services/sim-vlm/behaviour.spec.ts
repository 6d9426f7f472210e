import { DEFAULT_MODEL_PRESETS, behaviourValueProblem, drawLatencyMs, resolveModelName } from './behaviour';

describe('model names', () => {
  it('resolves presets and @overrides', () => {
    expect(resolveModelName('sim-vlm', DEFAULT_MODEL_PRESETS)).toEqual({ ok: true, base: 'sim-vlm', overrides: {} });
    expect(resolveModelName('sim-vlm-noisy', DEFAULT_MODEL_PRESETS)).toEqual({ ok: true, base: 'sim-vlm-noisy', overrides: { errorRate: 0.3 } });
    expect(resolveModelName('sim-vlm-noisy@err=0.1,latency=200,jitter=50,fail=0.05', DEFAULT_MODEL_PRESETS)).toEqual({
      ok: true,
      base: 'sim-vlm-noisy',
      overrides: { errorRate: 0.1, latencyMs: 200, latencyJitterMs: 50, failureRate: 0.05 },
    });
  });

  it('rejects unknown models (404) and bad options (400) with what is wrong', () => {
    const unknown = resolveModelName('gpt-4o', DEFAULT_MODEL_PRESETS);
    expect(unknown).toMatchObject({ ok: false, status: 404 });
    expect(!unknown.ok && unknown.message).toMatch(/serves: sim-vlm, sim-vlm-noisy/);
    expect(resolveModelName('sim-vlm@err=2', DEFAULT_MODEL_PRESETS)).toMatchObject({
      ok: false,
      status: 400,
      message: expect.stringMatching(/err must be between 0 and 1/),
    });
    expect(resolveModelName('sim-vlm@speed=3', DEFAULT_MODEL_PRESETS)).toMatchObject({ ok: false, status: 400, message: expect.stringMatching(/key one of/) });
    expect(behaviourValueProblem('latencyMs', -1)).toMatch(/between 0 and 600000/);
    expect(behaviourValueProblem('errorRate', '0.1')).toBe('must be a number');
  });

  it('draws latency around the mean within the jitter, never negative', () => {
    const behaviour = { errorRate: 0, failureRate: 0, latencyMs: 100, latencyJitterMs: 30 };
    expect(drawLatencyMs(behaviour, () => 0)).toBe(70);
    expect(drawLatencyMs(behaviour, () => 0.5)).toBe(100);
    expect(drawLatencyMs({ ...behaviour, latencyMs: 10 }, () => 0)).toBe(0);
    expect(drawLatencyMs({ ...behaviour, latencyMs: 0, latencyJitterMs: 0 }, () => 0.9)).toBe(0);
  });
});
