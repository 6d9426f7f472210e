import { toDataUrl } from '../datasets/image-bytes';
import { embedScene } from '../datasets/png-text';
import { renderScenePng } from '../datasets/render';
import { generateDistinctScenes } from '../datasets/scene-generator';
import { configureLogging, resetLogging } from '../core/logging';
import { DEFAULT_BEHAVIOUR, drawFault, faultSumProblem, parseBehaviourSpec, resolveModelName, DEFAULT_MODEL_PRESETS } from './behaviour';
import { REFUSAL_TEXT, startSimVlm, type SimStats, type SimVlmServer } from './server';

/** The SIMULATOR's fault injection, concurrency cap, random mode and stats, over real HTTP on 127.0.0.1. */

const ANSWERER_SYSTEM =
  'You are the answerer in a cooperative image-identification game. Reply with {"answer": "yes"}, {"answer": "no"}, or {"answer": "unsure"}.';
const [scene] = generateDistinctScenes(1, 5);
const image = toDataUrl(embedScene(renderScenePng(scene!), scene!), 'image/png');

function body(model: string, extra: Record<string, unknown> = {}): string {
  return JSON.stringify({
    model,
    seed: 42,
    messages: [
      { role: 'system', content: ANSWERER_SYSTEM },
      {
        role: 'user',
        content: [
          { type: 'text', text: 'This is your image.' },
          { type: 'image_url', image_url: { url: image } },
          { type: 'text', text: 'Question: Is there a red object?' },
        ],
      },
    ],
    ...extra,
  });
}

let server: SimVlmServer;

async function post(model: string, extra: Record<string, unknown> = {}, signal?: AbortSignal): Promise<Response> {
  return fetch(`${server.baseUrl}/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: body(model, extra),
    ...(signal ? { signal } : {}),
  });
}

async function content(response: Response): Promise<string> {
  const json = (await response.json()) as { choices: Array<{ message: { content: string } }> };
  return json.choices[0]!.message.content;
}

async function until(what: string, check: () => boolean, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

beforeAll(async () => {
  configureLogging({ level: 'silent' });
  server = await startSimVlm({ port: 0 });
});

afterAll(async () => {
  await server.close();
  resetLogging();
});

beforeEach(() => server.resetStats());

describe('fault specs', () => {
  it('parses key=value lists with short and long names, and names what is wrong', () => {
    expect(
      parseBehaviourSpec('r429=0.1,retry_after=1000,fail=0.05,r503=0.01,reset=0.01,hang=0.01,malformed=0.02,refusal=0.01,maxConcurrency=16,random=1'),
    ).toEqual({
      ok: true,
      overrides: {
        rateLimitRate: 0.1,
        retryAfterMs: 1000,
        failureRate: 0.05,
        unavailableRate: 0.01,
        resetRate: 0.01,
        hangRate: 0.01,
        malformedRate: 0.02,
        refusalRate: 0.01,
        maxConcurrency: 16,
        random: 1,
      },
    });
    expect(parseBehaviourSpec('')).toEqual({ ok: true, overrides: {} });
    expect(parseBehaviourSpec('hang=2', '--faults')).toMatchObject({
      ok: false,
      message: expect.stringMatching(/"hang=2" in --faults: hang must be between 0 and 1/),
    });
    expect(parseBehaviourSpec('max_concurrency=1.5')).toMatchObject({ ok: false, message: expect.stringMatching(/integer/) });
    expect(parseBehaviourSpec('random=2')).toMatchObject({ ok: false, message: expect.stringMatching(/0 or 1/) });
    expect(resolveModelName('sim-vlm@r429=0.5,max_concurrency=16', DEFAULT_MODEL_PRESETS)).toEqual({
      ok: true,
      base: 'sim-vlm',
      overrides: { rateLimitRate: 0.5, maxConcurrency: 16 },
    });
  });

  it('draws each fault with exactly its probability from one uniform number, and refuses sums above 1', () => {
    const b = { ...DEFAULT_BEHAVIOUR, rateLimitRate: 0.1, failureRate: 0.05, malformedRate: 0.02, hangRate: 0.01 };
    expect(drawFault(b, 0.0999)).toBe('rateLimitRate');
    expect(drawFault(b, 0.1)).toBe('failureRate');
    expect(drawFault(b, 0.1499)).toBe('failureRate');
    expect(drawFault(b, 0.155)).toBe('hangRate');
    expect(drawFault(b, 0.165)).toBe('malformedRate');
    expect(drawFault(b, 0.181)).toBeUndefined();
    expect(faultSumProblem(b)).toBeUndefined();
    expect(faultSumProblem({ ...b, refusalRate: 0.9 })).toMatch(/add up to 1.08/);
  });
});

describe('sim-vlm faults over HTTP', () => {
  it('answers 429 with Retry-After in seconds and ms', async () => {
    const response = await post('sim-vlm@r429=1,retry_after=1500');
    expect(response.status).toBe(429);
    expect(response.headers.get('retry-after')).toBe('2');
    expect(response.headers.get('retry-after-ms')).toBe('1500');
    expect(((await response.json()) as { error: { code: string } }).error.code).toBe('simulated_rate_limit');
    expect(server.stats().models['sim-vlm@r429=1,retry_after=1500']!.served.rate_limited).toBe(1);
  });

  it.each([
    { spec: 'r503=1', status: 503, outcome: 'unavailable' },
    { spec: 'fail=1', status: 500, outcome: 'server_error' },
  ] as const)('answers $status for $spec', async ({ spec, status, outcome }) => {
    const response = await post(`sim-vlm@${spec}`);
    expect(response.status).toBe(status);
    expect(server.stats().models[`sim-vlm@${spec}`]!.served[outcome]).toBe(1);
  });

  it('destroys the connection for reset', async () => {
    await expect(post('sim-vlm@reset=1')).rejects.toThrow();
    expect(server.stats().models['sim-vlm@reset=1']!.served.reset).toBe(1);
  });

  it('never answers a hang, and frees it when the client gives up', async () => {
    const started = Date.now();
    await expect(post('sim-vlm@hang=1', {}, AbortSignal.timeout(300))).rejects.toThrow();
    expect(Date.now() - started).toBeGreaterThanOrEqual(280);
    await until('the hung request to leave the in-flight count', () => server.stats().inFlight === 0);
    expect(server.stats().models['sim-vlm@hang=1']).toMatchObject({ served: expect.objectContaining({ hang: 1 }), inFlight: 0, peakInFlight: 1 });
  });

  it('cuts the output in half for malformed and refuses for refusal, both as 200', async () => {
    const good = await content(await post('sim-vlm'));
    expect(() => JSON.parse(good)).not.toThrow();
    const bad = await post('sim-vlm@malformed=1');
    expect(bad.status).toBe(200);
    const text = await content(bad);
    expect(good.startsWith(text)).toBe(true);
    expect(() => JSON.parse(text)).toThrow();
    expect(await content(await post('sim-vlm', { sim_refusal_rate: 1 }))).toBe(REFUSAL_TEXT);
    expect(server.stats().models['sim-vlm']!.served).toMatchObject({ ok: 1, refusal: 1 });
  });

  it('answers 429 at once above max concurrency and counts in-flight and peak', async () => {
    // Long enough that all five arrive while the first two are still in flight, even on a busy CPU.
    const model = 'sim-vlm@max_concurrency=2,latency=1500';
    const responses = await Promise.all(Array.from({ length: 5 }, () => post(model)));
    expect(responses.map((r) => r.status).sort()).toEqual([200, 200, 429, 429, 429]);
    const saturated = responses.find((r) => r.status === 429)!;
    expect(((await saturated.json()) as { error: { code: string } }).error.code).toBe('saturated');
    const stats: SimStats = server.stats();
    expect(stats.models[model]).toMatchObject({ served: expect.objectContaining({ ok: 2, saturated: 3 }), inFlight: 0, peakInFlight: 2 });
    expect(stats.peakInFlight).toBe(2);
    // Two calls of ~1500 ms: the time integral of in-flight calls says so.
    expect(stats.inFlightIntegralMs).toBeGreaterThanOrEqual(2 * 1_450);
  });

  it('ignores the request seed with random=1 (a non-deterministic model) and honours it otherwise', async () => {
    const seeded = await Promise.all(Array.from({ length: 12 }, async () => content(await post('sim-vlm-noisy@err=0.5'))));
    expect(new Set(seeded).size).toBe(1);
    const random = await Promise.all(Array.from({ length: 12 }, async () => content(await post('sim-vlm-noisy@err=0.5,random=1'))));
    expect(new Set(random).size).toBeGreaterThan(1);
  });

  it('refuses fault probabilities that add up to more than 1', async () => {
    const response = await post('sim-vlm@r429=0.6,fail=0.6');
    expect(response.status).toBe(400);
    expect(((await response.json()) as { error: { message: string } }).error.message).toMatch(/add up to 1.2/);
    expect(server.stats().invalidRequests).toBe(1);
  });

  it('serves its stats on GET /v1/sim/stats and resets them on DELETE, labelled a simulator', async () => {
    await post('sim-vlm');
    const stats = (await (await fetch(`${server.baseUrl}/sim/stats`)).json()) as SimStats;
    expect(stats).toMatchObject({ simulator: true, inFlight: 0, models: { 'sim-vlm': { served: expect.objectContaining({ ok: 1 }) } } });
    expect(stats.notice).toMatch(/SIMULATOR/);
    const reset = (await (await fetch(`${server.baseUrl}/sim/stats`, { method: 'DELETE' })).json()) as SimStats;
    expect(reset.models).toEqual({});
  });
});
