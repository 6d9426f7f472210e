import type { IncomingMessage } from 'node:http';
import { isLoopbackHost, presentedToken, requiredToken, TOKEN_COOKIE } from './auth';

const TOKEN = 'a-long-enough-token-123';

function req(headers: Record<string, string>): IncomingMessage {
  return { headers } as unknown as IncomingMessage;
}

describe('dashboard token', () => {
  it('knows loopback binds', () => {
    for (const h of ['127.0.0.1', '127.1.2.3', 'localhost', '::1', '[::1]']) expect(isLoopbackHost(h)).toBe(true);
    for (const h of ['0.0.0.0', '::', '10.0.0.5', '192.168.1.2', 'dashboard.example.com']) expect(isLoopbackHost(h)).toBe(false);
  });

  it('refuses to serve beyond loopback without DG_DASHBOARD_TOKEN, and refuses a short token', () => {
    expect(requiredToken('127.0.0.1', '')).toBeNull();
    expect(() => requiredToken('0.0.0.0', '')).toThrow(/DG_DASHBOARD_TOKEN must be set when the dashboard binds to 0\.0\.0\.0/);
    expect(() => requiredToken('0.0.0.0', 'short')).toThrow(/at least 16 characters/);
    expect(requiredToken('0.0.0.0', TOKEN)).toBe(TOKEN);
    // A token set on loopback is enforced too.
    expect(requiredToken('127.0.0.1', TOKEN)).toBe(TOKEN);
  });

  it('accepts the token as bearer, cookie or query parameter, and nothing else', () => {
    const url = new URL('http://x/api/overview');
    expect(presentedToken(req({ authorization: `Bearer ${TOKEN}` }), url, TOKEN)).toBe('bearer');
    expect(presentedToken(req({ cookie: `a=b; ${TOKEN_COOKIE}=${TOKEN}` }), url, TOKEN)).toBe('cookie');
    expect(presentedToken(req({}), new URL(`http://x/?token=${TOKEN}`), TOKEN)).toBe('query');
    expect(presentedToken(req({}), url, TOKEN)).toBeNull();
    expect(presentedToken(req({ authorization: `Bearer ${TOKEN}x` }), url, TOKEN)).toBeNull();
    expect(presentedToken(req({ authorization: `Basic ${TOKEN}` }), url, TOKEN)).toBeNull();
    expect(presentedToken(req({ cookie: `${TOKEN_COOKIE}=wrong-token-of-some-length` }), new URL('http://x/?token=nope'), TOKEN)).toBeNull();
  });
});
