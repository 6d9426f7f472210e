import { timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { isIP } from 'node:net';

/** The cookie the page keeps the token in once it was opened with `?token=`. */
export const TOKEN_COOKIE = 'dg_dashboard_token';

/** 127.0.0.0/8, ::1 and localhost: the only binds that may go without a token. */
export function isLoopbackHost(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '').toLowerCase();
  if (h === 'localhost') return true;
  if (isIP(h) === 4) return h.startsWith('127.');
  if (isIP(h) === 6) return h === '::1' || h === '0:0:0:0:0:0:0:1' || /^::ffff:127\./.test(h);
  return false;
}

/**
 * The token the dashboard requires, or null when none is needed. Bound beyond loopback without
 * DG_DASHBOARD_TOKEN it refuses to start rather than serve every game to the network.
 */
export function requiredToken(host: string, token: string): string | null {
  if (token !== '') {
    if (token.length < 16) throw new Error('DG_DASHBOARD_TOKEN must be at least 16 characters');
    return token;
  }
  if (!isLoopbackHost(host)) {
    throw new Error(
      `DG_DASHBOARD_TOKEN must be set when the dashboard binds to ${host}, which is not a loopback address (or bind DG_DASHBOARD_HOST=127.0.0.1)`,
    );
  }
  return null;
}

function same(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

function cookieValue(header: string | undefined, name: string): string | undefined {
  for (const part of (header ?? '').split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) {
      try {
        return decodeURIComponent(part.slice(eq + 1).trim());
      } catch {
        return undefined;
      }
    }
  }
  return undefined;
}

/** How a request presented the token: `bearer`, `cookie`, `query`, or null when it did not (or it was wrong). */
export function presentedToken(req: IncomingMessage, url: URL, token: string): 'bearer' | 'cookie' | 'query' | null {
  const auth = req.headers.authorization;
  if (auth?.startsWith('Bearer ') && same(auth.slice(7).trim(), token)) return 'bearer';
  const cookie = cookieValue(req.headers.cookie, TOKEN_COOKIE);
  if (cookie !== undefined && same(cookie, token)) return 'cookie';
  const query = url.searchParams.get('token');
  if (query !== null && same(query, token)) return 'query';
  return null;
}
