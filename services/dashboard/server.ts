import { readFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { repoRoot } from '../core/config/repo-root';
import type { SqlExecutor } from '../core/clickhouse';
import { createLogger, type Logger } from '../core/logging';
import { BadRequest, DashboardApi } from './api';
import { presentedToken, requiredToken, TOKEN_COOKIE } from './auth';
import { CandidateImages, ImageNotServed } from './images';

export interface DashboardServerOptions {
  ch: SqlExecutor;
  database: string;
  datasetsDir: string;
  host: string;
  /** 0 = any free port. */
  port: number;
  /** DG_DASHBOARD_TOKEN; '' = none (allowed on loopback only). */
  token: string;
  logger?: Logger;
}

export interface DashboardServer {
  /** http://host:port, where the page is. */
  readonly url: string;
  readonly port: number;
  close(): Promise<void>;
}

/**
 * Static files, by fixed name only: the request path is a key of this table, never joined to a
 * folder, so no request can reach any other file.
 */
function staticFiles(): Record<string, { file: string; type: string }> {
  const web = join(repoRoot(), 'services', 'dashboard', 'web');
  return {
    '/': { file: join(web, 'index.html'), type: 'text/html; charset=utf-8' },
    '/app.js': { file: join(web, 'app.js'), type: 'text/javascript; charset=utf-8' },
    '/style.css': { file: join(web, 'style.css'), type: 'text/css; charset=utf-8' },
    // Chart.js from node_modules: no build step, no CDN.
    '/vendor/chart.umd.js': { file: join(repoRoot(), 'node_modules', 'chart.js', 'dist', 'chart.umd.js'), type: 'text/javascript; charset=utf-8' },
  };
}

const SECURITY_HEADERS = {
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'no-referrer',
  'X-Frame-Options': 'DENY',
  'Content-Security-Policy': "default-src 'self'; img-src 'self'; style-src 'self' 'unsafe-inline'; script-src 'self'; connect-src 'self'",
};

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v));
  res.writeHead(status, { ...SECURITY_HEADERS, 'Content-Type': 'application/json; charset=utf-8', 'Cache-Control': 'no-store' });
  res.end(text);
}

/**
 * `dg dashboard`: one HTTP server for the JSON API (/api/...), the page and the candidate images.
 * Bound beyond loopback it requires DG_DASHBOARD_TOKEN on every request except /healthz (bearer
 * header, cookie, or `?token=`, which also sets the cookie for the page's own requests).
 */
export async function startDashboardServer(options: DashboardServerOptions): Promise<DashboardServer> {
  const token = requiredToken(options.host, options.token);
  const logger = options.logger ?? createLogger('dashboard');
  const api = new DashboardApi({ ch: options.ch, database: options.database });
  const images = new CandidateImages(options.datasetsDir);
  const files = staticFiles();

  const route = async (req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> => {
    const path = url.pathname;
    if (path === '/healthz') {
      res.writeHead(200, { 'Content-Type': 'text/plain' });
      res.end('ok\n');
      return;
    }
    if (token !== null) {
      const how = presentedToken(req, url, token);
      if (how === null) {
        sendJson(res, 401, {
          error: 'this dashboard needs its token: Authorization: Bearer <DG_DASHBOARD_TOKEN>, or open the page once with ?token=<DG_DASHBOARD_TOKEN>',
        });
        return;
      }
      if (how === 'query') res.setHeader('Set-Cookie', `${TOKEN_COOKIE}=${encodeURIComponent(token)}; HttpOnly; SameSite=Strict; Path=/`);
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      sendJson(res, 405, { error: `${req.method} not allowed: the dashboard is read-only` });
      return;
    }
    if (path === '/favicon.ico') {
      res.writeHead(204).end();
      return;
    }
    const file = files[path];
    if (file) {
      const body = await readFile(file.file);
      res.writeHead(200, { ...SECURITY_HEADERS, 'Content-Type': file.type, 'Cache-Control': 'no-cache' });
      res.end(body);
      return;
    }
    if (path === '/api/overview') return sendJson(res, 200, await api.overview(url.searchParams));
    if (path === '/api/facets') return sendJson(res, 200, await api.facets());
    if (path === '/api/games') return sendJson(res, 200, await api.games(url.searchParams));
    // Game ids are the launcher's (letters, digits, - _ .); anything else is not a game.
    const image = /^\/api\/games\/([A-Za-z0-9._-]{1,200})\/candidates\/(\d{1,2})\/image$/.exec(path);
    if (image) return serveImage(res, image[1], Number(image[2]));
    const game = /^\/api\/games\/([A-Za-z0-9._-]{1,200})$/.exec(path);
    if (game) {
      const detail = await api.game(game[1]);
      return detail === undefined ? sendJson(res, 404, { error: `no game ${game[1]}` }) : sendJson(res, 200, detail);
    }
    sendJson(res, 404, { error: `no such page: ${path}` });
  };

  const serveImage = async (res: ServerResponse, gameId: string, index: number): Promise<void> => {
    const row = await api.gameRow(gameId);
    if (!row) return sendJson(res, 404, { error: `no game ${gameId}` });
    const ids = row.candidate_ids as string[];
    if (index >= ids.length) return sendJson(res, 404, { error: `game ${gameId} has ${ids.length} candidates, no index ${index}` });
    try {
      const { bytes, mediaType, sha256 } = await images.bytes(String(row.dataset), ids[index]);
      res.writeHead(200, {
        ...SECURITY_HEADERS,
        'Content-Type': mediaType,
        'Content-Length': bytes.length,
        ETag: `"${sha256}"`,
        'Cache-Control': 'private, max-age=3600',
      });
      res.end(bytes);
    } catch (err) {
      if (err instanceof ImageNotServed) return sendJson(res, err.status, { error: err.message });
      throw err;
    }
  };

  const server: Server = createServer((req, res) => {
    let url: URL;
    try {
      url = new URL(req.url ?? '/', 'http://dashboard.invalid');
    } catch {
      return sendJson(res, 400, { error: 'bad request URL' });
    }
    route(req, res, url).catch((err: unknown) => {
      if (err instanceof BadRequest) return sendJson(res, 400, { error: err.message });
      logger.error('dashboard request failed', { path: url.pathname, error: err });
      if (!res.headersSent) sendJson(res, 500, { error: `internal error: ${(err as Error).message}` });
      else res.destroy();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) =>
      reject(
        err.code === 'EADDRINUSE'
          ? new Error(`cannot start the dashboard: ${options.host}:${options.port} is in use (set DG_DASHBOARD_PORT, or --port 0 for any free port)`, {
              cause: err,
            })
          : err,
      ),
    );
    server.listen(options.port, options.host, () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  const hostForUrl = options.host.includes(':') ? `[${options.host}]` : options.host;
  return {
    url: `http://${hostForUrl}:${port}`,
    port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
