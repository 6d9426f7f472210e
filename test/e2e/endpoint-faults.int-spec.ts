import { failuresByReason } from '../../services/analytics';
import { endpointLimiterSnapshots } from '../../services/core/model-client';
import type { E2eEnvironment } from '../helpers/e2e-env';
import { gameRecords, tableCounts } from '../helpers/e2e-games';
import { playAndWait, startSimE2e } from '../helpers/e2e-sim';

/**
 * 300 games against a misbehaving endpoint (the SIMULATOR with 10% 429 + Retry-After 1 s, 5% 500,
 * 2% malformed output, 1% hangs), launched with `dg play --wait --json` as a user would: every game
 * reaches a verdict (success or a named reason), the summary equals ClickHouse, and what the model
 * clients saw matches what the simulator served, fault by fault.
 */

const GAMES = 300;
const CLI_TIMEOUT_MS = 1_200_000;

let env: E2eEnvironment;

afterAll(async () => {
  await env?.cleanup();
}, 60_000);

it(
  `brings all ${GAMES} games to a verdict through 429s, 500s, malformed output and hangs`,
  async () => {
    const started = await startSimE2e('faults', {
      sim: {
        defaults: { latencyMs: 20, latencyJitterMs: 10, rateLimitRate: 0.1, retryAfterMs: 1_000, failureRate: 0.05, malformedRate: 0.02, hangRate: 0.01 },
      },
      roles: {
        // A hang costs one per-call timeout.
        QUESTIONER_TIMEOUT_MS: 2_000,
        ANSWERER_TIMEOUT_MS: 2_000,
        QUESTIONER_MAX_CONCURRENCY: 64,
        ANSWERER_MAX_CONCURRENCY: 64,
        DG_MAX_IN_FLIGHT: 64,
      },
    });
    env = started.env;
    const { sim, childEnv } = started;
    const startedAt = Date.now();
    const summary = await playAndWait(['--games', String(GAMES), '--seed', '7007', '--timeout', String(CLI_TIMEOUT_MS / 1000 - 60)], childEnv, CLI_TIMEOUT_MS);

    // Every game has one verdict, and the summary is what ClickHouse holds.
    expect(summary).toMatchObject({ requested: GAMES, games: GAMES, missing: 0 });
    const counts = await tableCounts(env.clickhouse, summary.run_id);
    expect({ games: summary.games, succeeded: summary.succeeded, kept: summary.kept }).toEqual({
      games: counts.games,
      succeeded: counts.succeeded,
      kept: counts.kept,
    });
    expect(summary.failed).toEqual(await failuresByReason(env.clickhouse, env.database, { runId: summary.run_id }));
    const records = await gameRecords(env.clickhouse, summary.run_id);
    expect(new Set(records.map((r) => r.game_id)).size).toBe(GAMES);

    // What the clients saw is what the simulator served, fault by fault.
    const stats = sim.stats();
    const served = Object.values(stats.models).reduce<Record<string, number>>((total, m) => {
      for (const [outcome, n] of Object.entries(m.served)) total[outcome] = (total[outcome] ?? 0) + n;
      return total;
    }, {});
    const [limiter, ...others] = endpointLimiterSnapshots().filter((s) => s.endpoint === sim.baseUrl);
    expect(others).toEqual([]);
    const seen = limiter!.outcomes;
    const modelErrors = records.filter((r) => r.failure_reason === 'model_error');
    process.stdout.write(
      `e2e faults (machine shared, figures indicative): ${GAMES} games in ${((Date.now() - startedAt) / 1000).toFixed(0)} s; ` +
        `success ${summary.succeeded}, failed by reason ${JSON.stringify(summary.failed)}; ` +
        `simulator served ${JSON.stringify(served)} (peak in flight ${stats.peakInFlight}); ` +
        `client outcomes ${JSON.stringify(seen)}, limit now ${limiter!.limit} (increases ${limiter!.increases}, decreases ${limiter!.decreases}); ` +
        `turns recorded ${counts.turns}; model calls answered with output ${served.ok! + served.malformed! + served.refusal!}\n`,
    );

    // What the clients saw is what the simulator served, fault by fault. The simulator and the roles
    // share this process's CPU: a request can wait longer than the 2 s call timeout before the
    // simulator handles it, and then the client counts a timeout where the simulator counts what it
    // answered too late. Those extra timeouts are the only slack allowed.
    const late = seen.timeout - served.hang!;
    expect(late).toBeGreaterThanOrEqual(0);
    const near = (clientSide: number, simulatorSide: number) => expect(Math.abs(clientSide - simulatorSide)).toBeLessThanOrEqual(late);
    near(seen.overloaded, served.rate_limited!);
    near(seen.success, served.ok! + served.malformed! + served.refusal!);
    near(seen.ignored, served.server_error! + served.reset!);
    expect(late).toBeLessThanOrEqual(served.hang! + 20);
    for (const fault of ['rate_limited', 'server_error', 'malformed', 'hang']) expect(served[fault]).toBeGreaterThan(0);
    // A model_error ending needs three plain failures of one call in a row (or 30 waits): rare here.
    expect(modelErrors.length).toBeLessThanOrEqual(GAMES * 0.02);
  },
  CLI_TIMEOUT_MS + 60_000,
);
