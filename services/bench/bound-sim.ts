import { Agent, createServer, request, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { configureLogging } from '../core/logging';
import { DEFAULT_MODEL_PRESETS, startSimVlm } from '../sim-vlm';

/**
 * The bound bench's simulator process (forked by bound-bench.ts with an IPC channel): the
 * SIMULATED VLM at a fixed latency distribution, behind one counting pass-through per endpoint
 * (questioner, answerer), so the figures of each endpoint are measured where a real endpoint would
 * see them: calls finished, the time-integral of calls in flight (mean in-flight = area / window),
 * and call latency as the endpoint serves it.
 */

export interface EndpointCounters {
  /** Calls finished (any status). */
  calls: number;
  /** Calls that did not answer 200. */
  failed: number;
  /** Calls in flight now. */
  inFlight: number;
  /** ∫ in-flight dt in ms·calls, up to `atMs`. */
  busyArea: number;
  /** Sum of call latencies (ms) of finished calls. */
  latencySumMs: number;
  /** Most calls in flight at once since start. */
  peakInFlight: number;
  /**
   * Sum over finished calls of the simulator's own share (ms): from the pass-through handing the
   * request body upstream to the simulator's answer ending. latencySumMs − this = the pass-through's
   * share (reading the body, relaying the answer).
   */
  upstreamLatencySumMs: number;
}

export interface SimProcessStats {
  atMs: number;
  endpoints: Record<string, EndpointCounters>;
  cpu: NodeJS.CpuUsage;
  rssBytes: number;
  /** Event-loop delay of the simulator process since the last reset (ms). */
  loopDelayMs?: { p50: number; p99: number; max: number };
}

export type SimProcessMessage = { type: 'ready'; urls: Record<string, string> } | { type: 'stats'; id: number; stats: SimProcessStats };

class CountingEndpoint {
  readonly counters: EndpointCounters = { calls: 0, failed: 0, inFlight: 0, busyArea: 0, latencySumMs: 0, peakInFlight: 0, upstreamLatencySumMs: 0 };
  private lastChange = performance.now();

  private advance(now: number): void {
    this.counters.busyArea += this.counters.inFlight * (now - this.lastChange);
    this.lastChange = now;
  }

  begin(): number {
    const now = performance.now();
    this.advance(now);
    this.counters.inFlight++;
    if (this.counters.inFlight > this.counters.peakInFlight) this.counters.peakInFlight = this.counters.inFlight;
    return now;
  }

  end(started: number, ok: boolean, upstreamStarted = started): void {
    const now = performance.now();
    this.advance(now);
    this.counters.inFlight--;
    this.counters.calls++;
    if (!ok) this.counters.failed++;
    this.counters.latencySumMs += now - started;
    this.counters.upstreamLatencySumMs += now - upstreamStarted;
  }

  snapshot(): EndpointCounters {
    this.advance(performance.now());
    return { ...this.counters };
  }
}

/** A pass-through to the simulator that counts what flows through it. */
function startCountingProxy(upstreamPort: number, endpoint: CountingEndpoint, agent: Agent): Promise<Server> {
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const started = endpoint.begin();
    let upstreamStarted = started;
    let ended = false;
    const finish = (ok: boolean): void => {
      if (ended) return;
      ended = true;
      endpoint.end(started, ok, upstreamStarted);
    };
    res.on('close', () => finish(false));
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      // A pooled connection the simulator closed at the same moment resets: retry once on a new one.
      const forward = (attempt: number): void => {
        upstreamStarted = performance.now();
        const upstream = request({ host: '127.0.0.1', port: upstreamPort, method: req.method, path: req.url, headers: req.headers, agent: attempt === 1 ? agent : false }, (answer) => {
          res.writeHead(answer.statusCode ?? 502, answer.headers);
          answer.pipe(res);
          answer.on('end', () => finish(answer.statusCode === 200));
          answer.on('error', () => finish(false));
        });
        upstream.on('error', (error) => {
          if (attempt === 1 && !res.headersSent) return forward(2);
          finish(false);
          if (!res.headersSent) res.writeHead(502, { 'content-type': 'text/plain' });
          res.end(`bench proxy: ${error.message}`);
        });
        upstream.end(body);
      };
      forward(1);
    });
  });
  server.keepAliveTimeout = 60_000;
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve(server));
  });
}

async function main(): Promise<void> {
  const [latencyMs, jitterMs] = process.argv.slice(2).map(Number);
  if (!process.send) throw new Error('bound-sim must be forked with an IPC channel');
  configureLogging({ level: 'warn' });
  const sim = await startSimVlm({
    port: 0,
    defaults: { errorRate: 0, failureRate: 0, latencyMs: latencyMs ?? 250, latencyJitterMs: jitterMs ?? 50 },
    models: DEFAULT_MODEL_PRESETS,
  });
  // Pooled connections, closed by us before the simulator's 5 s keep-alive timeout would.
  const agent = new Agent({ keepAlive: true, maxSockets: Infinity, timeout: 4_000 });
  const endpoints: Record<string, CountingEndpoint> = { questioner: new CountingEndpoint(), answerer: new CountingEndpoint() };
  const urls: Record<string, string> = {};
  const servers: Server[] = [];
  for (const [name, endpoint] of Object.entries(endpoints)) {
    const server = await startCountingProxy(sim.port, endpoint, agent);
    servers.push(server);
    urls[name] = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`;
  }
  const send = (message: SimProcessMessage): void => void process.send!(message);
  const stop = (): void => {
    for (const server of servers) server.close();
    agent.destroy();
    void sim.close().finally(() => process.exit(0));
  };
  const loop = monitorEventLoopDelay({ resolution: 10 });
  loop.enable();
  process.on('message', (message: { type?: string; id?: number }) => {
    if (message.type === 'stats') {
      send({
        type: 'stats',
        id: message.id ?? 0,
        stats: {
          atMs: performance.timeOrigin + performance.now(),
          endpoints: Object.fromEntries(Object.entries(endpoints).map(([name, e]) => [name, e.snapshot()])),
          cpu: process.cpuUsage(),
          rssBytes: process.memoryUsage.rss(),
          loopDelayMs: { p50: loop.percentile(50) / 1e6, p99: loop.percentile(99) / 1e6, max: loop.max / 1e6 },
        },
      });
      if ((message as { reset?: boolean }).reset) loop.reset();
    } else if (message.type === 'stop') {
      stop();
    }
  });
  // The bench stops it with SIGTERM: exit normally, so that --cpu-prof writes the profile.
  process.once('SIGTERM', () => stop());
  process.on('disconnect', () => process.exit(0));
  send({ type: 'ready', urls });
}

if (require.main === module) {
  main().catch((error: unknown) => {
    process.stderr.write(`bound-sim: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exit(1);
  });
}
