import { loadFixture } from '../../schemas/fixtures';
import { createBusTestWorld, type BusTestWorld } from '../helpers/bus-kit';
import { waitFor } from '../helpers/wait-for';

const SESSION_TIMEOUT_MS = 6_000; // the broker's minimum
const HANDLER_MS = 7_500;

/**
 * Handlers longer than the session timeout must not cost the member its place in the group: the
 * bus heartbeats while it waits for them. Losing the session would show as a second generation and
 * the first message handled twice (its offset was not committed yet).
 */
describe('long handlers keep the consumer in its group (real Kafka)', () => {
  let world: BusTestWorld;

  beforeAll(async () => {
    world = await createBusTestWorld('heartbeat', { partitions: 1, topics: ['gameRequested', 'deadLetter'] });
  });
  afterAll(async () => {
    await world?.cleanup();
  });

  it(`handles two ${HANDLER_MS} ms messages with a ${SESSION_TIMEOUT_MS} ms session timeout, exactly once each, without a rebalance`, async () => {
    const bus = await world.newBus({ consumer: { sessionTimeoutMs: SESSION_TIMEOUT_MS, heartbeatIntervalMs: 1_000 } });
    for (const id of ['slow-1', 'slow-2']) {
      const value = loadFixture('GameRequested');
      value.game.header.gameId = id;
      await bus.publish('gameRequested', id, value);
    }
    const handled: string[] = [];
    const groupId = world.groupId('patient');
    // One at a time and no buffer: while the first runs, the second waits for room inside the
    // fetch loop, which is where kafkajs alone would stop heartbeating.
    const subscription = await bus.subscribe({
      groupId,
      topics: ['gameRequested'],
      maxInFlight: 1,
      maxBuffered: 1,
      handler: async (event) => {
        await new Promise((resolve) => setTimeout(resolve, HANDLER_MS));
        handled.push(event.game.header.gameId);
      },
    });
    expect(subscription.stats().generation).toBe(1);
    await waitFor(async () => (await world.committedOffsets(groupId, 'gameRequested')).get(0) === 2n, {
      timeoutMs: 3 * HANDLER_MS,
      intervalMs: 200,
      what: 'both committed',
    });
    expect(handled).toEqual(['slow-1', 'slow-2']);
    expect(subscription.stats().generation).toBe(1);
  }, 60_000);
});
