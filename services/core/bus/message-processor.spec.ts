import type { DeadLetter } from '../../../schemas/generated/events';
import { DecodeError, NonRetriableError, RetriableError, sleep } from '../errors';
import { configureLogging, createLogger, resetLogging } from '../logging';
import type { InboundMessage } from './kafka-client';
import { MessageProcessor, type MessageProcessorDeps } from './message-processor';
import type { DecodedValue, WireCodec } from './wire-codec';

const message: InboundMessage = {
  topic: 'test.game-requested',
  partition: 2,
  offset: '41',
  key: Buffer.from('game-7'),
  value: Buffer.from([0, 0, 0, 0, 1, 2]),
  headers: [{ key: 'trace', value: Buffer.from('abc') }],
  timestamp: '1700000000000',
};

function codecReturning(result: DecodedValue | Error): WireCodec {
  return {
    topicPrefix: 'test.',
    encode: async () => Buffer.alloc(0),
    decode: async () => {
      if (result instanceof Error) throw result;
      return result;
    },
  };
}

const gameRequested: DecodedValue = { value: { game: 'state' }, schemaId: 1, eventName: 'GameRequested' };

function processor(overrides: Partial<MessageProcessorDeps<'gameRequested'>>): { processor: MessageProcessor<'gameRequested'>; deadLetters: DeadLetter[] } {
  const deadLetters: DeadLetter[] = [];
  const deps: MessageProcessorDeps<'gameRequested'> = {
    groupId: 'group-a',
    codec: codecReturning(gameRequested),
    handler: async () => {},
    publishDeadLetter: async (record) => void deadLetters.push(record),
    heartbeat: async () => {},
    handlerRetry: { maxAttempts: 4, initialDelayMs: 1, maxDelayMs: 5 },
    deadLetterBackoff: { initialDelayMs: 1, maxDelayMs: 5 },
    logger: createLogger('test'),
    signal: new AbortController().signal,
    retryTiming: { sleep: async () => {} },
    ...overrides,
  };
  return { processor: new MessageProcessor(deps), deadLetters };
}

beforeAll(() => {
  // Dead-lettering logs warnings by design; keep test output readable.
  jest.spyOn(process.stderr, 'write').mockImplementation(() => true);
});
afterAll(() => jest.restoreAllMocks());

describe('MessageProcessor', () => {
  it('hands the decoded event and its coordinates to the handler', async () => {
    const seen: unknown[] = [];
    const { processor: p, deadLetters } = processor({
      handler: async (event, ctx) => {
        seen.push(event, ctx.topic, ctx.partition, ctx.offset, ctx.key, ctx.eventName, ctx.attempt, ctx.header('trace'), ctx.groupId);
      },
    });
    await expect(p.process(message, 'gameRequested')).resolves.toBe('handled');
    expect(seen).toEqual([{ game: 'state' }, 'test.game-requested', 2, '41', 'game-7', 'GameRequested', 1, 'abc', 'group-a']);
    expect(deadLetters).toEqual([]);
  });

  it('dead-letters undecodable bytes with coordinates, raw bytes and the cause', async () => {
    const { processor: p, deadLetters } = processor({ codec: codecReturning(new DecodeError('unknown schema id 999')) });
    await expect(p.process(message, 'gameRequested')).resolves.toBe('dead-lettered');
    expect(deadLetters).toHaveLength(1);
    expect(deadLetters[0]).toMatchObject({
      sourceTopic: 'test.game-requested',
      sourcePartition: 2,
      sourceOffset: '41',
      key: Buffer.from('game-7'),
      value: message.value,
      headers: [{ key: 'trace', value: Buffer.from('abc') }],
      consumerGroup: 'group-a',
      errorKind: 'decode',
      errorName: 'DecodeError',
      errorMessage: 'unknown schema id 999',
      attempts: 1,
    });
  });

  it('dead-letters an empty value without calling the codec', async () => {
    const decode = jest.fn();
    const { processor: p, deadLetters } = processor({ codec: { topicPrefix: 'test.', encode: async () => Buffer.alloc(0), decode } });
    await expect(p.process({ ...message, value: null }, 'gameRequested')).resolves.toBe('dead-lettered');
    expect(decode).not.toHaveBeenCalled();
    expect(deadLetters[0]).toMatchObject({ errorKind: 'decode', value: null });
  });

  it('dead-letters an event the topic does not carry', async () => {
    const { processor: p, deadLetters } = processor({ codec: codecReturning({ value: {}, schemaId: 3, eventName: 'GameEnded' }) });
    await expect(p.process(message, 'gameRequested')).resolves.toBe('dead-lettered');
    expect(deadLetters[0]).toMatchObject({ errorKind: 'unexpected-event' });
    expect(deadLetters[0]!.errorMessage).toMatch(/GameRequested.*GameEnded/);
  });

  it('dead-letters a non-retriable handler failure after one attempt', async () => {
    const handler = jest.fn(async () => {
      throw new NonRetriableError('bad game');
    });
    const { processor: p, deadLetters } = processor({ handler });
    await expect(p.process(message, 'gameRequested')).resolves.toBe('dead-lettered');
    expect(handler).toHaveBeenCalledTimes(1);
    expect(deadLetters[0]).toMatchObject({ errorKind: 'handler', errorName: 'NonRetriableError', errorMessage: 'bad game', attempts: 1 });
    expect(deadLetters[0]!.errorStack).toContain('bad game');
  });

  it('retries a retriable failure in place and succeeds on the third attempt', async () => {
    const attempts: number[] = [];
    const { processor: p, deadLetters } = processor({
      handler: async (_event, ctx) => {
        attempts.push(ctx.attempt);
        if (ctx.attempt < 3) throw new RetriableError('model busy');
      },
    });
    await expect(p.process(message, 'gameRequested')).resolves.toBe('handled');
    expect(attempts).toEqual([1, 2, 3]);
    expect(deadLetters).toEqual([]);
  });

  describe('a retriable failure that outlasts the retry budget (a dependency outage)', () => {
    let lines: Array<Record<string, unknown>>;
    beforeEach(() => {
      lines = [];
      configureLogging({ write: (line) => void lines.push(JSON.parse(line) as Record<string, unknown>) });
    });
    afterEach(() => resetLogging());

    it('is never dead-lettered: it stalls, keeps retrying past the budget and is handled once the dependency returns', async () => {
      const events: string[] = [];
      const handler = jest.fn(async (_event: unknown, ctx: { attempt: number }) => {
        if (ctx.attempt < 12) throw new RetriableError('clickhouse unreachable');
      });
      const { processor: p, deadLetters } = processor({
        handler,
        onStall: (m) => void events.push(`stall ${m.partition}@${m.offset}`),
        onStallRetry: () => void events.push('retry'),
        onStallEnd: (m) => void events.push(`end ${m.partition}@${m.offset}`),
      });
      await expect(p.process(message, 'gameRequested')).resolves.toBe('handled');
      expect(handler).toHaveBeenCalledTimes(12);
      expect(deadLetters).toEqual([]);
      // The budget is 4 attempts; the other 8 happen stalled.
      expect(events).toEqual(['stall 2@41', ...Array(8).fill('retry'), 'end 2@41']);
      const alarm = lines.find((l) => l.alarm === 'bus.stalled');
      expect(alarm).toMatchObject({ level: 'error', stage: 'handler', attempts: 4, offset: '41', gameId: 'game-7' });
      expect(lines.some((l) => l.alarm === 'bus.stall-cleared')).toBe(true);
    });

    it('backs off with a growing window capped at maxDelayMs and repeats the alarm at its interval', async () => {
      let clock = 0;
      const delays: number[] = [];
      const { processor: p } = processor({
        handlerRetry: { maxAttempts: 2, initialDelayMs: 10, maxDelayMs: 80 },
        stallAlarmIntervalMs: 200,
        now: () => clock,
        // random() = 1 - epsilon: the full window each time.
        retryTiming: {
          random: () => 0.999999,
          sleep: async (ms) => {
            delays.push(ms);
            clock += ms;
          },
        },
        handler: async (_event, ctx) => {
          if (ctx.attempt < 10) throw new RetriableError('down');
        },
      });
      await expect(p.process(message, 'gameRequested')).resolves.toBe('handled');
      // The first delay is the normal budget's; the stall continues the series: 20, 40, 80, then capped.
      expect(delays).toEqual([9, 19, 39, 79, 79, 79, 79, 79, 79]);
      const alarms = lines.filter((l) => l.alarm === 'bus.stalled');
      // Stalled from t=9 to t=521: alarms at 9 and then at least every 200 ms.
      expect(alarms.length).toBe(3);
      expect(alarms.map((a) => a.stalledForMs)).toEqual([0, 216, 453]);
    });

    it('is dead-lettered as a handler failure when a later attempt fails for good', async () => {
      const onStallEnd = jest.fn();
      const { processor: p, deadLetters } = processor({
        onStallEnd,
        handler: async (_event, ctx) => {
          if (ctx.attempt < 6) throw new RetriableError('still down');
          throw new NonRetriableError('row rejected');
        },
      });
      await expect(p.process(message, 'gameRequested')).resolves.toBe('dead-lettered');
      expect(deadLetters).toHaveLength(1);
      expect(deadLetters[0]).toMatchObject({ errorKind: 'handler', errorMessage: 'row rejected', attempts: 6 });
      expect(onStallEnd).toHaveBeenCalledTimes(1);
    });

    it('gives up at once when shutdown starts draining, unfinished (redelivered), not dead-lettered', async () => {
      const draining = new AbortController();
      let calls = 0;
      const onStallEnd = jest.fn();
      const { processor: p, deadLetters } = processor({
        draining: draining.signal,
        onStallEnd,
        retryTiming: { sleep },
        handlerRetry: { maxAttempts: 2, initialDelayMs: 1, maxDelayMs: 60_000 },
        handler: async () => {
          calls++;
          if (calls === 5) draining.abort();
          throw new RetriableError('down');
        },
      });
      const started = Date.now();
      await expect(p.process(message, 'gameRequested')).resolves.toBe('abandoned');
      expect(Date.now() - started).toBeLessThan(10_000);
      expect(deadLetters).toEqual([]);
      expect(onStallEnd).toHaveBeenCalledTimes(1);
    });

    it('stalls a registry outage during decode the same way, then handles the message', async () => {
      let calls = 0;
      const onStall = jest.fn();
      const codec: WireCodec = {
        topicPrefix: 'test.',
        encode: async () => Buffer.alloc(0),
        decode: async () => {
          calls++;
          if (calls < 9) throw new RetriableError('registry unreachable');
          return gameRequested;
        },
      };
      const handler = jest.fn(async () => {});
      const { processor: p, deadLetters } = processor({ codec, handler, onStall });
      await expect(p.process(message, 'gameRequested')).resolves.toBe('handled');
      expect(calls).toBe(9);
      expect(onStall).toHaveBeenCalledTimes(1);
      expect(handler).toHaveBeenCalledTimes(1);
      expect(deadLetters).toEqual([]);
    });
  });

  it('keeps retrying the dead-letter produce until it succeeds', async () => {
    let calls = 0;
    const { processor: p } = processor({
      codec: codecReturning(new DecodeError('garbage')),
      publishDeadLetter: async () => {
        calls++;
        if (calls < 7) throw new NonRetriableError('broker said no');
      },
    });
    await expect(p.process(message, 'gameRequested')).resolves.toBe('dead-lettered');
    expect(calls).toBe(7);
  });

  it('abandons (does not finish) a message whose dead letter cannot be written before shutdown gives up', async () => {
    const abort = new AbortController();
    let calls = 0;
    const { processor: p } = processor({
      codec: codecReturning(new DecodeError('garbage')),
      signal: abort.signal,
      retryTiming: { sleep },
      publishDeadLetter: async () => {
        calls++;
        if (calls === 3) abort.abort();
        throw new RetriableError('broker unreachable');
      },
    });
    await expect(p.process(message, 'gameRequested')).resolves.toBe('abandoned');
  });

  it('abandons a handler that is still retrying when shutdown gives up', async () => {
    const abort = new AbortController();
    const { processor: p, deadLetters } = processor({
      signal: abort.signal,
      handler: async () => {
        abort.abort();
        throw new RetriableError('model busy');
      },
    });
    await expect(p.process(message, 'gameRequested')).resolves.toBe('abandoned');
    expect(deadLetters).toEqual([]);
  });

  it('retries a registry outage during decode, then handles the message', async () => {
    let calls = 0;
    const codec: WireCodec = {
      topicPrefix: 'test.',
      encode: async () => Buffer.alloc(0),
      decode: async () => {
        calls++;
        if (calls < 3) throw new RetriableError('registry unreachable');
        return gameRequested;
      },
    };
    const { processor: p } = processor({ codec });
    await expect(p.process(message, 'gameRequested')).resolves.toBe('handled');
    expect(calls).toBe(3);
  });
});
