import { loadFixture } from '../../schemas/fixtures';
import type { AnyPublishRecord } from '../../services/core/bus';
import { createBusTestWorld, type BusTestWorld } from '../helpers/bus-kit';
import { waitFor } from '../helpers/wait-for';

const KEYS = 50;
const PER_KEY = 20;
const PARTITIONS = 2;
const MAX_IN_FLIGHT = 16;

describe('ordering and concurrency (real Kafka)', () => {
  let world: BusTestWorld;

  beforeAll(async () => {
    world = await createBusTestWorld('ordering', { partitions: PARTITIONS });
  });
  afterAll(async () => {
    await world?.cleanup();
  });

  it(`keeps per-key order with ${KEYS} keys × ${PER_KEY} messages while up to ${MAX_IN_FLIGHT} handlers run at once`, async () => {
    const bus = await world.newBus();
    // Interleaved so every fetched batch mixes many keys on each partition.
    const records: AnyPublishRecord[] = [];
    for (let seq = 0; seq < PER_KEY; seq++) {
      for (let k = 0; k < KEYS; k++) {
        const gameId = `game-${k}`;
        const value = loadFixture('GameRequested');
        value.game.header.gameId = gameId;
        value.game.header.seed = seq;
        records.push({ topic: 'gameRequested', key: gameId, value });
      }
    }
    for (let i = 0; i < records.length; i += 250) await bus.publishBatch(records.slice(i, i + 250));

    const seen = new Map<string, number[]>();
    const partitionsByKey = new Map<string, Set<number>>();
    let running = 0;
    let maxRunning = 0;
    let maxRunningOnOnePartition = 0;
    const runningByPartition = new Map<number, number>();
    let handled = 0;
    await bus.subscribe({
      groupId: world.groupId('ordered'),
      topics: ['gameRequested'],
      maxInFlight: MAX_IN_FLIGHT,
      handler: async (event, ctx) => {
        running++;
        maxRunning = Math.max(maxRunning, running);
        runningByPartition.set(ctx.partition, (runningByPartition.get(ctx.partition) ?? 0) + 1);
        maxRunningOnOnePartition = Math.max(maxRunningOnOnePartition, runningByPartition.get(ctx.partition)!);
        await new Promise((resolve) => setTimeout(resolve, 1 + Math.random() * 9));
        const id = event.game.header.gameId;
        seen.set(id, [...(seen.get(id) ?? []), event.game.header.seed]);
        partitionsByKey.set(id, (partitionsByKey.get(id) ?? new Set()).add(ctx.partition));
        runningByPartition.set(ctx.partition, runningByPartition.get(ctx.partition)! - 1);
        running--;
        handled++;
      },
    });

    await waitFor(() => handled >= KEYS * PER_KEY, { timeoutMs: 60_000, what: `${KEYS * PER_KEY} messages handled` });
    expect(handled).toBe(KEYS * PER_KEY);
    const inOrder = Array.from({ length: PER_KEY }, (_, i) => i);
    for (let k = 0; k < KEYS; k++) expect(seen.get(`game-${k}`)).toEqual(inOrder);
    for (const partitions of partitionsByKey.values()) expect(partitions.size).toBe(1);
    // Concurrency really happened, also between keys of one partition, and never above the limit.
    expect(maxRunning).toBeGreaterThan(PARTITIONS);
    expect(maxRunningOnOnePartition).toBeGreaterThan(1);
    expect(maxRunning).toBeLessThanOrEqual(MAX_IN_FLIGHT);
  });
});
