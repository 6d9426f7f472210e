import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import OpenAI from 'openai';
import { CALLER_SIGNAL, isNodeHttpFetch, nodeHttpFetch } from './node-http-fetch';

/**
 * The model client's node:http fetch answers like the global fetch: same status, headers and body
 * text for the same request, whatever way the body is read (it skips the web stream for text/json).
 * A local node:http server on 127.0.0.1, port 0, stands in for a model endpoint.
 */
interface Seen {
  method: string;
  url: string;
  headers: IncomingMessage['headers'];
  body: Buffer;
}
type Handler = (res: ServerResponse) => void;

let server: Server;
let base: string;
let handler: Handler;
let seen: Seen[];
const fetchNode = nodeHttpFetch();

beforeAll(async () => {
  server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      seen.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks) });
      handler(res);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

beforeEach(() => {
  seen = [];
});

/** Raw bytes: a BOM, a multi-byte character and an invalid UTF-8 sequence. */
const ODD_UTF8 = Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from('{"a":"é😀'), Buffer.from([0xc3, 0x28, 0xff]), Buffer.from('"}')]);

function answerWith(status: number, body: Buffer | string | null, headers: Array<[string, string]> = []): Handler {
  return (res) => {
    const flat: string[] = [];
    for (const [name, value] of headers) flat.push(name, value);
    res.writeHead(status, flat);
    res.end(body ?? undefined);
  };
}

const read = {
  text: (r: Response) => r.text(),
  json: (r: Response) => r.json(),
  arrayBuffer: async (r: Response) => Buffer.from(await r.arrayBuffer()).toString('hex'),
  bytes: async (r: Response) => Buffer.from(await r.bytes()).toString('hex'),
  blob: async (r: Response) => (await r.blob()).text(),
  body: async (r: Response) => {
    const chunks: Buffer[] = [];
    for await (const chunk of r.body!) chunks.push(Buffer.from(chunk));
    return Buffer.concat(chunks).toString('hex');
  },
  clone: async (r: Response) => [await r.clone().text(), await r.text()],
} as const;

describe('nodeHttpFetch', () => {
  it.each(Object.keys(read) as Array<keyof typeof read>)('gives the same answer as the global fetch when the body is read by %s', async (how) => {
    const body = how === 'json' ? Buffer.from('{"choices":[{"message":{"content":"é"}}]}') : ODD_UTF8;
    handler = answerWith(200, body, [
      ['Content-Type', 'application/json'],
      ['X-Request-Id', 'r1'],
      ['Set-Cookie', 'a=1'],
      ['Set-Cookie', 'b=2'],
      ['X-Dup', 'one'],
      ['X-Dup', 'two'],
    ]);
    const viaNode = await fetchNode(`${base}/v1/chat/completions`, { method: 'POST', body: '{}' });
    const viaGlobal = await fetch(`${base}/v1/chat/completions`, { method: 'POST', body: '{}' });
    expect(viaNode).toBeInstanceOf(Response);
    expect([viaNode.status, viaNode.statusText, viaNode.ok, viaNode.bodyUsed]).toEqual([viaGlobal.status, viaGlobal.statusText, viaGlobal.ok, false]);
    expect([...viaNode.headers.entries()].filter(([name]) => name !== 'date' && name !== 'keep-alive' && name !== 'connection')).toEqual(
      [...viaGlobal.headers.entries()].filter(([name]) => name !== 'date' && name !== 'keep-alive' && name !== 'connection'),
    );
    expect(viaNode.headers.getSetCookie()).toEqual(['a=1', 'b=2']);
    expect(await read[how](viaNode)).toEqual(await read[how](viaGlobal));
    expect(viaNode.bodyUsed).toBe(true);
    // A body is read once.
    // (Errors are compared by name and message: Node's built-ins come from another realm than jest's.)
    await expect(viaNode.text()).rejects.toMatchObject({ name: 'TypeError', message: expect.stringMatching(/unusable/) });
    await expect(viaNode.json()).rejects.toMatchObject({ name: 'TypeError', message: expect.stringMatching(/unusable/) });
  });

  it('rejects a body that is not JSON from json() as the global fetch does', async () => {
    handler = answerWith(200, 'not json', [['Content-Type', 'application/json']]);
    const expected = (await fetch(`${base}/x`)
      .then((r) => r.json())
      .catch((e: Error) => ({ name: e.name, message: e.message }))) as { name: string; message: string };
    expect(expected).toMatchObject({ name: 'SyntaxError' });
    const viaNode = fetchNode(`${base}/x`).then((r) => r.json());
    await expect(viaNode).rejects.toMatchObject(expected);
  });

  it('answers 204 and 304 with no body, and error statuses with theirs', async () => {
    handler = answerWith(204, null);
    const empty = await fetchNode(`${base}/x`, { method: 'POST', body: 'x' });
    expect([empty.status, empty.body, await empty.text()]).toEqual([204, null, '']);
    handler = answerWith(503, '{"error":{"message":"busy"}}', [['Retry-After', '2']]);
    const busy = await fetchNode(`${base}/x`);
    expect([busy.status, busy.ok, busy.headers.get('retry-after'), await busy.text()]).toEqual([503, false, '2', '{"error":{"message":"busy"}}']);
  });

  it('sends a string body as its UTF-8 bytes with their length, the headers given, to the path and query given', async () => {
    handler = answerWith(200, 'ok');
    const text = '{"q":"é😀 ünïcödé"}';
    const headers = new Headers({ 'content-type': 'application/json', authorization: 'Bearer k', 'x-stainless-retry-count': '0' });
    await (await fetchNode(`${base}/v1/chat/completions?api-version=1&x=%20y`, { method: 'POST', body: text, headers })).text();
    await (await fetchNode(new URL(`${base}/v1/plain`), { method: 'POST', body: new TextEncoder().encode('bytes'), headers: { 'x-a': 'b' } })).text();
    expect(seen.map((s) => [s.method, s.url, s.body.toString('utf8'), s.headers['content-length']])).toEqual([
      ['POST', '/v1/chat/completions?api-version=1&x=%20y', text, String(Buffer.byteLength(text))],
      ['POST', '/v1/plain', 'bytes', '5'],
    ]);
    expect(seen[0]!.headers).toMatchObject({ 'content-type': 'application/json', authorization: 'Bearer k', 'x-stainless-retry-count': '0' });
    expect(seen[1]!.headers['x-a']).toBe('b');
  });

  it('fails a refused connection with TypeError("fetch failed") and its system cause, as the global fetch does', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    const error = (await fetchNode(`http://127.0.0.1:${port}/x`).catch((e: unknown) => e)) as TypeError & { cause?: { code?: string } };
    expect(error).toBeInstanceOf(TypeError);
    expect(error.message).toBe('fetch failed');
    expect(error.cause?.code).toBe('ECONNREFUSED');
  });

  it('stops on the caller signal it is handed under CALLER_SIGNAL too, with the reason of that signal', async () => {
    expect(isNodeHttpFetch(fetchNode)).toBe(true);
    expect(isNodeHttpFetch(fetch)).toBe(false);
    handler = () => undefined; // never answers
    const timeout = new AbortController();
    const caller = new AbortController();
    const pending = fetchNode(`${base}/x`, { signal: timeout.signal, [CALLER_SIGNAL]: caller.signal } as RequestInit);
    setTimeout(() => caller.abort(new Error('caller stopped')), 20);
    await expect(pending).rejects.toThrow('caller stopped');
    const aborted = new AbortController();
    aborted.abort(new Error('already'));
    await expect(fetchNode(`${base}/x`, { [CALLER_SIGNAL]: aborted.signal } as RequestInit)).rejects.toThrow('already');
    // An answered request leaves no listener behind on either signal.
    handler = answerWith(200, 'ok');
    const again = new AbortController();
    const answer = await fetchNode(`${base}/x`, { signal: timeout.signal, [CALLER_SIGNAL]: again.signal } as RequestInit);
    again.abort(new Error('late'));
    expect(await answer.text()).toBe('ok');
  });

  it('rejects with the signal reason when aborted before or during the request', async () => {
    const before = new AbortController();
    before.abort(new Error('stop before'));
    await expect(fetchNode(`${base}/x`, { signal: before.signal })).rejects.toThrow('stop before');
    handler = () => undefined; // never answers
    const during = new AbortController();
    const pending = fetchNode(`${base}/x`, { signal: during.signal });
    setTimeout(() => during.abort(new Error('stop during')), 20);
    await expect(pending).rejects.toThrow('stop during');
  });

  it('rejects a plain abort() with an Error of this realm named AbortError, so the openai client tells its own timeout by it', async () => {
    // Under jest this module runs in a VM context: abort()'s DOMException comes from Node's realm
    // and is no `Error` here; the openai client would cast it to `new Error('{}')` and call its
    // timeout a connection failure.
    const aborted = new AbortController();
    aborted.abort();
    const before = await fetchNode(`${base}/x`, { signal: aborted.signal }).catch((e: unknown) => e);
    expect(before).toBeInstanceOf(Error);
    expect(before).toMatchObject({ name: 'AbortError', message: 'This operation was aborted', cause: aborted.signal.reason });
    handler = () => undefined; // never answers
    const during = new AbortController();
    const pending = fetchNode(`${base}/x`, { signal: during.signal }).catch((e: unknown) => e);
    setTimeout(() => during.abort(), 20);
    expect(await pending).toMatchObject({ name: 'AbortError' });
    expect(await pending).toBeInstanceOf(Error);

    const client = new OpenAI({ apiKey: 'k', baseURL: `${base}/v1`, fetch: fetchNode, timeout: 100, maxRetries: 0 });
    const timedOut = await client.chat.completions.create({ model: 'm', messages: [{ role: 'user', content: 'hi' }] }).catch((e: unknown) => e);
    expect(timedOut).toBeInstanceOf(OpenAI.APIConnectionTimeoutError);
  });
});
