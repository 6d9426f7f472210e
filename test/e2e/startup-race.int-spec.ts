import { createServer, request, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { EventCodec } from '../../services/core/codec';
import { createE2eEnvironment, type E2eEnvironment } from '../helpers/e2e-env';

/**
 * Processes that start together on a fresh deployment (every role, a launcher, `npm start`) all
 * register the same subjects at the same moment. None of them may fail for having lost that race:
 * found when four launchers of one e2e test collided on a new topic prefix (the registry answered
 * one of them 409 "rule already exists" while setting the subject's compatibility).
 *
 * The race is made to happen, and checked to have happened: the codecs talk to the registry through
 * a proxy that holds each subject's compatibility-rule and registration requests until every process
 * has sent its own (or BARRIER_MS passed), then lets them through at once. A codec that serialised
 * its registrations, or a test that no longer ran them concurrently, would leave the proxy releasing
 * one request at a time, and the test fails on that.
 */

const PROCESSES = 6;
const ROUNDS = 3;
/** A request waits at most this long for the others of its subject (a serialised caller times out here). */
const BARRIER_MS = 3_000;

let env: E2eEnvironment;

beforeAll(async () => {
  env = await createE2eEnvironment('race');
}, 60_000);

afterAll(async () => {
  await env?.cleanup();
}, 60_000);

interface RaceProxy {
  url: string;
  /** Most requests of one kind on one subject released together, per `METHOD subject`. */
  together: Map<string, number>;
  statuses: number[];
  close(): Promise<void>;
}

/** Forwards everything to the registry; holds PUT /config/<s> and POST /subjects/<s>/versions at a barrier per subject. */
async function startRaceProxy(upstream: URL): Promise<RaceProxy> {
  const together = new Map<string, number>();
  const statuses: number[] = [];
  const barriers = new Map<string, { waiting: Array<() => void>; timer: NodeJS.Timeout }>();
  const release = (key: string): void => {
    const barrier = barriers.get(key);
    if (!barrier) return;
    barriers.delete(key);
    clearTimeout(barrier.timer);
    together.set(key, Math.max(together.get(key) ?? 0, barrier.waiting.length));
    for (const go of barrier.waiting) go();
  };
  const atBarrier = (key: string): Promise<void> =>
    new Promise((resolve) => {
      let barrier = barriers.get(key);
      if (!barrier) {
        barrier = { waiting: [], timer: setTimeout(() => release(key), BARRIER_MS) };
        barriers.set(key, barrier);
      }
      barrier.waiting.push(resolve);
      if (barrier.waiting.length >= PROCESSES) release(key);
    });
  const forward = (req: IncomingMessage, res: ServerResponse, body: Buffer): void => {
    const out = request(
      { host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers: { ...req.headers, host: upstream.host } },
      (up) => {
        statuses.push(up.statusCode ?? 0);
        res.writeHead(up.statusCode ?? 502, up.headers);
        up.pipe(res);
      },
    );
    out.on('error', (err) => {
      res.writeHead(502);
      res.end(String(err));
    });
    out.end(body);
  };
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      const path = decodeURIComponent((req.url ?? '').split('?')[0]!);
      const held = req.method === 'PUT' ? /\/config\/([^/]+)$/.exec(path) : req.method === 'POST' ? /\/subjects\/([^/]+)\/versions$/.exec(path) : null;
      if (!held) return forward(req, res, body);
      void atBarrier(`${req.method} ${held[1]}`).then(() => forward(req, res, body));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    together,
    statuses,
    close: () =>
      new Promise<void>((resolve) => {
        for (const key of [...barriers.keys()]) release(key);
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

it(`lets ${PROCESSES} codecs register every subject of a fresh topic prefix at once, ${ROUNDS} times over`, async () => {
  const registry = new URL(env.config().schemaRegistry.url);
  const proxy = await startRaceProxy(registry);
  env.track(() => proxy.close());
  const config = env.config({ SCHEMA_REGISTRY_URL: `${proxy.url}${registry.pathname}` });
  for (let round = 0; round < ROUNDS; round++) {
    // Each round a new prefix under the environment's, so its subjects are new and cleanup finds them.
    const topicPrefix = `${env.topicPrefix}r${round}.`;
    const results = await Promise.allSettled(Array.from({ length: PROCESSES }, () => EventCodec.fromConfig(config, { topicPrefix }).registerAll()));
    const failures = results.flatMap((r) => (r.status === 'rejected' ? [String(r.reason)] : []));
    expect(failures).toEqual([]);
    const ids = results.map((r) => (r.status === 'fulfilled' ? JSON.stringify(r.value) : ''));
    expect(new Set(ids).size).toBe(1);

    // The race was run: every subject of this round had its rule and its registration requested by
    // several processes at the same moment.
    const subjects = Object.keys(JSON.parse(ids[0]!) as object).length;
    const seen = [...proxy.together.entries()].filter(([key]) => key.includes(topicPrefix));
    expect({ round, raced: seen.filter(([, n]) => n >= 2).length, seen }).toEqual({ round, raced: 2 * subjects, seen });
  }
}, 120_000);
