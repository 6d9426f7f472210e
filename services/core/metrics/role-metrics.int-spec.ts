import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { nodeHttpFetch } from '../model-client/node-http-fetch';
import { startMetricsServer } from './metrics-server';
import { RoleMetrics } from './role-metrics';
import { parsePrometheusText, sampleSum } from '../../../test/dashboard/prometheus-text';

/**
 * RoleMetrics without a broker: bus hooks move the message counters, the in-flight gauge and the
 * latency histogram; model calls made with Node's fetch (as the openai client makes them) are
 * counted by outcome from HTTP diagnostics; the limiter gauges read whatever the adapter returns;
 * /healthz turns 503 once a consumer stopped for good. Local HTTP servers on 127.0.0.1 port 0 only.
 */

let endpoint: Server;
let base: string;

beforeAll(async () => {
  endpoint = createServer((req, res) => {
    const status = Number(/status=(\d+)/.exec(req.url ?? '')?.[1] ?? 200);
    res.writeHead(status, { 'Content-Type': 'application/json' }).end('{}');
  });
  await new Promise<void>((resolve) => endpoint.listen(0, '127.0.0.1', () => resolve()));
  base = `http://127.0.0.1:${(endpoint.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await new Promise<void>((resolve) => endpoint.close(() => resolve()));
});

async function read(metrics: RoleMetrics): Promise<ReturnType<typeof parsePrometheusText>> {
  return parsePrometheusText(await metrics.registry.metrics());
}

it('counts handled messages, dead letters and games in flight through the bus hooks', async () => {
  const metrics = new RoleMetrics({ defaultMetrics: false });
  const done1 = metrics.busHooks.messageStarted('dg.game-requested', 'dg.questioner');
  const done2 = metrics.busHooks.messageStarted('dg.answer-given', 'dg.questioner');
  expect(sampleSum(await read(metrics), 'dg_games_in_flight')).toBe(2);
  done1('handled');
  done2('dead-lettered');
  const families = await read(metrics);
  expect(sampleSum(families, 'dg_games_in_flight')).toBe(0);
  expect(
    families
      .get('dg_messages_handled_total')!
      .samples.map((s) => [s.labels.topic, s.labels.outcome, s.value])
      .sort(),
  ).toEqual([
    ['dg.answer-given', 'dead-lettered', 1],
    ['dg.game-requested', 'handled', 1],
  ]);
  expect(families.get('dg_dead_letters_total')!.samples).toEqual([
    { name: 'dg_dead_letters_total', labels: { topic: 'dg.answer-given', group: 'dg.questioner' }, value: 1 },
  ]);
  expect(sampleSum(families, 'dg_handler_duration_seconds_count')).toBe(2);
  await metrics.close();
});

it('counts model calls by outcome from the HTTP requests of the process', async () => {
  const metrics = new RoleMetrics({ defaultMetrics: false });
  const call = async (query: string): Promise<void> => {
    const res = await fetch(`${base}/v1/chat/completions${query}`, { method: 'POST', body: '{}' });
    await res.text();
  };
  await call('');
  await call('');
  await call('?status=429');
  await call('?status=503');
  await call('?status=400');
  await fetch(`${base}/v1/models`).then((r) => r.text()); // not a model call
  const closed = await new Promise<number>((resolve) => {
    const probe = createServer().listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as AddressInfo;
      probe.close(() => resolve(port));
    });
  });
  await expect(fetch(`http://127.0.0.1:${closed}/v1/chat/completions`, { method: 'POST' })).rejects.toThrow();
  const families = await read(metrics);
  const byOutcome = Object.fromEntries(families.get('dg_model_calls_total')!.samples.map((s) => [`${s.labels.endpoint} ${s.labels.outcome}`, s.value]));
  expect(byOutcome).toEqual({
    [`${base}/v1/chat/completions ok`]: 2,
    [`${base}/v1/chat/completions rate_limited`]: 1,
    [`${base}/v1/chat/completions server_error`]: 1,
    [`${base}/v1/chat/completions client_error`]: 1,
    [`http://127.0.0.1:${closed}/v1/chat/completions network`]: 1,
  });
  expect(sampleSum(families, 'dg_model_errors_total')).toBe(4);
  expect(sampleSum(families, 'dg_model_requests_in_flight')).toBe(0);
  await metrics.close();
  // Closed: its subscriptions are gone, later calls are not counted by it.
  await call('');
  expect(sampleSum(await read(metrics), 'dg_model_calls_total')).toBe(6);
});

it("counts the model client's node:http fetch (its default) the same way; a call aborted before it is sent is none", async () => {
  const metrics = new RoleMetrics({ defaultMetrics: false });
  const nodeFetch = nodeHttpFetch();
  const call = async (query: string): Promise<void> => {
    const res = await nodeFetch(`${base}/v1/chat/completions${query}`, { method: 'POST', body: '{}' });
    expect(await res.text()).toBe('{}');
  };
  await call('');
  await call('?status=429');
  await call('?status=500');
  await nodeFetch(`${base}/v1/models`).then((r) => r.text()); // not a model call
  const aborted = new AbortController();
  aborted.abort(new DOMException('stop', 'AbortError'));
  await expect(nodeFetch(`${base}/v1/chat/completions`, { method: 'POST', body: '{}', signal: aborted.signal })).rejects.toMatchObject({ name: 'AbortError' });
  const families = await read(metrics);
  const byOutcome = Object.fromEntries(families.get('dg_model_calls_total')!.samples.map((s) => [`${s.labels.endpoint} ${s.labels.outcome}`, s.value]));
  expect(byOutcome).toEqual({
    [`${base}/v1/chat/completions ok`]: 1,
    [`${base}/v1/chat/completions rate_limited`]: 1,
    [`${base}/v1/chat/completions server_error`]: 1,
  });
  expect(sampleSum(families, 'dg_model_requests_in_flight')).toBe(0);
  await metrics.close();
});

it('reads model concurrency from the limiter adapter when scraped', async () => {
  let snapshots = [{ endpoint: 'http://a/v1', model: 'm', limit: 8, inFlight: 3, queued: 5 }];
  const metrics = new RoleMetrics({ defaultMetrics: false, limiter: () => snapshots });
  let families = await read(metrics);
  expect(families.get('dg_model_concurrency_limit')!.samples).toEqual([
    { name: 'dg_model_concurrency_limit', labels: { endpoint: 'http://a/v1', model: 'm' }, value: 8 },
  ]);
  expect(sampleSum(families, 'dg_model_concurrency_queued')).toBe(5);
  snapshots = [];
  families = await read(metrics);
  expect(families.get('dg_model_concurrency_in_flight')!.samples).toEqual([]);
  await metrics.close();
});

it('serves /metrics and /healthz, which fails once a consumer stopped for good', async () => {
  const metrics = new RoleMetrics();
  const server = await startMetricsServer({ host: '127.0.0.1', port: 0, registry: metrics.registry, health: { problem: () => metrics.problem } });
  try {
    expect((await fetch(`${server.url}/healthz`)).status).toBe(200);
    const text = await (await fetch(`${server.url}/metrics`)).text();
    expect(parsePrometheusText(text).has('process_cpu_user_seconds_total')).toBe(true);
    metrics.markFatal('a consumer stopped for good: boom');
    const res = await fetch(`${server.url}/healthz`);
    expect(res.status).toBe(503);
    expect(await res.json()).toEqual({ status: 'failing', problem: 'a consumer stopped for good: boom' });
    expect((await fetch(`${server.url}/other`)).status).toBe(404);
  } finally {
    await server.close();
    await metrics.close();
  }
});
