import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A counting pass-through in front of the model endpoint (the simulator): how many chat
 * completions were served, and how many failed by status, so a chaos run can compare model calls
 * with the turns it recorded. Loopback only.
 */
export interface ModelCounter {
  baseUrl: string;
  readonly served: number;
  readonly failed: Record<string, number>;
  close(): Promise<void>;
}

export async function startModelCounter(upstreamBaseUrl: string): Promise<ModelCounter> {
  const upstream = upstreamBaseUrl.replace(/\/+$/, '');
  let served = 0;
  const failed: Record<string, number> = {};
  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const path = (req.url ?? '/').replace(/^\/v1/, '');
    const isCompletion = req.method === 'POST' && path.startsWith('/chat/completions');
    try {
      const response = await fetch(`${upstream}${path}`, {
        method: req.method ?? 'GET',
        headers: {
          'content-type': req.headers['content-type'] ?? 'application/json',
          ...(req.headers.authorization ? { authorization: req.headers.authorization } : {}),
        },
        ...(req.method === 'POST' ? { body: Buffer.concat(chunks) } : {}),
      });
      const body = Buffer.from(await response.arrayBuffer());
      if (isCompletion) {
        if (response.ok) served++;
        else failed[String(response.status)] = (failed[String(response.status)] ?? 0) + 1;
      }
      res.writeHead(response.status, { 'content-type': response.headers.get('content-type') ?? 'application/json' });
      res.end(body);
    } catch (err) {
      if (isCompletion) failed.upstream = (failed.upstream ?? 0) + 1;
      res.writeHead(502, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: { message: `model counter: upstream failed: ${String(err)}`, type: 'server_error' } }));
    }
  };
  const server = createServer((req, res) => {
    handle(req, res).catch(() => res.destroy());
  });
  server.keepAliveTimeout = 5_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    baseUrl: `http://127.0.0.1:${port}/v1`,
    get served() {
      return served;
    },
    failed,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
