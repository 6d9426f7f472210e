import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';

export interface MetricsServer {
  readonly url: string;
  readonly port: number;
  close(): Promise<void>;
}

export interface Health {
  /** null when healthy, else why not (answered 503). */
  problem(): string | null;
}

/** GET /metrics (Prometheus text exposition) and GET /healthz on host:port (0 = any free port). */
export async function startMetricsServer(options: { host: string; port: number; registry: Registry; health: Health }): Promise<MetricsServer> {
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405).end();
      return;
    }
    if (path === '/metrics') {
      options.registry
        .metrics()
        .then((text) => {
          res.writeHead(200, { 'Content-Type': options.registry.contentType });
          res.end(text);
        })
        .catch((err: unknown) => {
          res.writeHead(500, { 'Content-Type': 'text/plain' });
          res.end(`metrics failed: ${(err as Error).message}\n`);
        });
      return;
    }
    if (path === '/healthz') {
      const problem = options.health.problem();
      res.writeHead(problem === null ? 200 : 503, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify(problem === null ? { status: 'ok' } : { status: 'failing', problem }));
      return;
    }
    res.writeHead(404, { 'Content-Type': 'text/plain' }).end('not found: /metrics or /healthz\n');
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) =>
      reject(
        err.code === 'EADDRINUSE'
          ? new Error(`cannot serve metrics: ${options.host}:${options.port} is in use (set DG_METRICS_PORT, 0 = any free port, off = none)`, { cause: err })
          : err,
      ),
    );
    server.listen(options.port, options.host, () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://${options.host.includes(':') ? `[${options.host}]` : options.host}:${port}`,
    port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
