import { createCanvas } from '@napi-rs/canvas';
import { BadInputError } from '../core/errors';
import { checkFetchTarget, isNonPublicAddress, prepareImageForModel, sniffImageMediaType } from './image-bytes';

function png(width: number, height: number, noise = false): Buffer {
  const canvas = createCanvas(width, height);
  const ctx = canvas.getContext('2d');
  ctx.fillStyle = '#3366cc';
  ctx.fillRect(0, 0, width, height);
  if (noise) {
    const data = ctx.getImageData(0, 0, width, height);
    for (let i = 0; i < data.data.length; i++) data.data[i] = Math.floor(Math.random() * 256);
    ctx.putImageData(data, 0, 0);
  }
  return canvas.toBuffer('image/png');
}

describe('prepareImageForModel (images for real VLMs, issue 7 item 4)', () => {
  const limits = { maxSidePx: 768, maxBytes: 4_000_000 };

  it('sends an image within the limits byte for byte', async () => {
    const bytes = png(300, 200);
    const prepared = await prepareImageForModel({ bytes, mediaType: 'image/png' }, limits);
    expect(prepared).toMatchObject({ resized: false, width: 300, height: 200, mediaType: 'image/png' });
    expect(prepared.bytes.equals(bytes)).toBe(true);
  });

  it('downscales a large image to the max side, keeping the aspect ratio', async () => {
    const prepared = await prepareImageForModel({ bytes: png(2000, 1000), mediaType: 'image/png' }, limits);
    expect(prepared).toMatchObject({ resized: true, width: 768, height: 384 });
    expect(sniffImageMediaType(prepared.bytes)).toBe(prepared.mediaType);
  });

  it('re-encodes to fit the byte cap (JPEG when PNG is too big)', async () => {
    const bytes = png(600, 600, true);
    const prepared = await prepareImageForModel({ bytes, mediaType: 'image/png' }, { maxSidePx: 768, maxBytes: 150_000 });
    expect(bytes.length).toBeGreaterThan(150_000);
    expect(prepared.resized).toBe(true);
    expect(prepared.bytes.length).toBeLessThanOrEqual(150_000);
    expect(prepared.mediaType).toBe('image/jpeg');
  });

  it('names a corrupt image (valid signature, garbage body) as a BadInputError', async () => {
    const corrupt = Buffer.concat([png(10, 10).subarray(0, 16), Buffer.alloc(64, 7)]);
    await expect(prepareImageForModel({ bytes: corrupt, mediaType: 'image/png' }, limits)).rejects.toThrow(BadInputError);
    await expect(prepareImageForModel({ bytes: corrupt, mediaType: 'image/png' }, limits)).rejects.toThrow(/corrupt/);
  });

  it('names an image that cannot fit the byte cap as oversize', async () => {
    await expect(prepareImageForModel({ bytes: png(800, 800, true), mediaType: 'image/png' }, { maxSidePx: 768, maxBytes: 1024 })).rejects.toThrow(/oversize/);
  });
});

describe('image fetch policy (issue 12: no link-local, metadata or private addresses unless allowed)', () => {
  const policy = { allowHosts: [] as string[], allowPrivate: false, maxBytes: 1_000_000, timeoutMs: 1_000 };

  it.each([
    ['127.0.0.1', true],
    ['10.1.2.3', true],
    ['172.20.0.1', true],
    ['192.168.1.1', true],
    ['169.254.169.254', true],
    ['100.64.0.1', true],
    ['0.0.0.0', true],
    ['::1', true],
    ['fd00:ec2::254', true],
    ['fe80::1', true],
    ['::ffff:127.0.0.1', true],
    ['8.8.8.8', false],
    ['2606:4700:4700::1111', false],
  ])('%s is non-public: %s', (address, expected) => {
    expect(isNonPublicAddress(address)).toBe(expected);
  });

  it('refuses the cloud metadata address, loopback and other schemes by default', async () => {
    await expect(checkFetchTarget(new URL('http://169.254.169.254/latest/meta-data/'), policy)).rejects.toThrow(/non-public address 169\.254\.169\.254/);
    await expect(checkFetchTarget(new URL('http://localhost:8080/x.png'), policy)).rejects.toThrow(/non-public/);
    await expect(checkFetchTarget(new URL('ftp://example.com/x.png'), policy)).rejects.toThrow(/scheme/);
  });

  it('applies the host allow-list, wildcards included, and lets private addresses through only when allowed', async () => {
    const listed = { ...policy, allowHosts: ['*.images.example', '127.0.0.1'] };
    await expect(checkFetchTarget(new URL('http://evil.example/x.png'), listed)).rejects.toThrow(/allow-list/);
    await expect(checkFetchTarget(new URL('http://127.0.0.1/x.png'), listed)).rejects.toThrow(/non-public/);
    await expect(checkFetchTarget(new URL('http://127.0.0.1/x.png'), { ...listed, allowPrivate: true })).resolves.toBeUndefined();
  });
});

describe('ImageUrlResolver with local files (hash checked, then downscaled)', () => {
  it('sends a large local image downscaled, and names a hash mismatch, a missing file and a corrupt file', async () => {
    const { mkdtempSync, writeFileSync, rmSync } = await import('node:fs');
    const { join } = await import('node:path');
    const { tmpdir } = await import('node:os');
    const { pathToFileURL } = await import('node:url');
    const { ImageUrlResolver, UnusableImageError } = await import('../role-runtime');
    const { sha256Hex } = await import('./image-bytes');
    const { loadImage } = await import('@napi-rs/canvas');
    const dir = mkdtempSync(join(tmpdir(), 'dg-img-'));
    try {
      const big = png(1000, 2000);
      writeFileSync(join(dir, 'big.png'), big);
      const corrupt = Buffer.concat([big.subarray(0, 16), Buffer.alloc(100, 1)]);
      writeFileSync(join(dir, 'corrupt.png'), corrupt);
      const resolver = new ImageUrlResolver({ retry: { maxAttempts: 1, initialDelayMs: 1, maxDelayMs: 1 } });
      const ref = (id: string, file: string, sha256: string) => ({
        id,
        uri: pathToFileURL(join(dir, file)).href,
        sha256,
        mediaType: 'image/png',
        caption: null,
      });
      const url = await resolver.urlFor(ref('big', 'big.png', sha256Hex(big)));
      const sent = await loadImage(Buffer.from(url.split(',')[1]!, 'base64'));
      expect([sent.width, sent.height]).toEqual([384, 768]);
      await expect(resolver.urlFor(ref('tampered', 'big.png', 'cd'.repeat(32)))).rejects.toThrow(UnusableImageError);
      await expect(resolver.urlFor(ref('tampered', 'big.png', 'cd'.repeat(32)))).rejects.toThrow(/sha256/);
      await expect(resolver.urlFor(ref('missing', 'nope.png', 'cd'.repeat(32)))).rejects.toThrow(/no such file/);
      await expect(resolver.urlFor(ref('corrupt', 'corrupt.png', sha256Hex(corrupt)))).rejects.toThrow(/corrupt/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
