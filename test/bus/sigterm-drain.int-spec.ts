import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadFixture } from '../../schemas/fixtures';
import type { AnyPublishRecord } from '../../services/core/bus';
import { busWorker, createBusTestWorld, type BusTestWorld } from '../helpers/bus-kit';
import { waitFor } from '../helpers/wait-for';
import { coordinate, readRecords, workerExit, workerReady } from './worker-process';
import type { RecordingConsumerSettings } from './workers/recording-consumer';

const GAMES = 6;
const HANDLER_MS = 2_000;

function gameRequested(gameId: string, seq: number) {
  const value = loadFixture('GameRequested');
  value.game.header.gameId = gameId;
  value.game.header.seed = seq;
  return value;
}

/**
 * SIGTERM while handlers run: the process stops fetching, lets every running handler finish,
 * commits, and exits 0 within the shutdown deadline; a restarted consumer sees none of them again.
 */
describe('SIGTERM drain (real Kafka, child processes)', () => {
  let world: BusTestWorld;
  let dir: string;

  beforeAll(async () => {
    world = await createBusTestWorld('drain', { partitions: 2, topics: ['gameRequested', 'deadLetter'] });
    dir = mkdtempSync(join(tmpdir(), 'dg-bus-drain-'));
  });
  afterAll(async () => {
    await world?.cleanup();
    rmSync(dir, { recursive: true, force: true });
  });

  it('finishes in-flight handlers, commits and exits; a restart redelivers nothing that was completed', async () => {
    const bus = await world.newBus();
    const records: AnyPublishRecord[] = Array.from({ length: GAMES }, (_, i) => ({
      topic: 'gameRequested',
      key: `game-${i}`,
      value: gameRequested(`game-${i}`, 0),
    }));
    await bus.publishBatch(records);

    const out = join(dir, 'handled.jsonl');
    const settings: RecordingConsumerSettings = {
      prefix: world.prefix,
      groupId: world.groupId('drainer'),
      maxInFlight: 8,
      delayMs: [HANDLER_MS, HANDLER_MS],
      out,
      sessionTimeoutMs: 10_000,
      shutdownTimeoutMs: 10_000,
    };
    const first = world.spawnTs(busWorker('recording-consumer.ts'), { DG_BUS_WORKER: JSON.stringify(settings) });
    await workerReady(first, 30_000);
    await waitFor(() => readRecords(out).filter((r) => r.ev === 'start').length === GAMES, { timeoutMs: 30_000, what: 'every handler running' });
    expect(readRecords(out).some((r) => r.ev === 'done')).toBe(false);

    const signalledAt = Date.now();
    first.kill('SIGTERM');
    const exit = await workerExit(first, 15_000);
    const exitMs = Date.now() - signalledAt;
    expect(exit).toEqual({ code: 0, signal: null });
    expect(exitMs).toBeLessThan(settings.shutdownTimeoutMs);

    const byFirst = readRecords(out);
    const done = byFirst.filter((r) => r.ev === 'done');
    expect(done).toHaveLength(GAMES);
    expect(byFirst.at(-1)!.ev).toBe('closed');

    // Committed up to the end of every partition before the process exited.
    const [committed, high] = await Promise.all([world.committedOffsets(settings.groupId, 'gameRequested'), world.highWatermarks('gameRequested')]);
    for (const [partition, end] of high) {
      if (end > 0n) expect(committed.get(partition)).toBe(end);
    }

    // A restarted member of the group gets only what was published afterwards.
    const second = world.spawnTs(busWorker('recording-consumer.ts'), { DG_BUS_WORKER: JSON.stringify({ ...settings, delayMs: [0, 0] }) });
    await workerReady(second, 30_000);
    const sentinels = await Promise.all(
      [...high.keys()].map(async (partition) => {
        const [produced] = await world.produceRaw('gameRequested', [
          { key: `sentinel-${partition}`, value: await world.codec.encode('gameRequested', gameRequested(`sentinel-${partition}`, 1)), partition },
        ]);
        return `${partition}:${produced!.offset}`;
      }),
    );
    await waitFor(
      () => {
        const doneNow = new Set(
          readRecords(out)
            .filter((r) => r.pid === second.pid && r.ev === 'done')
            .map(coordinate),
        );
        return sentinels.every((s) => doneNow.has(s));
      },
      { timeoutMs: 30_000, what: 'the restarted consumer to handle the sentinels' },
    );
    second.kill('SIGTERM');
    await workerExit(second, 15_000);
    const bySecond = readRecords(out).filter((r) => r.pid === second.pid && r.ev === 'done');
    expect(bySecond.map((r) => r.key).sort()).toEqual([...high.keys()].map((p) => `sentinel-${p}`).sort());
  }, 120_000);
});
