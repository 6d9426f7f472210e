import { monitorEventLoopDelay } from 'node:perf_hooks';
import { hopStats, produceRequestStats, publishAckStats, type HopSnapshot } from '../core/bus/hop-stats';
import { readMainThreadRunQueue, type RunQueueSample } from './host-cpu';

/**
 * Preloaded (`node --require`) into a role process that the bound bench forks as `dg run <role>`
 * with an IPC channel: the process runs exactly as deployed, and this agent answers the bench's
 * requests for its figures (CPU time, RSS, heap, event-loop delay, and the bus's per-hop samples).
 * It shares the bus's hop recorder because both resolve to the same compiled module file.
 * Without an IPC channel it does nothing.
 */

export interface RoleProcessStats {
  atMs: number;
  cpu: NodeJS.CpuUsage;
  rssBytes: number;
  heapUsedBytes: number;
  /** Memory outside the JS heap: Buffers, ArrayBuffers, native. */
  externalBytes: number;
  /** Event-loop delay since the last reset (ms). */
  loopDelayMs: { p50: number; p99: number; max: number };
  hops: HopSnapshot;
  /** Publish call → broker acknowledgement of each record this process published (the producer's share of a hop). */
  publishAcks: HopSnapshot;
  /** Round trip of each produce request the publisher sent (a publish's ack time minus its wait behind the one in flight). */
  produceRequests: HopSnapshot;
  /** Run-queue counters of the main thread (null off Linux). */
  runQueue: RunQueueSample | null;
}

/** `hops: true` ships the hop samples (large); otherwise only their totals. `reset` starts a new window. */
export type RoleAgentRequest = { type: 'stats'; id: number; reset?: boolean; hops?: boolean };
export type RoleAgentReply = { type: 'stats'; id: number; stats: RoleProcessStats };

if (process.send) {
  const loop = monitorEventLoopDelay({ resolution: 10 });
  loop.enable();
  process.on('message', (message: RoleAgentRequest) => {
    if (message?.type !== 'stats') return;
    const memory = process.memoryUsage();
    // Totals always; the samples themselves (large) only when asked for.
    const samplesShipped = message.hops ? undefined : 0;
    const stats: RoleProcessStats = {
      atMs: Date.now(),
      cpu: process.cpuUsage(),
      rssBytes: memory.rss,
      heapUsedBytes: memory.heapUsed,
      externalBytes: memory.external,
      loopDelayMs: { p50: loop.percentile(50) / 1e6, p99: loop.percentile(99) / 1e6, max: loop.max / 1e6 },
      hops: hopStats.snapshot(samplesShipped),
      publishAcks: publishAckStats.snapshot(samplesShipped),
      produceRequests: produceRequestStats.snapshot(samplesShipped),
      runQueue: readMainThreadRunQueue(),
    };
    if (message.reset) {
      hopStats.reset();
      publishAckStats.reset();
      produceRequestStats.reset();
      loop.reset();
    }
    process.send!({ type: 'stats', id: message.id, stats } satisfies RoleAgentReply);
  });
  // The bench went away: stop as a supervisor would (SIGTERM drains and exits).
  process.on('disconnect', () => process.kill(process.pid, 'SIGTERM'));
  // The IPC channel must not keep a drained role alive: the process ends by itself after SIGTERM as
  // deployed (and --cpu-prof writes its profile) instead of waiting for the bench's SIGKILL.
  process.channel?.unref();
}
