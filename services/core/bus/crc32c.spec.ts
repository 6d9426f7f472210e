import { randomBytes } from 'node:crypto';
import { crc32c } from './crc32c';

// kafkajs's own byte-at-a-time implementation, the reference.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const kafkajsCrc32c = require('kafkajs/src/protocol/recordBatch/crc32C/index.js') as (buffer: Buffer) => number;

describe('crc32c', () => {
  it('gives the CRC-32C check value of "123456789" (0xE3069283) and 0 for no bytes', () => {
    expect(crc32c(Buffer.from('123456789'))).toBe(0xe3069283);
    expect(crc32c(Buffer.alloc(0))).toBe(0);
  });

  it('equals kafkajs for every length 0..100 and large random buffers, at any byte offset', () => {
    for (let length = 0; length <= 100; length++) {
      const bytes = randomBytes(length);
      expect(crc32c(bytes)).toBe(kafkajsCrc32c(bytes));
    }
    const big = randomBytes(70_001);
    expect(crc32c(big)).toBe(kafkajsCrc32c(big));
    const slice = big.subarray(3, 60_000);
    expect(crc32c(slice)).toBe(kafkajsCrc32c(slice));
  });
});
