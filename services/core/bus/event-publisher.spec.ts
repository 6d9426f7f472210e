import { EventPublisher } from './event-publisher';
import { produceRequestStats, publishAckStats } from './hop-stats';
import type { KafkaProducerPort, OutboundRecord, ProducedRecord } from './kafka-client';
import type { WireCodec } from './wire-codec';
import type { TopicEvent } from '../../../schemas/topics';

const codec: WireCodec = {
  topicPrefix: 't.',
  encode: async (_topic, value) => Buffer.from(JSON.stringify(value)),
  decode: async () => {
    throw new Error('not used');
  },
};

/** A producer whose requests complete only when the test says so. */
class ManualProducer implements KafkaProducerPort {
  readonly requests: OutboundRecord[][] = [];
  private readonly waiting: Array<{ resolve: (r: ProducedRecord[]) => void; reject: (e: unknown) => void }> = [];
  async connect(): Promise<void> {}
  async disconnect(): Promise<void> {}
  send(records: OutboundRecord[]): Promise<ProducedRecord[]> {
    this.requests.push(records);
    return new Promise((resolve, reject) => this.waiting.push({ resolve, reject }));
  }
  complete(): void {
    this.waiting.shift()!.resolve([]);
  }
  fail(error: Error): void {
    this.waiting.shift()!.reject(error);
  }
}

const event = (id: string) => ({ id }) as unknown as TopicEvent<'gameRequested'>;
const flush = () => new Promise((r) => setImmediate(r));

describe('EventPublisher', () => {
  it("records each publish's wait for the broker's acknowledgement, including the wait behind the request in flight, and each request's round trip", async () => {
    const producer = new ManualProducer();
    const publisher = new EventPublisher(producer, codec, 't.');
    publishAckStats.reset();
    produceRequestStats.reset();
    let now = 1_000;
    const clock = jest.spyOn(Date, 'now').mockImplementation(() => now);
    try {
      const first = publisher.publish('gameRequested', 'g0', event('0'));
      await flush();
      now = 1_010;
      const second = publisher.publish('gameRequested', 'g1', event('1'));
      await flush();
      now = 1_030;
      producer.complete();
      await first;
      await flush();
      now = 1_050;
      producer.complete();
      await second;
      // First: sent at once, acked after 30 ms. Second: waited 20 ms behind it, then its own round trip.
      expect(publishAckStats.snapshot().samples).toEqual([30, 40]);
      // Two requests: the first's round trip 30 ms (1,000 → 1,030), the second's 20 ms (1,030 → 1,050).
      expect(produceRequestStats.snapshot().samples).toEqual([30, 20]);
    } finally {
      clock.mockRestore();
    }
  });

  it('sends at once when idle, and coalesces what is published while a request is in flight, in order', async () => {
    const producer = new ManualProducer();
    const publisher = new EventPublisher(producer, codec, 't.');
    const first = publisher.publish('gameRequested', 'g0', event('0'));
    await flush();
    expect(producer.requests).toHaveLength(1);
    const rest = ['1', '2', '3'].map((id) => publisher.publish('gameRequested', `g${id}`, event(id)));
    await flush();
    expect(producer.requests).toHaveLength(1);
    producer.complete();
    await first;
    await flush();
    expect(producer.requests).toHaveLength(2);
    expect(producer.requests[1]!.map((r) => r.key)).toEqual(['g1', 'g2', 'g3']);
    expect(producer.requests[1]![0]!.topic).toBe('t.game-requested');
    producer.complete();
    await Promise.all(rest);
  });

  it('fails every publish of a failed request and keeps going with the next', async () => {
    const producer = new ManualProducer();
    const publisher = new EventPublisher(producer, codec, 't.');
    const first = publisher.publish('gameRequested', 'a', event('a'));
    await flush();
    const second = publisher.publish('gameRequested', 'b', event('b'));
    const third = publisher.publish('gameRequested', 'c', event('c'));
    await flush();
    producer.complete();
    await first;
    await flush();
    producer.fail(new Error('broker gone'));
    await expect(second).rejects.toThrow('broker gone');
    await expect(third).rejects.toThrow('broker gone');
    const fourth = publisher.publish('gameRequested', 'd', event('d'));
    await flush();
    producer.complete();
    await expect(fourth).resolves.toBeUndefined();
    expect(producer.requests.map((r) => r.length)).toEqual([1, 2, 1]);
  });
});
