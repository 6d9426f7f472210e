import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadFixture } from '../../schemas/fixtures';
import type { AnyPublishRecord } from '../../services/core/bus';
import { busWorker, createBusTestWorld, type BusTestWorld } from '../helpers/bus-kit';
import { waitFor } from '../helpers/wait-for';
import { coordinate, readRecords, workerExit, workerReady } from './worker-process';
import type { RecordingConsumerSettings } from './workers/recording-consumer';

const KEYS = 20;
const PER_KEY = 10;
const TOTAL = KEYS * PER_KEY;

/**
 * A consumer process is SIGKILLed mid-flight (no drain, no leave) and a new one takes over the
 * group. Nothing may be skipped: whatever the dead consumer committed it had handled, and the new
 * one handles everything from the committed offsets on.
 */
describe('crash and restart (real Kafka, child processes)', () => {
  let world: BusTestWorld;
  let dir: string;

  beforeAll(async () => {
    world = await createBusTestWorld('crash', { partitions: 2, topics: ['gameRequested', 'deadLetter'] });
    dir = mkdtempSync(join(tmpdir(), 'dg-bus-crash-'));
  });
  afterAll(async () => {
    await world?.cleanup();
    rmSync(dir, { recursive: true, force: true });
  });

  it('re-handles every uncommitted message after SIGKILL and skips none', async () => {
    const bus = await world.newBus();
    const records: AnyPublishRecord[] = [];
    for (let seq = 0; seq < PER_KEY; seq++) {
      for (let k = 0; k < KEYS; k++) {
        const value = loadFixture('GameRequested');
        value.game.header.gameId = `game-${k}`;
        value.game.header.seed = seq;
        records.push({ topic: 'gameRequested', key: `game-${k}`, value });
      }
    }
    await bus.publishBatch(records);
    const high = await world.highWatermarks('gameRequested');
    const allCoordinates = [...high].flatMap(([partition, end]) => Array.from({ length: Number(end) }, (_, offset) => `${partition}:${offset}`));
    expect(allCoordinates).toHaveLength(TOTAL);

    const out = join(dir, 'handled.jsonl');
    const settings: RecordingConsumerSettings = {
      prefix: world.prefix,
      groupId: world.groupId('crashy'),
      maxInFlight: 8,
      delayMs: [20, 60],
      out,
      // The broker's minimum: the killed member holds its partitions until its session expires.
      sessionTimeoutMs: 6_000,
      shutdownTimeoutMs: 5_000,
    };
    const first = world.spawnTs(busWorker('recording-consumer.ts'), { DG_BUS_WORKER: JSON.stringify(settings) });
    await workerReady(first, 30_000);
    await waitFor(() => readRecords(out).filter((r) => r.ev === 'done').length >= TOTAL / 3, { timeoutMs: 30_000, what: 'a third handled' });
    first.kill('SIGKILL');
    await workerExit(first, 10_000);

    const byFirst = readRecords(out).filter((r) => r.pid === first.pid);
    const doneByFirst = new Set(byFirst.filter((r) => r.ev === 'done').map(coordinate));
    const startedNotDone = byFirst.filter((r) => r.ev === 'start' && !doneByFirst.has(coordinate(r)));
    expect(doneByFirst.size).toBeLessThan(TOTAL);
    expect(startedNotDone.length).toBeGreaterThan(0); // killed with handlers in flight

    // Invariant 1: the dead consumer committed nothing it had not handled.
    const committed = await world.committedOffsets(settings.groupId, 'gameRequested');
    for (const [partition, offset] of committed) {
      for (let o = 0n; o < offset; o++) expect(doneByFirst.has(`${partition}:${o}`)).toBe(true);
    }

    const second = world.spawnTs(busWorker('recording-consumer.ts'), { DG_BUS_WORKER: JSON.stringify(settings) });
    await workerReady(second, 30_000);
    await waitFor(
      () => {
        const done = new Set(
          readRecords(out)
            .filter((r) => r.ev === 'done')
            .map(coordinate),
        );
        return allCoordinates.every((c) => done.has(c));
      },
      { timeoutMs: 60_000, what: 'every message handled at least once' },
    );
    second.kill('SIGTERM');
    await workerExit(second, 15_000);

    // Invariant 2: the new consumer handled everything from the committed offsets on.
    const all = readRecords(out);
    const doneBySecond = new Set(all.filter((r) => r.pid === second.pid && r.ev === 'done').map(coordinate));
    for (const [partition, end] of high) {
      const from = committed.get(partition) ?? -1n;
      for (let o = from < 0n ? 0n : from; o < end; o++) expect(doneBySecond.has(`${partition}:${o}`)).toBe(true);
    }
    // Every (game, seq) was handled; the uncommitted in-flight ones more than once.
    const distinct = new Set(all.filter((r) => r.ev === 'done').map((r) => `${r.key}#${r.seq}`));
    expect(distinct.size).toBe(TOTAL);
    for (const inFlight of startedNotDone) expect(doneBySecond.has(coordinate(inFlight))).toBe(true);
  }, 120_000);
});
