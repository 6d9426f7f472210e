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

/** The part of an avsc Type encodeFramed needs (Type.encode: bytes written into `buf` from `pos`). */
export interface AvroEncoder {
  encode(value: unknown, buf: Buffer, pos: number): number;
}

/** Scratch space of encodeFramed, grown to the largest record seen (encoding is synchronous, so one is enough). */
let scratch = Buffer.allocUnsafeSlow(64 * 1024);

/**
 * frame(schemaId, type.toBuffer(value)) in one pass: avsc's toBuffer writes into a 1 KiB pool and,
 * for any larger record (most of our events), writes the whole record a second time into an exact
 * buffer, which frame() then copies again. Here the body is written once, after room for the
 * header, into a scratch buffer that grows as needed, and copied once. Same bytes.
 */
export function encodeFramed(schemaId: number, type: AvroEncoder, value: unknown): Buffer {
  if (!Number.isInteger(schemaId) || schemaId < 0 || schemaId > 0x7fffffff) throw new RangeError(`invalid schema id ${schemaId}`);
  let end = type.encode(value, scratch, WIRE_HEADER_LENGTH);
  while (end < 0) {
    // avsc returns minus the bytes missing.
    scratch = Buffer.allocUnsafeSlow(Math.max(2 * scratch.length, scratch.length - end + WIRE_HEADER_LENGTH));
    end = type.encode(value, scratch, WIRE_HEADER_LENGTH);
  }
  const out = Buffer.allocUnsafe(end);
  scratch.copy(out, WIRE_HEADER_LENGTH, WIRE_HEADER_LENGTH, end);
  out.writeUInt8(MAGIC_BYTE, 0);
  out.writeInt32BE(schemaId, 1);
  return out;
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
