import { createHash } from 'node:crypto';
import { lookup } from 'node:dns/promises';
import { readFile } from 'node:fs/promises';
import { isIP } from 'node:net';
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
  /** For http(s): hosts, address ranges, size and redirects allowed (issue 12). Without one, any URL is fetched. */
  fetchPolicy?: FetchPolicy;
}

/** What an image fetch may reach. */
export interface FetchPolicy {
  /** Hostnames allowed (`example.com`, `*.example.com`); empty: any public host. */
  allowHosts: readonly string[];
  /** Allow loopback, private, link-local (cloud metadata) and other non-public addresses. Default false. */
  allowPrivate: boolean;
  /** Largest body accepted, in bytes. */
  maxBytes: number;
  timeoutMs: number;
  /** Redirects followed (each hop is checked again). Default 3. */
  maxRedirects?: number;
}

/** True for addresses an image fetch must not reach by default: loopback, private, link-local (169.254.169.254), CGNAT, multicast, reserved. */
export function isNonPublicAddress(address: string): boolean {
  const family = isIP(address);
  if (family === 4) {
    const [a, b] = address.split('.').map(Number) as [number, number, number, number];
    return (
      a === 0 ||
      a === 10 ||
      a === 127 ||
      (a === 100 && b >= 64 && b <= 127) ||
      (a === 169 && b === 254) ||
      (a === 172 && b >= 16 && b <= 31) ||
      (a === 192 && b === 168) ||
      (a === 192 && b === 0) ||
      (a === 198 && (b === 18 || b === 19)) ||
      a >= 224
    );
  }
  if (family === 6) {
    const lower = address.toLowerCase();
    const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(lower);
    if (mapped) return isNonPublicAddress(mapped[1]!);
    if (lower === '::' || lower === '::1') return true;
    const first = parseInt(lower.split(':')[0] || '0', 16);
    // fc00::/7 unique local (incl. fd00:ec2::254), fe80::/10 link-local, ff00::/8 multicast.
    return (first & 0xfe00) === 0xfc00 || (first & 0xffc0) === 0xfe80 || (first & 0xff00) === 0xff00;
  }
  return true;
}

function hostAllowed(host: string, allowHosts: readonly string[]): boolean {
  if (allowHosts.length === 0) return true;
  const h = host.toLowerCase();
  return allowHosts.some((pattern) => (pattern.startsWith('*.') ? h.endsWith(pattern.slice(1)) && h.length > pattern.length - 1 : h === pattern));
}

/**
 * Checks one URL against the policy before any byte is sent: http(s) only, host on the allow-list,
 * and every address the name resolves to public unless private addresses are allowed.
 * (A name that resolves differently between this check and the connection, DNS rebinding, is not
 * covered; put a proxy or the allow-list in front for hostile inputs.)
 */
export async function checkFetchTarget(url: URL, policy: FetchPolicy): Promise<void> {
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    throw new BadInputError(`image fetch refused: scheme ${url.protocol} is not http(s) (${url.href})`, { code: 'BAD_IMAGE' });
  const host = url.hostname.replace(/^\[|\]$/g, '');
  if (!hostAllowed(host, policy.allowHosts))
    throw new BadInputError(`image fetch refused: host ${host} is not in the allow-list (${policy.allowHosts.join(', ')})`, { code: 'BAD_IMAGE' });
  if (policy.allowPrivate) return;
  let addresses: string[];
  if (isIP(host)) {
    addresses = [host];
  } else {
    try {
      addresses = (await lookup(host, { all: true })).map((a) => a.address);
    } catch (err) {
      throw new RetriableError(`cannot resolve image host ${host}: ${(err as Error).message}`, { cause: err, code: 'IMAGE_FETCH' });
    }
  }
  const blocked = addresses.find(isNonPublicAddress);
  if (blocked !== undefined) {
    throw new BadInputError(`image fetch refused: ${host} resolves to the non-public address ${blocked} (set DG_IMAGE_FETCH_ALLOW_PRIVATE=true to allow)`, {
      code: 'BAD_IMAGE',
    });
  }
}

/** Fetches under a policy: each redirect hop checked, the body capped at policy.maxBytes. */
async function fetchWithPolicy(uri: string, policy: FetchPolicy, signal: AbortSignal | undefined): Promise<Buffer> {
  const signals = [AbortSignal.timeout(policy.timeoutMs), ...(signal ? [signal] : [])];
  let url = new URL(uri);
  for (let hop = 0; ; hop++) {
    await checkFetchTarget(url, policy);
    let response: Response;
    try {
      response = await fetch(url, { signal: AbortSignal.any(signals), redirect: 'manual' });
    } catch (err) {
      if (signal?.aborted) throw err;
      const reason = (err as Error).name === 'TimeoutError' ? `timed out after ${policy.timeoutMs} ms` : (err as Error).message;
      throw new RetriableError(`cannot fetch image ${url.href}: ${reason}`, { cause: err, code: 'IMAGE_FETCH' });
    }
    if (response.status >= 300 && response.status < 400 && response.headers.get('location')) {
      if (hop >= (policy.maxRedirects ?? 3))
        throw new BadInputError(`cannot fetch image ${uri}: more than ${policy.maxRedirects ?? 3} redirects`, { code: 'BAD_IMAGE' });
      url = new URL(response.headers.get('location')!, url);
      continue;
    }
    if (!response.ok) {
      const message = `cannot fetch image ${url.href}: HTTP ${response.status}`;
      if (isRetriableHttpStatus(response.status)) throw new RetriableError(message, { code: 'IMAGE_FETCH' });
      throw new BadInputError(message, { code: 'BAD_IMAGE' });
    }
    const declared = Number(response.headers.get('content-length') ?? NaN);
    if (declared > policy.maxBytes) throw new BadInputError(`image ${url.href} is too large: ${declared} bytes > ${policy.maxBytes}`, { code: 'BAD_IMAGE' });
    const chunks: Buffer[] = [];
    let size = 0;
    try {
      for await (const chunk of response.body ?? []) {
        size += (chunk as Uint8Array).byteLength;
        if (size > policy.maxBytes) {
          await response.body?.cancel().catch(() => undefined);
          throw new BadInputError(`image ${url.href} is too large: more than ${policy.maxBytes} bytes`, { code: 'BAD_IMAGE' });
        }
        chunks.push(Buffer.from(chunk as Uint8Array));
      }
    } catch (err) {
      if (err instanceof BadInputError) throw err;
      throw new RetriableError(`cannot fetch image ${url.href}: body interrupted`, { cause: err, code: 'IMAGE_FETCH' });
    }
    return Buffer.concat(chunks);
  }
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
    bytes = options.fetchPolicy ? await fetchWithPolicy(uri, options.fetchPolicy, options.signal) : await fetchBytes(uri, options);
  } else {
    const filePath = localPathOf(uri);
    if (filePath === undefined) throw new BadInputError(`unsupported image URI scheme: ${describeUri(uri)}`, { code: 'BAD_IMAGE' });
    try {
      bytes = await readFile(filePath);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      const reason =
        code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : code === 'EISDIR' ? 'is a directory' : (err as Error).message;
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

/** Limits of an image sent to a model. */
export interface ModelImageLimits {
  /** Longest side in pixels (aspect ratio kept). */
  maxSidePx: number;
  /** Largest encoded image, in bytes. */
  maxBytes: number;
}

export interface PreparedImage {
  bytes: Buffer;
  mediaType: string;
  width: number;
  height: number;
  /** False when the original bytes went out unchanged. */
  resized: boolean;
}

/**
 * An image as a model should get it: decoded (a corrupt file is a BadInputError), and when larger than
 * `maxSidePx` on its longest side or `maxBytes` encoded, downscaled (aspect kept) and re-encoded (PNG
 * when that fits, else JPEG at falling quality, shrinking further if needed). Images within the limits
 * go out byte for byte (the simulator reads scene metadata from the original PNG).
 */
export async function prepareImageForModel(loaded: Pick<LoadedImage, 'bytes' | 'mediaType'>, limits: ModelImageLimits): Promise<PreparedImage> {
  const canvasModule = await import('@napi-rs/canvas');
  let image: InstanceType<typeof canvasModule.Image>;
  try {
    image = await canvasModule.loadImage(loaded.bytes);
  } catch (err) {
    throw new BadInputError(`image is corrupt: cannot decode ${loaded.mediaType} (${(err as Error).message})`, { cause: err, code: 'BAD_IMAGE' });
  }
  const { width, height } = image;
  if (!(width > 0 && height > 0)) throw new BadInputError(`image is corrupt: ${width}x${height} pixels`, { code: 'BAD_IMAGE' });
  if (Math.max(width, height) <= limits.maxSidePx && loaded.bytes.length <= limits.maxBytes) {
    return { bytes: loaded.bytes, mediaType: loaded.mediaType, width, height, resized: false };
  }
  let scale = Math.min(1, limits.maxSidePx / Math.max(width, height));
  for (let round = 0; round < 6; round++) {
    const w = Math.max(1, Math.round(width * scale));
    const h = Math.max(1, Math.round(height * scale));
    const canvas = canvasModule.createCanvas(w, h);
    const ctx = canvas.getContext('2d');
    ctx.drawImage(image, 0, 0, w, h);
    if (loaded.mediaType === 'image/png') {
      const png = canvas.toBuffer('image/png');
      if (png.length <= limits.maxBytes) return { bytes: png, mediaType: 'image/png', width: w, height: h, resized: true };
    }
    for (const quality of [85, 70, 50]) {
      const jpeg = canvas.toBuffer('image/jpeg', quality);
      if (jpeg.length <= limits.maxBytes) return { bytes: jpeg, mediaType: 'image/jpeg', width: w, height: h, resized: true };
    }
    scale *= 0.7;
  }
  throw new BadInputError(`image is oversize: ${width}x${height} does not fit in ${limits.maxBytes} bytes even downscaled`, { code: 'BAD_IMAGE' });
}
