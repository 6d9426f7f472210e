import { appendFileSync } from 'node:fs';
import { EventBus } from '../../../services/core/bus';
import { EventCodec } from '../../../services/core/codec';
import { configureLogging, type LogLevel } from '../../../services/core/logging';
import { testBusConfig, testDgConfig } from '../../helpers/bus-kit';

/**
 * A consumer in its own process, so a test can SIGKILL or SIGTERM it for real. Every handler start
 * and finish is appended synchronously to a JSON-lines file (a finish is on disk before the handler
 * returns, hence before its offset can be committed). Prints READY once it has joined the group.
 */
export interface RecordingConsumerSettings {
  prefix: string;
  groupId: string;
  maxInFlight: number;
  /** Handler time, uniformly drawn from [min, max]. */
  delayMs: [number, number];
  out: string;
  sessionTimeoutMs: number;
  shutdownTimeoutMs: number;
}

export interface HandlerRecord {
  ev: 'start' | 'done' | 'closed';
  pid: number;
  key?: string;
  seq?: number;
  partition?: number;
  offset?: string;
  at: number;
}

async function main(): Promise<void> {
  const settings = JSON.parse(process.env.DG_BUS_WORKER ?? '') as RecordingConsumerSettings;
  configureLogging({ level: (process.env.DG_LOG_LEVEL as LogLevel | undefined) ?? 'error' });
  const write = (record: Omit<HandlerRecord, 'pid' | 'at'>): void =>
    appendFileSync(settings.out, `${JSON.stringify({ ...record, pid: process.pid, at: Date.now() })}\n`);
  const config = testBusConfig(settings.prefix, { consumer: { sessionTimeoutMs: settings.sessionTimeoutMs }, shutdownTimeoutMs: settings.shutdownTimeoutMs });
  const bus = new EventBus({ config, codec: EventCodec.fromConfig(testDgConfig(settings.prefix)), ensureTopicsOnStart: false });
  process.once('SIGTERM', () => {
    void bus.close().then(() => {
      write({ ev: 'closed' });
      process.exit(0);
    });
  });
  await bus.start();
  await bus.subscribe({
    groupId: settings.groupId,
    topics: ['gameRequested'],
    maxInFlight: settings.maxInFlight,
    handler: async (event, ctx) => {
      const record = { key: event.game.header.gameId, seq: event.game.header.seed, partition: ctx.partition, offset: ctx.offset };
      write({ ev: 'start', ...record });
      const [min, max] = settings.delayMs;
      await new Promise((resolve) => setTimeout(resolve, min + Math.random() * (max - min)));
      write({ ev: 'done', ...record });
    },
  });
  process.stdout.write('READY\n');
}

main().catch((error: unknown) => {
  process.stderr.write(`recording consumer failed: ${error instanceof Error ? error.stack : String(error)}\n`);
  process.exit(1);
});
