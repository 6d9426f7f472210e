import { loadFixture } from '../../schemas/fixtures';
import { TOPIC_KEYS, TOPICS, type TopicKey } from '../../schemas/topics';
import type { MessageContext } from '../../services/core/bus';
import { createBusTestWorld, type BusTestWorld } from '../helpers/bus-kit';
import { waitFor } from '../helpers/wait-for';

/** Every event type through the real broker and registry: what a handler receives equals what was published. */
describe('bus round trip (real Kafka + registry)', () => {
  let world: BusTestWorld;

  beforeAll(async () => {
    world = await createBusTestWorld('roundtrip', { partitions: 1 });
  });
  afterAll(async () => {
    await world?.cleanup();
  });

  it('publishes and consumes one fixture of every event type, decoded equal to sent', async () => {
    const bus = await world.newBus();
    const received = new Map<TopicKey, { event: unknown; ctx: MessageContext }>();
    await bus.subscribe({
      groupId: world.groupId('all-topics'),
      topics: TOPIC_KEYS,
      handler: async (event, ctx) => {
        received.set(ctx.topicKey, { event, ctx });
      },
    });

    const sent = new Map<TopicKey, unknown>();
    for (const key of TOPIC_KEYS) {
      const value = loadFixture(TOPICS[key].valueEvent);
      sent.set(key, value);
      await bus.publish(key, `game-${key}`, value as never, { 'x-test': key });
    }

    await waitFor(() => received.size === TOPIC_KEYS.length, { timeoutMs: 30_000, what: 'one event per topic' });
    for (const key of TOPIC_KEYS) {
      const got = received.get(key)!;
      expect(got.event).toEqual(sent.get(key));
      expect(got.ctx.eventName).toBe(TOPICS[key].valueEvent);
      expect(got.ctx.topic).toBe(world.topic(key));
      expect(got.ctx.key).toBe(`game-${key}`);
      expect(got.ctx.header('x-test')).toBe(key);
      expect(got.ctx.schemaId).toBeGreaterThan(0);
    }
  });

  it('publishBatch writes records of several topics in one call, and a batch with one invalid value writes nothing', async () => {
    const bus = await world.newBus();
    const before = await world.highWatermarks('questionAsked');
    const question = loadFixture('QuestionAsked');
    const answer = loadFixture('AnswerGiven');
    const produced = await bus.publishBatch([
      { topic: 'questionAsked', key: 'g1', value: question },
      { topic: 'answerGiven', key: 'g1', value: answer },
    ]);
    expect(produced.map((p) => p.topic).sort()).toEqual([world.topic('answerGiven'), world.topic('questionAsked')]);

    const broken = { ...question, question: 42 } as unknown as typeof question;
    await expect(
      bus.publishBatch([
        { topic: 'questionAsked', key: 'g2', value: question },
        { topic: 'questionAsked', key: 'g2', value: broken },
      ]),
    ).rejects.toThrow(/question/);
    const after = await world.highWatermarks('questionAsked');
    expect(after.get(0)! - before.get(0)!).toBe(1n);
  });
});
