import { runSimVlm } from './sim-vlm';

/** `dg sim-vlm` in-process: starts on a free loopback port, serves, stops when told to. */
describe('dg sim-vlm', () => {
  it('serves until stopped and logs its address', async () => {
    const lines: string[] = [];
    const errors: string[] = [];
    const stop = new AbortController();
    const running = runSimVlm(
      { port: '0', errorRate: '0.2', latency: 'mean:5,jitter:2', failureRate: '0' },
      { out: (l) => lines.push(l), err: (l) => errors.push(l), signal: stop.signal, env: {} },
    );

    const deadline = Date.now() + 10_000;
    while (!lines.some((l) => l.includes('listening on')) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    const baseUrl = /listening on (\S+)/.exec(lines.join('\n'))?.[1];
    expect(baseUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/v1$/);
    expect(lines.join('\n')).toContain('error rate 0.2, latency 5±2 ms, failure rate 0');

    const models = (await (await fetch(`${baseUrl}/models`)).json()) as { data: Array<{ id: string }> };
    expect(models.data.map((m) => m.id)).toContain('sim-vlm');

    stop.abort();
    await running;
    expect(lines.at(-1)).toBe('sim-vlm: stopped');
    await expect(fetch(`${baseUrl}/models`)).rejects.toThrow();
    expect(errors).toEqual([]);
  });

  it('rejects a bad failure rate before listening', async () => {
    const errors: string[] = [];
    const before = process.exitCode;
    await runSimVlm({ port: '0', failureRate: '7' }, { out: () => undefined, err: (l) => errors.push(l), env: {} });
    expect(errors).toEqual(['dg sim-vlm: --failure-rate must be between 0 and 1, got "7"']);
    expect(process.exitCode).toBe(2);
    process.exitCode = before;
  });

  it('injects the faults of --faults / SIM_VLM_FAULTS, caps concurrency and reports stats', async () => {
    const lines: string[] = [];
    const errors: string[] = [];
    const stop = new AbortController();
    const running = runSimVlm(
      { port: '0', faults: 'r429=1,retry_after=2000', maxConcurrency: '3', random: true },
      { out: (l) => lines.push(l), err: (l) => errors.push(l), signal: stop.signal, env: {} },
    );
    const deadline = Date.now() + 10_000;
    while (!lines.some((l) => l.includes('listening on')) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    const baseUrl = /listening on (\S+)/.exec(lines.join('\n'))?.[1];
    expect(lines.join('\n')).toMatch(/rateLimitRate 1, Retry-After 2000 ms, max concurrency 3 \(then 429\), random/);
    const response = await fetch(`${baseUrl}/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'sim-vlm', messages: [{ role: 'user', content: 'hello' }] }),
    });
    expect(response.status).toBe(429);
    expect(response.headers.get('retry-after-ms')).toBe('2000');
    const stats = (await (await fetch(`${baseUrl}/sim/stats`)).json()) as { simulator: boolean; models: Record<string, { served: { rate_limited: number } }> };
    expect(stats.simulator).toBe(true);
    expect(stats.models['sim-vlm']!.served.rate_limited).toBe(1);
    stop.abort();
    await running;
    expect(errors).toEqual([]);
  });

  it.each([
    [{ faults: 'hang=3' }, { SIM_VLM_FAULTS: '' }, 'dg sim-vlm: Invalid option "hang=3" in --faults: hang must be between 0 and 1.'],
    [{}, { SIM_VLM_FAULTS: 'bogus=1' }, /^dg sim-vlm: Invalid option "bogus=1" in SIM_VLM_FAULTS: expected key=value/],
    [{ faults: 'r429=0.7,fail=0.7' }, {}, /add up to 1.4, more than 1/],
    [{ maxConcurrency: '-1' }, {}, 'dg sim-vlm: --max-concurrency must be an integer between 0 and 100000, got "-1"'],
  ])('rejects bad fault settings before listening: %j %j', async (opts, env, message) => {
    const errors: string[] = [];
    const before = process.exitCode;
    await runSimVlm({ port: '0', ...opts }, { out: () => undefined, err: (l) => errors.push(l), env });
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatch(message);
    expect(process.exitCode).toBe(2);
    process.exitCode = before;
  });
});
