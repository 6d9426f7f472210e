import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { BadInputError, RetriableError } from '../core/errors';
import { loadImageBytes, sha256Hex } from './image-bytes';
import { embedScene } from './png-text';
import { createRng } from './prng';
import { renderScenePng } from './render';
import { generateScene } from './scene-generator';

/** http(s) image loading against a local HTTP server on 127.0.0.1. */
describe('loadImageBytes over http', () => {
  const scene = generateScene(createRng(4));
  const png = embedScene(renderScenePng(scene), scene);
  let server: Server;
  let base: string;

  beforeAll(async () => {
    server = createServer((req, res) => {
      if (req.url === '/scene.png') {
        res.writeHead(200, { 'content-type': 'image/png' });
        res.end(png);
      } else if (req.url === '/busy') {
        res.writeHead(503);
        res.end();
      } else if (req.url === '/slow') {
        setTimeout(() => res.end(png), 2_000).unref();
      } else {
        res.writeHead(404);
        res.end();
      }
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  it('fetches and verifies an image', async () => {
    const loaded = await loadImageBytes(`${base}/scene.png`, { sha256: sha256Hex(png) });
    expect(loaded.bytes.equals(png)).toBe(true);
  });

  it('treats 404 as bad input and 503, timeouts and refused connections as retriable', async () => {
    await expect(loadImageBytes(`${base}/nothing.png`)).rejects.toBeInstanceOf(BadInputError);
    await expect(loadImageBytes(`${base}/busy`)).rejects.toBeInstanceOf(RetriableError);
    await expect(loadImageBytes(`${base}/slow`, { timeoutMs: 100 })).rejects.toThrow(/timed out after 100 ms/);
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));
    await expect(loadImageBytes(`http://127.0.0.1:${port}/x.png`)).rejects.toBeInstanceOf(RetriableError);
  });
});
