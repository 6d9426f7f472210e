import { loadFixture } from '../../schemas/fixtures';
import type { AnyPublishRecord, Subscription } from '../../services/core/bus';
import { createBusTestWorld, type BusTestWorld } from '../helpers/bus-kit';
import { waitFor } from '../helpers/wait-for';

const PARTITIONS = 4;
const KEYS = 40;
const PER_KEY = 10;
const TOTAL = KEYS * PER_KEY;

/**
 * A second member joins while the first has handlers in flight, so partitions move mid-flight. At
 * every moment the committed offsets must lie at or below what has been handled (no stale commit
 * of a revoked partition may skip anything), and in the end every message is handled.
 */
describe('rebalance while handlers run (real Kafka)', () => {
  let world: BusTestWorld;

  beforeAll(async () => {
    world = await createBusTestWorld('rebalance', { partitions: PARTITIONS, topics: ['gameRequested', 'deadLetter'] });
  });
  afterAll(async () => {
    await world?.cleanup();
  });

  it('never commits past an unhandled message and handles everything when a member joins mid-flight', async () => {
    const publisher = await world.newBus();
    const records: AnyPublishRecord[] = [];
    for (let seq = 0; seq < PER_KEY; seq++) {
      for (let k = 0; k < KEYS; k++) {
        const value = loadFixture('GameRequested');
        value.game.header.gameId = `game-${k}`;
        value.game.header.seed = seq;
        records.push({ topic: 'gameRequested', key: `game-${k}`, value });
      }
    }
    await publisher.publishBatch(records);
    const high = await world.highWatermarks('gameRequested');

    const groupId = world.groupId('sharing');
    const done = new Set<string>();
    const handler = async (_event: unknown, ctx: { partition: number; offset: string }): Promise<void> => {
      await new Promise((resolve) => setTimeout(resolve, 10 + Math.random() * 30));
      done.add(`${ctx.partition}:${ctx.offset}`);
    };
    const violations: string[] = [];
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        const committed = await world.committedOffsets(groupId, 'gameRequested');
        // Read after the commit: anything below a commit was handled before it was committed.
        const handledNow = new Set(done);
        for (const [partition, offset] of committed) {
          for (let o = 0n; o < offset; o++)
            if (!handledNow.has(`${partition}:${o}`)) violations.push(`${partition}:${o} committed (at ${offset}) before it was handled`);
        }
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    })();

    const first = await (await world.newBus()).subscribe({ groupId, topics: ['gameRequested'], maxInFlight: 8, handler });
    await waitFor(() => done.size >= TOTAL / 4, { timeoutMs: 30_000, what: 'a quarter handled by the first member' });
    const second: Subscription = await (await world.newBus()).subscribe({ groupId, topics: ['gameRequested'], maxInFlight: 8, handler });

    await waitFor(() => done.size === TOTAL, { timeoutMs: 60_000, what: 'every message handled' });
    await waitFor(
      async () => {
        const committed = await world.committedOffsets(groupId, 'gameRequested');
        return [...high].every(([partition, end]) => committed.get(partition) === end);
      },
      { timeoutMs: 30_000, what: 'everything committed' },
    );
    sampling = false;
    await sampler;

    expect(violations).toEqual([]);
    // The join really moved partitions: both members ended up with a share.
    expect(first.stats().generation).toBeGreaterThan(1);
    expect(first.stats().assignment.flatMap((a) => a.partitions).length).toBeGreaterThan(0);
    expect(second.stats().assignment.flatMap((a) => a.partitions).length).toBeGreaterThan(0);
  }, 120_000);
});
