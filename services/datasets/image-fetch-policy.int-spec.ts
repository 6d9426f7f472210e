import { createCanvas } from '@napi-rs/canvas';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ImageUrlResolver, UnusableImageError } from '../role-runtime';
import { loadImageBytes, sha256Hex } from './image-bytes';

/**
 * http(s) images fetched and inlined under the fetch policy, against a local HTTP server on
 * 127.0.0.1 (a private address: refused unless allowed), with size caps, redirects and the hash check.
 */
describe('fetching images under the policy', () => {
  let server: Server;
  let base: string;
  const big = createCanvas(1600, 800).toBuffer('image/png');

  beforeAll(async () => {
    server = createServer((req, res) => {
      if (req.url === '/big.png') {
        res.writeHead(200, { 'content-type': 'image/png' });
        res.end(big);
      } else if (req.url === '/to-metadata') {
        res.writeHead(302, { location: 'http://169.254.169.254/latest/meta-data/' });
        res.end();
      } else {
        res.writeHead(404);
        res.end();
      }
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    await new Promise((resolve) => server.close(resolve));
  });

  const allowLocal = { allowHosts: ['127.0.0.1'], allowPrivate: true, maxBytes: 5_000_000, timeoutMs: 5_000 };

  it('refuses a loopback URL by default, before sending anything', async () => {
    await expect(loadImageBytes(`${base}/big.png`, { fetchPolicy: { ...allowLocal, allowPrivate: false } })).rejects.toThrow(/non-public address 127\.0\.0\.1/);
  });

  it('refuses a redirect to the metadata address even when the first host is allowed', async () => {
    await expect(
      loadImageBytes(`${base}/to-metadata`, { fetchPolicy: { ...allowLocal, allowHosts: ['127.0.0.1', '169.254.169.254'], allowPrivate: false } }),
    ).rejects.toThrow(/non-public/);
    await expect(loadImageBytes(`${base}/to-metadata`, { fetchPolicy: allowLocal })).rejects.toThrow(/allow-list/);
  });

  it('caps the body size', async () => {
    await expect(loadImageBytes(`${base}/big.png`, { fetchPolicy: { ...allowLocal, maxBytes: 1024 } })).rejects.toThrow(/too large/);
  });

  it('inlines an allowed image downscaled, and names a hash mismatch', async () => {
    const resolver = new ImageUrlResolver({ passThroughHttp: false, fetchPolicy: allowLocal, retry: { maxAttempts: 1, initialDelayMs: 1, maxDelayMs: 1 } });
    const url = await resolver.urlFor({ id: 'big', uri: `${base}/big.png`, sha256: sha256Hex(big), mediaType: 'image/png', caption: null });
    expect(url.startsWith('data:image/')).toBe(true);
    const inlined = Buffer.from(url.split(',')[1]!, 'base64');
    const { loadImage } = await import('@napi-rs/canvas');
    const image = await loadImage(inlined);
    expect([image.width, image.height]).toEqual([768, 384]);
    await expect(resolver.urlFor({ id: 'bad-hash', uri: `${base}/big.png`, sha256: 'ab'.repeat(32), mediaType: 'image/png', caption: null })).rejects.toThrow(
      UnusableImageError,
    );
    await expect(resolver.urlFor({ id: 'missing', uri: `${base}/nope.png`, sha256: 'ab'.repeat(32), mediaType: 'image/png', caption: null })).rejects.toThrow(
      /HTTP 404/,
    );
  });
});
