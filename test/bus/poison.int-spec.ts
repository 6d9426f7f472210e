import { randomBytes } from 'node:crypto';
import { loadFixture } from '../../schemas/fixtures';
import type { DeadLetter } from '../../schemas/generated/events';
import { NonRetriableError, RetriableError } from '../../services/core/errors';
import { createBusTestWorld, type BusTestWorld } from '../helpers/bus-kit';
import { waitFor } from '../helpers/wait-for';

function gameRequested(gameId: string) {
  const value = loadFixture('GameRequested');
  value.game.header.gameId = gameId;
  return value;
}

/** Confluent framing around a schema id no registry has handed out. */
function unknownSchemaIdBytes(): Buffer {
  const framed = Buffer.alloc(5 + 16);
  framed.writeUInt8(0, 0);
  framed.writeUInt32BE(0x7ffffff0, 1);
  randomBytes(16).copy(framed, 5);
  return framed;
}

describe('dead letters (real Kafka + registry)', () => {
  // A world per test: each group reads its topics from the beginning.
  let world: BusTestWorld;

  beforeEach(async () => {
    world = await createBusTestWorld('poison', { partitions: 1 });
  });
  afterEach(async () => {
    await world?.cleanup();
  });

  it('routes random bytes and an unknown schema id to the dead-letter topic with coordinates and raw bytes, and handles the messages after them', async () => {
    const bus = await world.newBus();
    const valid = async (id: string) => await world.codec.encode('gameRequested', gameRequested(id));
    const garbage = randomBytes(64);
    const unknownId = unknownSchemaIdBytes();
    const produced = await world.produceRaw('gameRequested', [
      { key: 'g-1', value: await valid('g-1'), partition: 0 },
      { key: 'poison-random', value: garbage, partition: 0, headers: { origin: 'fuzzer' } },
      { key: 'g-2', value: await valid('g-2'), partition: 0 },
      { key: 'poison-schema', value: unknownId, partition: 0 },
      { key: 'g-3', value: await valid('g-3'), partition: 0 },
    ]);
    const firstOffset = BigInt(produced[0]!.offset);

    const handled: string[] = [];
    const groupId = world.groupId('players');
    await bus.subscribe({ groupId, topics: ['gameRequested'], handler: async (event) => void handled.push(event.game.header.gameId) });
    const deadLetters: DeadLetter[] = [];
    await bus.subscribe({ groupId: world.groupId('dlq-reader'), topics: ['deadLetter'], handler: async (event) => void deadLetters.push(event) });

    await waitFor(() => handled.length === 3 && deadLetters.length === 2, { timeoutMs: 30_000, what: '3 handled and 2 dead letters' });
    expect(handled).toEqual(['g-1', 'g-2', 'g-3']);

    const byKey = new Map(deadLetters.map((d) => [d.key?.toString(), d]));
    const random = byKey.get('poison-random')!;
    expect(random).toMatchObject({
      sourceTopic: world.topic('gameRequested'),
      sourcePartition: 0,
      sourceOffset: String(firstOffset + 1n),
      consumerGroup: groupId,
      errorKind: 'decode',
      errorName: 'DecodeError',
    });
    expect(random.value).toEqual(garbage);
    expect(random.headers.map((h) => [h.key, h.value?.toString()])).toEqual([['origin', 'fuzzer']]);

    const schema = byKey.get('poison-schema')!;
    expect(schema).toMatchObject({ sourcePartition: 0, sourceOffset: String(firstOffset + 3n), errorKind: 'decode', errorName: 'DecodeError' });
    expect(schema.errorMessage).toMatch(/unknown schema id/);
    expect(schema.value).toEqual(unknownId);

    // The partition kept flowing: everything, poison included, is committed.
    await waitFor(async () => (await world.committedOffsets(groupId, 'gameRequested')).get(0) === firstOffset + 5n, {
      timeoutMs: 10_000,
      what: 'commit past the poison',
    });
  });

  it('dead-letters a non-retriable handler failure at once, and retries a retriable one in place until it succeeds on the third attempt', async () => {
    const bus = await world.newBus();
    const groupId = world.groupId('flaky');
    const attemptsByGame = new Map<string, number[]>();
    const succeeded: string[] = [];
    await bus.subscribe({
      groupId,
      topics: ['gameRequested'],
      handler: async (event, ctx) => {
        const id = event.game.header.gameId;
        attemptsByGame.set(id, [...(attemptsByGame.get(id) ?? []), ctx.attempt]);
        if (id === 'bad') throw new NonRetriableError('this game cannot be played');
        if (id === 'flaky' && ctx.attempt < 3) throw new RetriableError(`model busy (attempt ${ctx.attempt})`);
        succeeded.push(id);
      },
    });
    const dlqBefore = (await world.highWatermarks('deadLetter')).get(0)!;
    const start = (await world.highWatermarks('gameRequested')).get(0)!;
    await bus.publish('gameRequested', 'bad', gameRequested('bad'));
    await bus.publish('gameRequested', 'flaky', gameRequested('flaky'));
    await bus.publish('gameRequested', 'fine', gameRequested('fine'));

    await waitFor(async () => (await world.committedOffsets(groupId, 'gameRequested')).get(0) === start + 3n, {
      timeoutMs: 30_000,
      what: 'all three finished and committed',
    });
    expect(attemptsByGame.get('bad')).toEqual([1]);
    expect(attemptsByGame.get('flaky')).toEqual([1, 2, 3]);
    expect(succeeded.sort()).toEqual(['fine', 'flaky']);

    // Exactly one dead letter was written, for the non-retriable failure.
    expect((await world.highWatermarks('deadLetter')).get(0)! - dlqBefore).toBe(1n);
    const letters: DeadLetter[] = [];
    await bus.subscribe({ groupId: world.groupId('dlq-reader-2'), topics: ['deadLetter'], handler: async (event) => void letters.push(event) });
    await waitFor(() => letters.some((l) => l.key?.toString() === 'bad'), { timeoutMs: 15_000, what: 'the dead letter of "bad"' });
    const letter = letters.find((l) => l.key?.toString() === 'bad')!;
    expect(letter).toMatchObject({
      errorKind: 'handler',
      errorName: 'NonRetriableError',
      errorMessage: 'this game cannot be played',
      attempts: 1,
      consumerGroup: groupId,
      sourceOffset: String(start),
    });
    expect(letters.some((l) => l.key?.toString() === 'flaky')).toBe(false);
  });
});
