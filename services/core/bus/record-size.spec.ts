import { buildDeadLetter, MAX_DEAD_LETTER_VALUE_BYTES } from './dead-letter';
import { chunksByBytes, MAX_RECORD_BYTES, recordBytes, RecordTooLargeError } from './kafka-client';

describe('records and Kafka size limits (found by test/fuzz)', () => {
  const record = (bytes: number) => ({ topic: 't', key: 'k', value: Buffer.alloc(bytes) });

  it('splits coalesced records into requests under the limit, in order', () => {
    const records = [record(400_000), record(400_000), record(400_000), record(10), record(10)];
    const chunks = chunksByBytes(records, 900_000);
    expect(chunks.map((c) => c.length)).toEqual([2, 3]);
    expect(chunks.flat()).toEqual(records);
    for (const c of chunks) expect(c.reduce((n, r) => n + recordBytes(r), 0)).toBeLessThanOrEqual(900_000);
    expect(chunksByBytes([record(2_000_000)], 900_000)).toHaveLength(1);
  });

  it('names a record too large for Kafka as non-retriable', () => {
    const err = new RecordTooLargeError('x');
    expect(err.retriable).toBe(false);
    expect(MAX_RECORD_BYTES).toBeLessThan(1_048_588);
  });

  it('truncates the value of a dead letter for a near-limit record, naming its size, hash and source', () => {
    const value = Buffer.alloc(900_000, 7);
    const letter = buildDeadLetter(
      { topic: 'dg.game-requested', partition: 3, offset: '42', key: Buffer.from('k'), value, headers: [], timestamp: '0' },
      'g',
      'decode',
      new Error('bad bytes'),
      1,
    );
    expect(letter.value?.length).toBe(MAX_DEAD_LETTER_VALUE_BYTES);
    expect(letter.errorMessage).toMatch(
      /^bad bytes \[dead-letter value truncated to 262144 of 900000 bytes, sha256 [0-9a-f]{64}; the whole record stays at dg\.game-requested\[3\]@42\]$/,
    );
    const small = buildDeadLetter(
      { topic: 't', partition: 0, offset: '1', key: null, value: Buffer.from('abc'), headers: [], timestamp: '0' },
      'g',
      'decode',
      new Error('bad'),
      1,
    );
    expect(small.value).toEqual(Buffer.from('abc'));
    expect(small.errorMessage).toBe('bad');
  });
});
