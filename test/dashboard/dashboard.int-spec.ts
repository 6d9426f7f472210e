import { createHash } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { sql } from '../../services/core/clickhouse';
import { repoRoot } from '../../services/core/config';
import { MetricsEndpoint } from '../../services/core/metrics';
import { startDashboardServer, type DashboardServer } from '../../services/dashboard/server';
import { planFrom } from '../../services/launcher/launcher';
import { startSimVlm } from '../../services/sim-vlm/server';
import { launchChromium } from '../helpers/browser';
import { createE2eEnvironment, type E2eEnvironment } from '../helpers/e2e-env';
import { launch, syntheticImages, waitForRunRows } from '../helpers/e2e-games';
import { pollUntil } from '../helpers/e2e-wait';
import { parsePrometheusText, sampleSum } from './prometheus-text';

/**
 * The dashboard on the real stack: one run, two iterations played at different simulator error
 * rates (iteration 0 answers exactly, iteration 1 lies 50% of the time). The API's counts and rates
 * must equal direct ClickHouse queries; headless Chromium must show both iterations, filter the
 * dialog browser to failed games and open one with its images loaded and the target marked; the
 * role process's /metrics must parse and move while the games run.
 */

const GAMES_PER_ITERATION = 24;
const EXACT = 'sim-exact';
const NOISY = 'sim-noisy-50';
const SHOTS_DIR = join(repoRoot(), 'test-output', 'dashboard');
/** DG_DOCS_SCREENSHOTS=1 also writes the README's screenshots under docs/. */
const DOCS_DIR = process.env.DG_DOCS_SCREENSHOTS ? join(repoRoot(), 'docs') : undefined;

let env: E2eEnvironment;
let dashboard: DashboardServer;
let runId: string;
let metricsUrl: string;
const metricsDuringRun: { before?: number; during?: number; after?: number } = {};

async function scrape(): Promise<ReturnType<typeof parsePrometheusText>> {
  const res = await fetch(`${metricsUrl}/metrics`);
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
  return parsePrometheusText(await res.text());
}

async function api<T>(path: string): Promise<T> {
  const res = await fetch(`${dashboard.url}${path}`);
  if (!res.ok) throw new Error(`${path}: HTTP ${res.status} ${await res.text()}`);
  return (await res.json()) as T;
}

/** A GET with the path sent exactly as written (fetch would normalise `..` away). */
function rawGet(url: string, path: string): Promise<{ status: number; body: string }> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const req = request({ host: hostname, port, path, method: 'GET' }, (res) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c.toString('latin1')));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

beforeAll(async () => {
  env = await createE2eEnvironment('dashboard');
  const sim = await startSimVlm({ port: 0, models: { [EXACT]: { errorRate: 0 }, [NOISY]: { errorRate: 0.5 } } });
  env.track(() => sim.close());
  const overrides = { QUESTIONER_BASE_URL: sim.baseUrl, ANSWERER_BASE_URL: sim.baseUrl, QUESTIONER_MODEL: EXACT, DG_METRICS_PORT: '0' };
  const app = await env.startRoles(overrides);
  metricsUrl = app.get(MetricsEndpoint, { strict: false }).url!;
  const config = env.config(overrides);
  const images = await syntheticImages(config);
  runId = `${env.topicPrefix}dash`;
  const plan = (iteration: number, answererModel: string) =>
    planFrom(config, { datasetName: 'synthetic-v1', runId, iteration, seed: 4242 + iteration, candidates: 4, maxTurns: 6, answererModel });

  metricsDuringRun.before = sampleSum(await scrape(), 'dg_messages_handled_total');
  const startedAt = Date.now();
  await Promise.all([launch(config, plan(0, EXACT), images, GAMES_PER_ITERATION), launch(config, plan(1, NOISY), images, GAMES_PER_ITERATION)]);
  // While games are still being played: the first rows are in, not all of them.
  await pollUntil(
    'the first finished games',
    async () =>
      Number(
        (await env.clickhouse.query<{ n: string }>(sql`SELECT count() AS n FROM ${env.clickhouse.table('games')} FINAL WHERE run_id = ${runId}`))[0]?.n ?? 0,
      ),
    (n) => n > 0,
    {
      timeoutMs: 120_000,
      intervalMs: 100,
    },
  );
  metricsDuringRun.during = sampleSum(await scrape(), 'dg_messages_handled_total');
  await waitForRunRows(env.clickhouse, env.database, runId, 2 * GAMES_PER_ITERATION, startedAt, 180_000);
  metricsDuringRun.after = sampleSum(await scrape(), 'dg_messages_handled_total');

  dashboard = await startDashboardServer({
    ch: env.clickhouse,
    database: env.database,
    datasetsDir: config.paths.datasetsDir,
    host: '127.0.0.1',
    port: 0,
    token: '',
  });
  env.track(() => dashboard.close());
}, 300_000);

afterAll(async () => {
  await env?.cleanup();
}, 60_000);

/**
 * The page's globals, typed for the few functions that run in the browser (waitForFunction cannot
 * take strings under the page's CSP, and this project compiles without the DOM library). Those
 * functions are sent as source text: they may use nothing from this file but types.
 */
interface BrowserGlobals {
  document: { body: { dataset: Record<string, string | undefined> }; querySelectorAll(selector: string): Iterable<{ complete: boolean }> };
}

interface Direct {
  iteration: string;
  games: string;
  succeeded: string;
  kept: string;
  cost: number;
}

describe('API', () => {
  it('counts and rates per iteration equal direct ClickHouse queries', async () => {
    const direct = await env.clickhouse.query<Direct>(
      sql`SELECT iteration, count() AS games, countIf(verdict = 'success') AS succeeded, countIf(kept = 1) AS kept, sum(cost_usd) AS cost FROM ${env.clickhouse.table('games')} FINAL WHERE run_id = ${runId} GROUP BY iteration ORDER BY iteration`,
    );
    const overview = await api<{
      comparison: Array<{ iteration: number; games: number; succeeded: number; kept: number; successRate: number }>;
      totals: { games: number; succeeded: number };
      series: Array<{ iteration: number; games: number; succeeded: number; kept: number; failures: Record<string, number> }>;
      failuresByReason: Record<string, number>;
    }>(`/api/overview?run=${encodeURIComponent(runId)}&minutes=120`);
    expect(direct.map((d) => Number(d.iteration))).toEqual([0, 1]);
    expect(overview.comparison.map((r) => r.iteration)).toEqual([0, 1]);
    for (const d of direct) {
      const row = overview.comparison.find((r) => r.iteration === Number(d.iteration))!;
      expect(row.games).toBe(Number(d.games));
      expect(row.succeeded).toBe(Number(d.succeeded));
      expect(row.kept).toBe(Number(d.kept));
      expect(row.successRate).toBeCloseTo(Number(d.succeeded) / Number(d.games), 10);
      // The per-minute aggregate (materialized view) adds up to the same games.
      const series = overview.series.filter((p) => p.iteration === Number(d.iteration));
      expect(series.reduce((s, p) => s + p.games, 0)).toBe(Number(d.games));
      expect(series.reduce((s, p) => s + p.succeeded, 0)).toBe(Number(d.succeeded));
      expect(series.reduce((s, p) => s + p.kept, 0)).toBe(Number(d.kept));
    }
    expect(overview.totals.games).toBe(2 * GAMES_PER_ITERATION);
    // The error rate shows: the exact iteration beats the noisy one.
    const [it0, it1] = overview.comparison;
    expect(it0.successRate).toBeGreaterThan(it1.successRate);
    expect(it1.succeeded).toBeLessThan(it1.games);

    const reasons = await env.clickhouse.query<{ reason: string; n: string }>(
      sql`SELECT toString(failure_reason) AS reason, count() AS n FROM ${env.clickhouse.table('games')} FINAL WHERE run_id = ${runId} AND verdict = 'failure' GROUP BY reason`,
    );
    expect(overview.failuresByReason).toEqual(Object.fromEntries(reasons.map((r) => [r.reason, Number(r.n)])));
    const seriesFailures: Record<string, number> = {};
    for (const p of overview.series) for (const [r, n] of Object.entries(p.failures)) seriesFailures[r] = (seriesFailures[r] ?? 0) + n;
    expect(seriesFailures).toEqual(overview.failuresByReason);
  });

  it('lists and opens games with the filters of the dialog browser', async () => {
    const failed = await api<{ total: number; games: Array<{ gameId: string; verdict: string; iteration: number }> }>(
      `/api/games?run=${encodeURIComponent(runId)}&verdict=failure&limit=500`,
    );
    const [{ n }] = await env.clickhouse.query<{ n: string }>(
      sql`SELECT count() AS n FROM ${env.clickhouse.table('games')} FINAL WHERE run_id = ${runId} AND verdict = 'failure'`,
    );
    expect(failed.total).toBe(Number(n));
    expect(failed.games.length).toBe(Number(n));
    expect(failed.games.every((g) => g.verdict === 'failure')).toBe(true);
    const it1 = await api<{ total: number; games: Array<{ iteration: number }> }>(`/api/games?run=${encodeURIComponent(runId)}&iteration=1&decision=rejected`);
    expect(it1.games.every((g) => g.iteration === 1)).toBe(true);

    const id = failed.games[0].gameId;
    const game = await api<{
      candidates: Array<{ id: string; isTarget: boolean; imageUrl: string }>;
      targetIndex: number;
      turns: unknown[];
      kafka: { topic: string; partition: number; offset: string };
      verdict: string;
    }>(`/api/games/${id}`);
    const [row] = await env.clickhouse.query<{
      candidate_ids: string[];
      target_index: number;
      source_topic: string;
      source_partition: number;
      source_offset: string;
      turns: string;
    }>(
      sql`SELECT candidate_ids, target_index, source_topic, source_partition, source_offset, (SELECT count() FROM ${env.clickhouse.table('turns')} FINAL WHERE game_id = ${id}) AS turns FROM ${env.clickhouse.table('games')} FINAL WHERE game_id = ${id}`,
    );
    expect(game.verdict).toBe('failure');
    expect(game.candidates.map((c) => c.id)).toEqual(row.candidate_ids);
    expect(game.candidates.findIndex((c) => c.isTarget)).toBe(Number(row.target_index));
    expect(game.turns).toHaveLength(Number(row.turns));
    expect(game.kafka).toEqual({ topic: row.source_topic, partition: Number(row.source_partition), offset: String(row.source_offset) });
    expect(await fetch(`${dashboard.url}/api/games/no-such-game`).then((r) => r.status)).toBe(404);
  });

  it('serves candidate images by game and index only, with the dataset bytes', async () => {
    const { games } = await api<{ games: Array<{ gameId: string }> }>(`/api/games?run=${encodeURIComponent(runId)}&limit=1`);
    const id = games[0].gameId;
    const game = await api<{ candidates: Array<{ id: string; imageUrl: string }> }>(`/api/games/${id}`);
    const images = new Map((await syntheticImages(env.config())).map((i) => [i.id, i]));
    for (const c of game.candidates) {
      const res = await fetch(`${dashboard.url}${c.imageUrl}`);
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toBe('image/png');
      const bytes = Buffer.from(await res.arrayBuffer());
      expect(createHash('sha256').update(bytes).digest('hex')).toBe(images.get(c.id)!.sha256);
    }
    expect((await rawGet(dashboard.url, `/api/games/${id}/candidates/9/image`)).status).toBe(404);
    for (const path of [
      `/api/games/${id}/candidates/../../../../../../etc/passwd`,
      '/api/games/..%2F..%2F..%2Fetc%2Fpasswd/candidates/0/image',
      '/..%2f..%2f..%2f..%2fetc%2fpasswd',
      '/vendor/../../../../etc/passwd',
      '/vendor/chart.umd.js/../../package.json',
      `/api/games/${id}/candidates/0/image/../../../../../../../etc/passwd`,
    ]) {
      const res = await rawGet(dashboard.url, path);
      expect({ path, status: res.status }).toEqual({ path, status: 404 });
      expect(res.body).not.toMatch(/root:|"dependencies"/);
    }
  });

  it('answers a bad query parameter with 400 naming it', async () => {
    const res = await fetch(`${dashboard.url}/api/games?iteration=abc`);
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: string }).error).toMatch(/iteration/);
    expect((await fetch(`${dashboard.url}/api/games?verdict=maybe`)).status).toBe(400);
  });
});

describe('/metrics of the role process', () => {
  it('parses as Prometheus text exposition and its counters moved while the games ran', async () => {
    const families = await scrape();
    for (const name of [
      'dg_games_in_flight',
      'dg_messages_handled_total',
      'dg_handler_duration_seconds',
      'dg_model_calls_total',
      'dg_model_concurrency_limit',
      'dg_consumer_lag',
      'dg_dead_letters_total',
    ]) {
      expect(families.has(name)).toBe(true);
    }
    expect(metricsDuringRun.during!).toBeGreaterThan(metricsDuringRun.before!);
    // The last messages may all be handled before the first scrape sees the sink's rows land.
    expect(metricsDuringRun.after!).toBeGreaterThanOrEqual(metricsDuringRun.during!);
    // Every game was requested once, so the questioner group handled at least 2N requests.
    const requested = families
      .get('dg_messages_handled_total')!
      .samples.filter((s) => s.labels.topic === env.topic('gameRequested') && s.labels.outcome === 'handled');
    expect(requested.reduce((s, x) => s + x.value, 0)).toBeGreaterThanOrEqual(2 * GAMES_PER_ITERATION);
    const ok = families.get('dg_model_calls_total')!.samples.filter((s) => s.labels.outcome === 'ok');
    expect(ok.reduce((s, x) => s + x.value, 0)).toBeGreaterThan(2 * GAMES_PER_ITERATION);
    expect(sampleSum(families, 'dg_handler_duration_seconds_count')).toBeGreaterThan(0);
    // Every role group reports lag for each partition of its inputs; all caught up by now.
    const lag = families.get('dg_consumer_lag')!.samples;
    expect(new Set(lag.map((s) => s.labels.group))).toEqual(
      new Set(['questioner', 'answerer', 'referee', 'filter', 'sink'].map((r) => `${env.topicPrefix}${r}`)),
    );
    await pollUntil(
      'consumer lag to reach 0',
      async () => sampleSum(await scrape(), 'dg_consumer_lag'),
      (v) => v === 0,
      { timeoutMs: 60_000, intervalMs: 1_000 },
    );
    const health = await fetch(`${metricsUrl}/healthz`);
    expect(health.status).toBe(200);
  }, 90_000);
});

describe('the page in headless Chromium', () => {
  let browser: Browser;
  let page: Page;
  const imageResponses = new Map<string, number>();

  beforeAll(async () => {
    mkdirSync(SHOTS_DIR, { recursive: true });
    browser = await launchChromium();
    page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
    page.on('response', (res) => {
      if (res.url().includes('/candidates/')) imageResponses.set(res.url(), res.status());
    });
  }, 180_000);

  afterAll(async () => {
    await browser?.close();
  });

  it('shows both iterations on the success chart and the comparison table', async () => {
    await page.goto(`${dashboard.url}/`);
    await page.waitForSelector('body[data-loaded="true"]', { timeout: 30_000 });
    await page.waitForSelector('#success-legend li[data-iteration="1"]', { timeout: 30_000 });
    // Browser-side code as strings: this project compiles without the DOM library.
    const labels = (await page.evaluate(
      `Chart.getChart(document.getElementById('chart-success')).data.datasets.map((d) => ({ label: d.label, points: d.data.filter((v) => v !== null).length }))`,
    )) as Array<{ label: string; points: number }>;
    expect(labels.map((l) => l.label)).toEqual(['iteration 0', 'iteration 1']);
    expect(labels.every((l) => l.points > 0)).toBe(true);
    expect(await page.locator('#comparison tbody tr').count()).toBe(2);
    expect(await page.locator('#comparison tbody tr[data-iteration="0"] td[data-col="games"]').textContent()).toBe(String(GAMES_PER_ITERATION));
    await page.screenshot({ path: join(SHOTS_DIR, 'overview.png'), fullPage: true });
    if (DOCS_DIR) await page.screenshot({ path: join(DOCS_DIR, 'dashboard-overview.png') });
  }, 60_000);

  it('filters the dialog browser to failed games and opens one with its images and the target marked', async () => {
    const loads = Number(await page.getAttribute('body', 'data-games-loaded'));
    await page.selectOption('#filters select[name="run"]', runId);
    await page.selectOption('#filters select[name="verdict"]', 'failure');
    await page.waitForFunction((n) => Number((globalThis as unknown as BrowserGlobals).document.body.dataset.gamesLoaded) >= n, loads + 2, { timeout: 30_000 });
    // The list also refreshes by itself: wait until what it shows is the filtered answer.
    await page.waitForFunction(
      () => {
        const rows = [...(globalThis as unknown as BrowserGlobals).document.querySelectorAll('#games tbody tr')] as unknown as Array<{
          getAttribute(n: string): string | null;
        }>;
        return rows.length > 0 && rows.every((r) => r.getAttribute('data-verdict') === 'failure');
      },
      undefined,
      { timeout: 30_000 },
    );
    const verdicts = await page.locator('#games tbody tr').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-verdict')));
    expect(verdicts.length).toBeGreaterThan(0);
    expect(new Set(verdicts)).toEqual(new Set(['failure']));

    const gameId = (await page.locator('#games tbody tr').first().getAttribute('data-game-id'))!;
    await page.locator('#games tbody tr').first().click();
    await page.waitForSelector('#game:not([hidden]) #candidates figure', { timeout: 30_000 });
    await page.waitForFunction(
      () => [...(globalThis as unknown as BrowserGlobals).document.querySelectorAll('#candidates img')].every((img) => img.complete),
      undefined,
      { timeout: 30_000 },
    );
    const imgs = (await page.evaluate(
      `[...document.querySelectorAll('#candidates img')].map((img) => ({ src: img.src, w: img.naturalWidth, h: img.naturalHeight }))`,
    )) as Array<{ src: string; w: number; h: number }>;
    expect(imgs).toHaveLength(4);
    for (const img of imgs) {
      expect(img.w).toBeGreaterThan(0);
      expect(img.h).toBeGreaterThan(0);
      expect(imageResponses.get(img.src)).toBe(200);
    }
    const game = await api<{ targetIndex: number; verdict: string }>(`/api/games/${gameId}`);
    const targets = await page
      .locator('#candidates figure.target')
      .evaluateAll((list) => list.map((f) => ({ index: f.getAttribute('data-index'), badge: f.querySelector('.badge.target')?.textContent })));
    expect(targets).toEqual([{ index: String(game.targetIndex), badge: 'TARGET' }]);
    expect(await page.locator('#game-facts dd[data-fact="verdict"]').textContent()).toBe('failure');
    expect(await page.locator('#transcript li').count()).toBeGreaterThan(1);
    expect(await page.locator('#game-facts dd[data-fact="Kafka"]').textContent()).toMatch(/game-curated partition \d+ offset \d+/);
    await page.screenshot({ path: join(SHOTS_DIR, 'game.png'), fullPage: true });
    // The address links to the opened game: a fresh page opens it again.
    expect(new URL(page.url()).hash).toBe(`#game=${gameId}`);
    const linked = await browser.newPage();
    await linked.goto(page.url());
    await linked.waitForSelector('#game:not([hidden]) #candidates figure', { timeout: 30_000 });
    expect(await linked.locator('#game-id').textContent()).toBe(gameId);
    await linked.close();
    if (DOCS_DIR) await page.locator('#game').screenshot({ path: join(DOCS_DIR, 'dashboard-game.png') });
  }, 60_000);
});
