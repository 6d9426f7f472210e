import { describeCliError } from './cli-errors';

describe('describeCliError', () => {
  it('turns a kafkajs connection failure into an actionable line', () => {
    const cause = Object.assign(new Error('Connection error: connect ECONNREFUSED 127.0.0.1:1'), { name: 'KafkaJSConnectionError', code: 'ECONNREFUSED' });
    const err = Object.assign(new Error('Connection error'), { name: 'KafkaJSNumberOfRetriesExceeded', cause });
    expect(describeCliError(err, { brokers: '127.0.0.1:1' })).toBe('cannot reach Kafka at 127.0.0.1:1 (ECONNREFUSED); is the stack up? Try `npx dg stack up` or set KAFKA_BROKERS');
  });

  it('keeps other messages as they are', () => {
    expect(describeCliError(new Error('dataset nope not found'))).toBe('dataset nope not found');
  });
});
