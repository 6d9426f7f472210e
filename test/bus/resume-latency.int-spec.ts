import { loadFixture } from '../../schemas/fixtures';
import { RetriableError } from '../../services/core/errors';
import { createBusTestWorld, type BusTestWorld } from '../helpers/bus-kit';
import { waitFor } from '../helpers/wait-for';

/**
 * A consumer that stopped taking messages (buffer full, or its only partition stalled on a
 * dependency) must take the next message as soon as it can again, not one fetch wait later.
 * kafkajs 2.2.4 sleeps a whole maxWaitTime when a fetch finds every partition paused, and nothing
 * wakes that sleep; these tests configure a 9 s fetch wait so such a sleep is unmistakable, and
 * allow a third of it. This is a structural check (a gap of one whole fetch wait or none), not a
 * timing figure: performance lives in the bench.
 */
const MAX_WAIT_MS = 9_000;
const ALLOWED_MS = MAX_WAIT_MS / 3;

function gameRequested(gameId: string) {
  const value = loadFixture('GameRequested');
  value.game.header.gameId = gameId;
  return value;
}

/** A gate the test opens; handlers await it. */
function gate(): { opened: Promise<void>; open(): void } {
  let open!: () => void;
  const opened = new Promise<void>((resolve) => (open = resolve));
  return { opened, open };
}

describe('a consumer resumes at once after it stopped taking messages (real Kafka)', () => {
  let world: BusTestWorld;

  beforeEach(async () => {
    world = await createBusTestWorld('resume', { partitions: 1, topics: ['gameRequested', 'deadLetter'] });
  });
  afterEach(async () => {
    await world?.cleanup();
  });

  it(`starts the next message within ${ALLOWED_MS} ms once a full buffer drains (fetch wait ${MAX_WAIT_MS} ms)`, async () => {
    const bus = await world.newBus({ consumer: { maxWaitTimeMs: MAX_WAIT_MS } });
    // Exactly maxBuffered messages: the last one fills the buffer, and the batch is then done, so
    // the fetch loop goes on while every slot is taken.
    for (let i = 0; i < 4; i++) await bus.publish('gameRequested', `held-${i}`, gameRequested(`held-${i}`));
    const held = gate();
    const started = new Map<string, number>();
    const subscription = await bus.subscribe({
      groupId: world.groupId('full'),
      topics: ['gameRequested'],
      maxInFlight: 2,
      maxBuffered: 4,
      handler: async (event) => {
        const id = event.game.header.gameId;
        started.set(id, Date.now());
        if (id.startsWith('held-')) await held.opened;
      },
    });
    await waitFor(() => started.size === 2 && subscription.stats().pending === 4 && subscription.stats().backpressured, {
      timeoutMs: 30_000,
      what: 'two running, four buffered, backpressure on',
    });
    await bus.publish('gameRequested', 'next', gameRequested('next'));
    // The next message cannot start while the buffer is full.
    await waitFor(async () => (await world.highWatermarks('gameRequested')).get(0) === 5n, { timeoutMs: 10_000, what: 'the next message in the log' });
    expect(started.has('next')).toBe(false);

    const releasedAt = Date.now();
    held.open();
    await waitFor(() => started.has('next'), { timeoutMs: 4 * MAX_WAIT_MS, what: 'the next message to start' });
    const gapMs = started.get('next')! - releasedAt;
    process.stdout.write(`resume-latency: next message started ${gapMs} ms after the buffer was released\n`);
    expect(gapMs).toBeLessThan(ALLOWED_MS);
    expect([...started.keys()].sort()).toEqual(['held-0', 'held-1', 'held-2', 'held-3', 'next']);
  }, 120_000);

  it(`starts the message after a stall within ${ALLOWED_MS} ms of the recovery, and not before it, when the stalled partition is the only one`, async () => {
    const bus = await world.newBus({
      consumer: { maxWaitTimeMs: MAX_WAIT_MS },
      handlerRetry: { maxAttempts: 2, initialDelayMs: 10, maxDelayMs: 50 },
    });
    let dependencyUp = false;
    let recoveredAt = 0;
    const started = new Map<string, number>();
    await bus.publish('gameRequested', 'stuck', gameRequested('stuck'));
    const subscription = await bus.subscribe({
      groupId: world.groupId('stall'),
      topics: ['gameRequested'],
      handler: async (event) => {
        const id = event.game.header.gameId;
        if (!started.has(id)) started.set(id, Date.now());
        if (id === 'stuck') {
          if (!dependencyUp) throw new RetriableError('dependency down (test)');
          recoveredAt = Date.now();
        }
      },
    });
    await waitFor(() => subscription.stats().stalled === 1, { timeoutMs: 30_000, what: 'the message to stall' });
    await bus.publish('gameRequested', 'after', gameRequested('after'));
    await waitFor(async () => (await world.highWatermarks('gameRequested')).get(0) === 2n, { timeoutMs: 10_000, what: 'the next message in the log' });
    // A stalled partition takes nothing new: several more failed retries later, 'after' has not started.
    const retries = subscription.stats().stallRetries;
    await waitFor(() => subscription.stats().stallRetries >= retries + 5, { timeoutMs: 10_000, what: 'five more stalled retries' });
    expect(started.has('after')).toBe(false);

    dependencyUp = true;
    await waitFor(() => started.has('after') && recoveredAt > 0, { timeoutMs: 4 * MAX_WAIT_MS, what: 'the message after the stall to start' });
    const gapMs = started.get('after')! - recoveredAt;
    process.stdout.write(`resume-latency: message after the stall started ${gapMs} ms after the recovery\n`);
    expect(gapMs).toBeLessThan(ALLOWED_MS);
    expect(subscription.stats().stalled).toBe(0);
  }, 120_000);
});
