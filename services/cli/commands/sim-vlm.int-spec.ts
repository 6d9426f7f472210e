import { runSimVlm } from './sim-vlm';

/** `dg sim-vlm` in-process: starts on a free loopback port, serves, stops when told to. */
describe('dg sim-vlm', () => {
  it('serves until stopped and logs its address', async () => {
    const lines: string[] = [];
    const errors: string[] = [];
    const stop = new AbortController();
    const running = runSimVlm({ port: '0', errorRate: '0.2', latency: 'mean:5,jitter:2', failureRate: '0' }, { out: (l) => lines.push(l), err: (l) => errors.push(l), signal: stop.signal, env: {} });

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
});
