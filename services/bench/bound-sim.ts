import type { IncomingMessage, ServerResponse } from 'node:http';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { configureLogging } from '../core/logging';
import { DEFAULT_MODEL_PRESETS, startSimVlm, type SimVlmServer } from '../sim-vlm';
import { readMainThreadRunQueue, type RunQueueSample } from './host-cpu';

/**
 * The bound bench's simulator process (forked by bound-bench.ts with an IPC channel): the
 * SIMULATED VLM at a fixed latency distribution, one server per endpoint (questioner, answerer),
 * each counting its requests where they arrive, so the figures of each endpoint are measured where
 * a real endpoint would see them: calls finished, the time-integral of calls in flight (mean
 * in-flight = area / window), and call latency as the endpoint serves it. (Until issue 10's second
 * round a counting pass-through per endpoint sat in front of one server: its own share of the
 * latency was ~0.2 ms, but it cost the process ~1/4 of its CPU and so delayed the simulator's timers.)
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
   * Sum over finished calls of the time from the request being read in full to its answer's end
   * (ms): the simulator's handling (parse, simulate, the drawn delay, the timer's lateness, the
   * answer). latencySumMs − this = receiving the request (upload and waiting for the event loop).
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
  /** Run-queue counters of the main thread (null off Linux). */
  runQueue?: RunQueueSample | null;
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

/** Counts a request of one endpoint from its arrival to its answer's end (or the connection's close). */
function countRequest(endpoint: CountingEndpoint, req: IncomingMessage, res: ServerResponse): void {
  const started = endpoint.begin();
  let read = started;
  req.once('end', () => (read = performance.now()));
  let ended = false;
  const finish = (): void => {
    if (ended) return;
    ended = true;
    endpoint.end(started, res.writableFinished && res.statusCode === 200, read);
  };
  res.once('finish', finish);
  res.once('close', finish);
}

async function main(): Promise<void> {
  const [latencyMs, jitterMs] = process.argv.slice(2).map(Number);
  if (!process.send) throw new Error('bound-sim must be forked with an IPC channel');
  configureLogging({ level: 'warn' });
  // One simulator server per endpoint (questioner, answerer), each counting its own requests where
  // they arrive: the served latency is what the endpoint itself serves, with no pass-through hop.
  const endpoints: Record<string, CountingEndpoint> = { questioner: new CountingEndpoint(), answerer: new CountingEndpoint() };
  const urls: Record<string, string> = {};
  const sims: SimVlmServer[] = [];
  for (const [name, endpoint] of Object.entries(endpoints)) {
    const sim = await startSimVlm({
      port: 0,
      defaults: { errorRate: 0, failureRate: 0, latencyMs: latencyMs ?? 250, latencyJitterMs: jitterMs ?? 50 },
      models: DEFAULT_MODEL_PRESETS,
      onRequest: (req, res) => {
        if (req.method === 'POST') countRequest(endpoint, req, res);
      },
    });
    sims.push(sim);
    urls[name] = sim.baseUrl;
  }
  const send = (message: SimProcessMessage): void => void process.send!(message);
  const stop = (): void => {
    void Promise.allSettled(sims.map((sim) => sim.close())).finally(() => process.exit(0));
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
          runQueue: readMainThreadRunQueue(),
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
