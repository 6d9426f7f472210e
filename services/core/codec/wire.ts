import { DecodeError } from '../errors/errors';

/**
 * Confluent wire format, known here and nowhere else:
 * byte 0 = magic byte 0, bytes 1-4 = schema id (big-endian int32), then the Avro binary body.
 */
export const MAGIC_BYTE = 0;
export const WIRE_HEADER_LENGTH = 5;

export function frame(schemaId: number, body: Buffer): Buffer {
  if (!Number.isInteger(schemaId) || schemaId < 0 || schemaId > 0x7fffffff) throw new RangeError(`invalid schema id ${schemaId}`);
  const header = Buffer.alloc(WIRE_HEADER_LENGTH);
  header.writeUInt8(MAGIC_BYTE, 0);
  header.writeInt32BE(schemaId, 1);
  return Buffer.concat([header, body]);
}

export function unframe(message: Buffer | null | undefined): { schemaId: number; body: Buffer } {
  if (message === null || message === undefined) throw new DecodeError('message has no value (null): expected Confluent-framed Avro');
  if (!Buffer.isBuffer(message)) throw new DecodeError(`message value is not a Buffer (${typeof message})`);
  if (message.length < WIRE_HEADER_LENGTH) {
    throw new DecodeError(`message too short: ${message.length} bytes, the Confluent wire header alone is ${WIRE_HEADER_LENGTH}`);
  }
  const magic = message.readUInt8(0);
  if (magic !== MAGIC_BYTE) {
    throw new DecodeError(`message does not start with magic byte 0 (got 0x${magic.toString(16).padStart(2, '0')}): not Confluent-framed Avro`);
  }
  return { schemaId: message.readInt32BE(1), body: message.subarray(WIRE_HEADER_LENGTH) };
}
