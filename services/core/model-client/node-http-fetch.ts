import { Agent as HttpAgent, request as httpRequest, type IncomingMessage, type OutgoingHttpHeaders } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';

/**
 * A `fetch` for the openai client over node:http(s) with keep-alive agents, instead of the global
 * (undici) fetch. The openai client spends most of its CPU per call in undici's fetch machinery
 * (spec steps, web streams, abort plumbing); this does one node:http request, buffers the answer
 * and hands back a `Response` built from the bytes. Measured in the bound bench (issue 10).
 *
 * Scope: what the model client sends — string / bytes bodies, non-streaming answers. Anything else
 * (a FormData or stream body, a non-http URL) goes to the global fetch unchanged. Aborting the
 * signal destroys the request and rejects with the signal's reason, as fetch does; a socket error
 * rejects with a TypeError('fetch failed') whose `cause` is the system error, as undici's does, so
 * the client's connection-error handling sees the same shape.
 */
export interface NodeHttpFetchOptions {
  /** Most sockets per origin (default: unlimited; the model client's limiter bounds requests). */
  maxSockets?: number;
  /** Idle keep-alive sockets are closed after this long (default 4 s, under common servers' 5 s). */
  idleTimeoutMs?: number;
}

const NULL_BODY_STATUS = new Set([101, 103, 204, 205, 304]);

export function nodeHttpFetch(options: NodeHttpFetchOptions = {}): typeof fetch {
  const agentOptions = { keepAlive: true, maxSockets: options.maxSockets ?? Infinity, timeout: options.idleTimeoutMs ?? 4_000 };
  const http = new HttpAgent(agentOptions);
  const https = new HttpsAgent(agentOptions);
  const fallback = globalThis.fetch;

  const nodeFetch = (input: string | URL | Request, init: RequestInit = {}): Promise<Response> => {
    if (typeof input !== 'string' && !(input instanceof URL)) return fallback(input, init);
    const body = init.body;
    const plainBody = body === undefined || body === null || typeof body === 'string' || body instanceof Uint8Array;
    const url = typeof input === 'string' ? new URL(input) : input;
    const secure = url.protocol === 'https:';
    if (!plainBody || (!secure && url.protocol !== 'http:')) return fallback(input, init);
    const signal = init.signal ?? undefined;
    if (signal?.aborted) return Promise.reject(signal.reason);
    const headers: OutgoingHttpHeaders = {};
    if (init.headers) for (const [name, value] of new Headers(init.headers)) headers[name] = value;
    const payload = body === undefined || body === null ? undefined : typeof body === 'string' ? Buffer.from(body, 'utf8') : body;
    if (payload !== undefined) headers['content-length'] = String(payload.byteLength);

    return new Promise<Response>((resolve, reject) => {
      let settled = false;
      const fail = (error: unknown): void => {
        if (settled) return;
        settled = true;
        signal?.removeEventListener('abort', onAbort);
        reject(error);
      };
      const onAbort = (): void => {
        const reason: unknown = signal!.reason;
        // The reason travels to node:http's error channel too (metrics tell aborted/timeout from network).
        req.destroy(reason instanceof Error ? reason : undefined);
        fail(reason);
      };
      const onAnswer = (answer: IncomingMessage): void => {
        const chunks: Buffer[] = [];
        answer.on('data', (chunk: Buffer) => chunks.push(chunk));
        answer.on('error', (error) => fail(new TypeError('fetch failed', { cause: error })));
        answer.on('end', () => {
          if (settled) return;
          settled = true;
          signal?.removeEventListener('abort', onAbort);
          const status = answer.statusCode ?? 0;
          const responseHeaders = new Headers();
          for (const [name, value] of Object.entries(answer.headers)) {
            if (Array.isArray(value)) for (const v of value) responseHeaders.append(name, v);
            else if (value !== undefined) responseHeaders.set(name, value);
          }
          try {
            resolve(
              new Response(NULL_BODY_STATUS.has(status) ? null : Buffer.concat(chunks), {
                status,
                statusText: answer.statusMessage ?? '',
                headers: responseHeaders,
              }),
            );
          } catch (error) {
            reject(new TypeError('fetch failed', { cause: error }));
          }
        });
      };
      const options = { method: init.method ?? 'GET', headers, agent: secure ? https : http };
      const req = secure ? httpsRequest(url, options, onAnswer) : httpRequest(url, options, onAnswer);
      req.on('error', (error) => fail(new TypeError('fetch failed', { cause: error })));
      signal?.addEventListener('abort', onAbort, { once: true });
      req.end(payload);
    });
  };
  return nodeFetch as typeof fetch;
}
