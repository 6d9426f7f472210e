import { sql } from '../../services/core/clickhouse';
import { startDashboardServer } from '../../services/dashboard/server';
import { connectTestDatabase } from '../clickhouse/helpers';
import { migrateClickHouse } from '../../services/core/clickhouse';
import { loadConfig } from '../../services/core/config';

/**
 * The dashboard behind its token (issue 12): bound beyond loopback without DG_DASHBOARD_TOKEN it does
 * not start; with a token, every request but /healthz needs it (bearer, cookie, or ?token= which
 * sets the cookie for the page's own requests).
 */
const TOKEN = 'test-token-0123456789abcdef';

it('refuses to start on a non-loopback address without a token', async () => {
  const { connection, database, drop } = await connectTestDatabase('dash_token');
  try {
    await expect(startDashboardServer({ ch: connection, database, datasetsDir: '/nonexistent', host: '0.0.0.0', port: 0, token: '' })).rejects.toThrow(
      /DG_DASHBOARD_TOKEN must be set/,
    );
  } finally {
    await drop();
  }
});

it('checks the token on every request except /healthz', async () => {
  const { connection, database, drop } = await connectTestDatabase('dash_token');
  await migrateClickHouse({ ...loadConfig().clickhouse, database });
  await connection.command(sql`SELECT 1`);
  const server = await startDashboardServer({ ch: connection, database, datasetsDir: '/nonexistent', host: '127.0.0.1', port: 0, token: TOKEN });
  try {
    for (const path of ['/', '/app.js', '/api/overview', '/api/games', '/api/games/x', '/api/games/x/candidates/0/image', '/vendor/chart.umd.js']) {
      expect({ path, status: (await fetch(`${server.url}${path}`)).status }).toEqual({ path, status: 401 });
      expect({ path, status: (await fetch(`${server.url}${path}`, { headers: { authorization: 'Bearer wrong-token-wrong-token' } })).status }).toEqual({
        path,
        status: 401,
      });
    }
    expect((await fetch(`${server.url}/healthz`)).status).toBe(200);
    expect((await fetch(`${server.url}/api/overview`, { headers: { authorization: `Bearer ${TOKEN}` } })).status).toBe(200);
    const page = await fetch(`${server.url}/?token=${TOKEN}`);
    expect(page.status).toBe(200);
    const cookie = page.headers.get('set-cookie')!;
    expect(cookie).toMatch(/HttpOnly/);
    expect((await fetch(`${server.url}/api/games`, { headers: { cookie: cookie.split(';')[0] } })).status).toBe(200);
  } finally {
    await server.close();
    await drop();
  }
}, 60_000);
