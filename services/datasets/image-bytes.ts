import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { BadInputError, RetriableError, isRetriableHttpStatus } from '../core/errors';

export const IMAGE_EXTENSIONS: Readonly<Record<string, string>> = {
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.webp': 'image/webp',
  '.gif': 'image/gif',
};

export function sha256Hex(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** Media type from the file's magic bytes, or undefined when it is none of the supported formats. */
export function sniffImageMediaType(bytes: Uint8Array): string | undefined {
  const b = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (b.length >= 8 && b.readUInt32BE(0) === 0x89504e47 && b.readUInt32BE(4) === 0x0d0a1a0a) return 'image/png';
  if (b.length >= 3 && b[0] === 0xff && b[1] === 0xd8 && b[2] === 0xff) return 'image/jpeg';
  if (b.length >= 6 && (b.toString('latin1', 0, 6) === 'GIF87a' || b.toString('latin1', 0, 6) === 'GIF89a')) return 'image/gif';
  if (b.length >= 12 && b.toString('latin1', 0, 4) === 'RIFF' && b.toString('latin1', 8, 12) === 'WEBP') return 'image/webp';
  return undefined;
}

export interface LoadImageOptions {
  /** Expected hex SHA-256; a mismatch is a non-retriable BadInputError. */
  sha256?: string | null;
  /** For http(s) only. Default 10 s. */
  timeoutMs?: number;
  signal?: AbortSignal;
}

export interface LoadedImage {
  bytes: Buffer;
  mediaType: string;
  sha256: string;
}

/** Decodes `data:<type>;base64,<payload>` (or percent-encoded) URLs. */
export function decodeDataUrl(uri: string): { bytes: Buffer; mediaType: string | undefined } {
  const match = /^data:([^,]*?),(.*)$/s.exec(uri);
  if (!match) throw new BadInputError('malformed data URL: missing "," separator', { code: 'BAD_IMAGE' });
  const meta = (match[1] ?? '').split(';');
  const payload = match[2] ?? '';
  const isBase64 = meta.includes('base64');
  const mediaType = meta[0] ? meta[0].toLowerCase() : undefined;
  if (isBase64) {
    const compact = payload.replace(/\s+/g, '');
    if (!/^[A-Za-z0-9+/_-]*={0,2}$/.test(compact)) throw new BadInputError('malformed data URL: invalid base64 payload', { code: 'BAD_IMAGE' });
    return { bytes: Buffer.from(compact, 'base64'), mediaType };
  }
  try {
    return { bytes: Buffer.from(decodeURIComponent(payload), 'latin1'), mediaType };
  } catch {
    throw new BadInputError('malformed data URL: invalid percent-encoding', { code: 'BAD_IMAGE' });
  }
}

/** Local path of a file:// URI or plain path; undefined for other schemes. */
export function localPathOf(uri: string): string | undefined {
  if (uri.startsWith('file:')) return fileURLToPath(uri);
  if (/^[a-z][a-z0-9+.-]*:/i.test(uri) && !/^[a-z]:[\\/]/i.test(uri)) return undefined;
  return path.resolve(uri);
}

function describeUri(uri: string): string {
  return uri.startsWith('data:') ? `${uri.slice(0, 30)}…` : uri;
}

async function fetchBytes(uri: string, options: LoadImageOptions): Promise<Buffer> {
  const timeoutMs = options.timeoutMs ?? 10_000;
  const signals = [AbortSignal.timeout(timeoutMs), ...(options.signal ? [options.signal] : [])];
  let response: Response;
  try {
    response = await fetch(uri, { signal: AbortSignal.any(signals), redirect: 'follow' });
  } catch (err) {
    if (options.signal?.aborted) throw err;
    const reason = (err as Error).name === 'TimeoutError' ? `timed out after ${timeoutMs} ms` : (err as Error).message;
    throw new RetriableError(`cannot fetch image ${uri}: ${reason}`, { cause: err, code: 'IMAGE_FETCH' });
  }
  if (!response.ok) {
    const message = `cannot fetch image ${uri}: HTTP ${response.status}`;
    if (isRetriableHttpStatus(response.status)) throw new RetriableError(message, { code: 'IMAGE_FETCH' });
    throw new BadInputError(message, { code: 'BAD_IMAGE' });
  }
  try {
    return Buffer.from(await response.arrayBuffer());
  } catch (err) {
    throw new RetriableError(`cannot fetch image ${uri}: body interrupted`, { cause: err, code: 'IMAGE_FETCH' });
  }
}

/**
 * Bytes of an image from a file:// URI, a plain path, a data: URL or http(s). Missing, empty or
 * corrupt images and hash mismatches are non-retriable BadInputError (code BAD_IMAGE); network
 * failures, timeouts and 5xx/429 are RetriableError.
 */
export async function loadImageBytes(uri: string, options: LoadImageOptions = {}): Promise<LoadedImage> {
  let bytes: Buffer;
  if (uri.startsWith('data:')) {
    bytes = decodeDataUrl(uri).bytes;
  } else if (/^https?:\/\//i.test(uri)) {
    bytes = await fetchBytes(uri, options);
  } else {
    const filePath = localPathOf(uri);
    if (filePath === undefined) throw new BadInputError(`unsupported image URI scheme: ${describeUri(uri)}`, { code: 'BAD_IMAGE' });
    try {
      bytes = await readFile(filePath);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      const reason = code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : code === 'EISDIR' ? 'is a directory' : (err as Error).message;
      throw new BadInputError(`cannot read image ${filePath}: ${reason}`, { cause: err, code: 'BAD_IMAGE' });
    }
  }
  if (bytes.length === 0) throw new BadInputError(`image ${describeUri(uri)} is empty`, { code: 'BAD_IMAGE' });
  const sha256 = sha256Hex(bytes);
  if (options.sha256 && options.sha256.toLowerCase() !== sha256) {
    throw new BadInputError(`image ${describeUri(uri)} does not match its sha256 (expected ${options.sha256}, got ${sha256})`, { code: 'BAD_IMAGE' });
  }
  // The bytes decide the type: extensions and Content-Type headers lie often enough.
  const mediaType = sniffImageMediaType(bytes);
  if (!mediaType) throw new BadInputError(`image ${describeUri(uri)} is not a PNG, JPEG, GIF or WebP file`, { code: 'BAD_IMAGE' });
  return { bytes, mediaType, sha256 };
}

export function toDataUrl(bytes: Uint8Array, mediaType: string): string {
  return `data:${mediaType};base64,${Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64')}`;
}
