import {
  BadInputError,
  ConfigError,
  DecodeError,
  DgError,
  describeError,
  isRetriable,
  ModelError,
  NonRetriableError,
  PoisonMessageError,
  RetriableError,
  SchemaRegistryError,
  SchemaValidationError,
} from './errors';

describe('errors', () => {
  it('carry code, retry decision and cause', () => {
    const cause = new Error('socket closed');
    const err = new RetriableError('broker went away', { cause });
    expect(err).toBeInstanceOf(DgError);
    expect(err).toBeInstanceOf(Error);
    expect(err.name).toBe('RetriableError');
    expect(err.code).toBe('RETRIABLE');
    expect(err.retriable).toBe(true);
    expect(err.cause).toBe(cause);
    expect(new NonRetriableError('x').retriable).toBe(false);
  });

  it('decode errors are poison and never retriable', () => {
    const err = new DecodeError('no magic byte', { retriable: true });
    expect(err).toBeInstanceOf(PoisonMessageError);
    expect(err.code).toBe('DECODE');
    expect(err.retriable).toBe(false);
  });

  it('schema validation names every field path', () => {
    const err = new SchemaValidationError('GameRequested', [
      { path: 'game.header.iteration', message: 'expected int, got "x"' },
      { path: 'game.setup.maxTurns', message: 'expected int, got 1.5' },
    ]);
    expect(err.paths).toEqual(['game.header.iteration', 'game.setup.maxTurns']);
    expect(err.message).toBe('invalid GameRequested: game.header.iteration: expected int, got "x"; game.setup.maxTurns: expected int, got 1.5');
    expect(err.retriable).toBe(false);
  });

  it('config errors list every variable', () => {
    const err = new ConfigError([
      { variable: 'KAFKA_BROKERS', message: 'expected host:port list, got "nope"' },
      { variable: 'DG_MAX_IN_FLIGHT', message: 'expected a positive integer, got "0"' },
    ]);
    expect(err.message).toContain('KAFKA_BROKERS: expected host:port list, got "nope"');
    expect(err.message).toContain('DG_MAX_IN_FLIGHT');
  });

  it.each([
    [429, true],
    [408, true],
    [500, true],
    [503, true],
    [400, false],
    [401, false],
    [404, false],
    [undefined, true],
  ])('model error with status %s is retriable=%s', (status, expected) => {
    expect(new ModelError('call failed', status === undefined ? {} : { status }).retriable).toBe(expected);
  });

  it('registry errors keep subject and decide by status', () => {
    const conflict = new SchemaRegistryError('incompatible', { status: 409, subject: 'dg.x-value' });
    expect(conflict.retriable).toBe(false);
    expect(conflict.subject).toBe('dg.x-value');
    expect(new SchemaRegistryError('invalid schema', { status: 422 }).retriable).toBe(false);
    expect(new SchemaRegistryError('unreachable').retriable).toBe(true);
    expect(new SchemaRegistryError('busy', { status: 503 }).retriable).toBe(true);
  });

  describe('isRetriable', () => {
    it('trusts DgError and kafkajs-style retriable flags', () => {
      expect(isRetriable(new RetriableError('x'))).toBe(true);
      expect(isRetriable(new BadInputError('x'))).toBe(false);
      expect(isRetriable(Object.assign(new Error('leader not available'), { retriable: true }))).toBe(true);
      expect(isRetriable(Object.assign(new Error('unknown topic'), { retriable: false }))).toBe(false);
    });

    it('treats network errors as retriable, even wrapped', () => {
      expect(isRetriable(Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }))).toBe(true);
      expect(isRetriable(Object.assign(new Error('timeout'), { code: 'ETIMEDOUT' }))).toBe(true);
      const fetchFailure = new TypeError('fetch failed', { cause: Object.assign(new Error('refused'), { code: 'ECONNREFUSED' }) });
      expect(isRetriable(fetchFailure)).toBe(true);
    });

    it('waits out a broker kafkajs gave up on (chaos run: a broker restart dead-lettered 3 games), but not other kafkajs give-ups', () => {
      const { KafkaJSNonRetriableError, KafkaJSConnectionError, KafkaJSProtocolError } = require('kafkajs') as typeof import('kafkajs');
      const refused = new KafkaJSConnectionError('Connection error: connect ECONNREFUSED 127.0.0.1:19092');
      expect(isRetriable(Object.assign(new KafkaJSNonRetriableError(refused), { cause: refused }))).toBe(true);
      expect(isRetriable(new KafkaJSNonRetriableError(refused))).toBe(true);
      const tooLarge = new KafkaJSProtocolError(
        Object.assign(new Error('The request included a message larger than the max message size the server will accept'), {
          retriable: false,
          type: 'MESSAGE_TOO_LARGE',
          code: 10,
        }),
      );
      expect(isRetriable(Object.assign(new KafkaJSNonRetriableError(tooLarge), { cause: tooLarge }))).toBe(false);
      expect(isRetriable(new KafkaJSNonRetriableError(new Error('Invalid record')))).toBe(false);
    });

    it('treats everything else as not retriable', () => {
      expect(isRetriable(new Error('boom'))).toBe(false);
      expect(isRetriable(new TypeError('x is undefined'))).toBe(false);
      expect(isRetriable('a string')).toBe(false);
      expect(isRetriable(undefined)).toBe(false);
      expect(isRetriable(Object.assign(new Error('aborted'), { name: 'AbortError', code: 'ECONNRESET' }))).toBe(false);
    });

    it('survives cyclic causes', () => {
      const a = new Error('a') as Error & { cause?: unknown };
      const b = new Error('b', { cause: a });
      a.cause = b;
      expect(isRetriable(a)).toBe(false);
    });
  });

  it('describes any thrown value', () => {
    expect(describeError(new DecodeError('bad bytes'))).toMatchObject({ name: 'DecodeError', message: 'bad bytes', code: 'DECODE' });
    expect(describeError(42)).toEqual({ name: 'number', message: '42', stack: '' });
  });
});
