import { describeCliError, humanErrorMessage, wantsHumanErrors } from './cli-errors';

describe('describeCliError', () => {
  it('turns a kafkajs connection failure into an actionable line', () => {
    const cause = Object.assign(new Error('Connection error: connect ECONNREFUSED 127.0.0.1:1'), { name: 'KafkaJSConnectionError', code: 'ECONNREFUSED' });
    const err = Object.assign(new Error('Connection error'), { name: 'KafkaJSNumberOfRetriesExceeded', cause });
    expect(describeCliError(err, { brokers: '127.0.0.1:1' })).toBe(
      'cannot reach Kafka at 127.0.0.1:1 (ECONNREFUSED); is the stack up? Try `npx dg stack up` or set KAFKA_BROKERS',
    );
  });

  it('keeps other messages as they are', () => {
    expect(describeCliError(new Error('dataset nope not found'))).toBe('dataset nope not found');
  });
});

describe('human errors at the terminal', () => {
  const tty = { stdout: { isTTY: true }, stderr: { isTTY: true } };
  const pipes = { stdout: { isTTY: false }, stderr: {} };

  it('are wanted at a terminal or with DG_LOG_FORMAT=pretty, not when DG_LOG_FORMAT=json asks for machine logs', () => {
    expect(wantsHumanErrors({}, tty)).toBe(true);
    expect(wantsHumanErrors({}, { stdout: { isTTY: false }, stderr: { isTTY: true } })).toBe(true);
    expect(wantsHumanErrors({}, pipes)).toBe(false);
    expect(wantsHumanErrors({ DG_LOG_FORMAT: 'pretty' }, pipes)).toBe(true);
    expect(wantsHumanErrors({ DG_LOG_FORMAT: 'json' }, tty)).toBe(false);
  });

  it('name the command and keep a multi-line cause readable', () => {
    const cause = Object.assign(new Error('Connection error: connect ECONNREFUSED 127.0.0.1:1'), { name: 'KafkaJSConnectionError', code: 'ECONNREFUSED' });
    const err = Object.assign(new Error('Connection error'), { name: 'KafkaJSNumberOfRetriesExceeded', cause });
    expect(humanErrorMessage('start', err, { brokers: '127.0.0.1:1' })).toBe(
      'dg start: cannot reach Kafka at 127.0.0.1:1 (ECONNREFUSED); is the stack up? Try `npx dg stack up` or set KAFKA_BROKERS',
    );
    expect(humanErrorMessage(undefined, new Error('invalid configuration:\nKAFKA_BROKERS: expected host:port list'))).toBe(
      'dg: invalid configuration:\n  KAFKA_BROKERS: expected host:port list',
    );
  });
});
