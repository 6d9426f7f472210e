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
 * signal destroys the request and rejects with the signal's reason, as fetch does (made an Error of
 * this realm when it is not one: see abortReason); a socket error rejects with a TypeError('fetch
 * failed') whose `cause` is the system error, as undici's does, so the client's connection-error
 * handling sees the same shape.
 */
export interface NodeHttpFetchOptions {
  /** Most sockets per origin (default: unlimited; the model client's limiter bounds requests). */
  maxSockets?: number;
  /** Idle keep-alive sockets are closed after this long (default 4 s, under common servers' 5 s). */
  idleTimeoutMs?: number;
}

/**
 * A second abort signal the request init may carry under this key (the caller's, handed through the
 * openai client's per-request `fetchOptions`): the request stops when either signal fires, with that
 * signal's reason. Passing the caller's signal this way spares the client composing it with its own
 * timeout signal (AbortSignal.any) and listening to it on every request.
 */
export const CALLER_SIGNAL = 'dgCallerSignal';

/** Marks the fetches made by nodeHttpFetch (they honour CALLER_SIGNAL). */
const NODE_HTTP_FETCH = Symbol('nodeHttpFetch');

export function isNodeHttpFetch(fetchImpl: unknown): boolean {
  return typeof fetchImpl === 'function' && (fetchImpl as { [NODE_HTTP_FETCH]?: boolean })[NODE_HTTP_FETCH] === true;
}

/**
 * The signal's reason, as fetch rejects with it; except a reason that is not an Error of this
 * realm (the DOMException of `abort()` when this module runs in a VM context, as under jest) becomes
 * one with the same name and message. The openai client casts a non-Error to `new Error(JSON)`,
 * losing the name `AbortError` by which it tells its own timeout from a connection failure.
 */
function abortReason(signal: AbortSignal): unknown {
  const reason: unknown = signal.reason;
  if (reason instanceof Error || typeof reason !== 'object' || reason === null) return reason;
  const { name, message } = reason as { name?: unknown; message?: unknown };
  const error = new Error(typeof message === 'string' ? message : 'This operation was aborted', { cause: reason });
  error.name = typeof name === 'string' ? name : 'AbortError';
  return error;
}

const NULL_BODY_STATUS = new Set([101, 103, 204, 205, 304]);
/** Decodes like Response.text() (UTF-8, BOM stripped, invalid bytes replaced). */
const UTF8 = new TextDecoder();

/**
 * A `Response` whose body is already in memory: text()/json()/arrayBuffer()/bytes() read the bytes
 * directly instead of through a web stream (the openai client reads every answer with text()); the
 * `body` stream is only made when something asks for it, and then every read goes through it. A
 * body is read once, as with any Response.
 */
/** Response as a base class: TypeScript's lib declares Response's members as properties, which a subclass may not override. */
const ResponseBase = Response as unknown as new (body: null, init: ResponseInit) => Pick<Response, 'status' | 'statusText' | 'headers'>;

class BufferedResponse extends ResponseBase {
  #bytes: Buffer | null;
  #used = false;
  #full: Response | undefined;

  constructor(bytes: Buffer, init: ResponseInit) {
    super(null, init);
    this.#bytes = bytes;
  }

  /** The same answer as an ordinary Response (body stream included), made on first need. */
  #asResponse(): Response {
    if (this.#full === undefined) {
      if (this.#used) throw new TypeError('Body is unusable: Body has already been read');
      this.#full = new Response(this.#bytes, { status: this.status, statusText: this.statusText, headers: this.headers });
      this.#bytes = null;
    }
    return this.#full;
  }

  #take(): Buffer {
    if (this.#full !== undefined || this.#used) throw new TypeError('Body is unusable: Body has already been read');
    this.#used = true;
    const bytes = this.#bytes!;
    this.#bytes = null;
    return bytes;
  }

  get body(): ReadableStream<Uint8Array<ArrayBuffer>> | null {
    return this.#used ? null : this.#asResponse().body;
  }

  get bodyUsed(): boolean {
    return this.#used || (this.#full?.bodyUsed ?? false);
  }

  text(): Promise<string> {
    if (this.#full !== undefined) return this.#full.text();
    try {
      return Promise.resolve(UTF8.decode(this.#take()));
    } catch (error) {
      return Promise.reject(error);
    }
  }

  json(): Promise<unknown> {
    if (this.#full !== undefined) return this.#full.json();
    return this.text().then((text) => JSON.parse(text) as unknown);
  }

  arrayBuffer(): Promise<ArrayBuffer> {
    if (this.#full !== undefined) return this.#full.arrayBuffer();
    try {
      const bytes = this.#take();
      return Promise.resolve(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer);
    } catch (error) {
      return Promise.reject(error);
    }
  }

  bytes(): Promise<Uint8Array<ArrayBuffer>> {
    return this.arrayBuffer().then((buffer) => new Uint8Array(buffer));
  }

  blob(): Promise<Blob> {
    return this.#asResponse().blob();
  }

  formData(): Promise<FormData> {
    return this.#asResponse().formData();
  }

  clone(): Response {
    return this.#asResponse().clone();
  }
}

/** Where requests to a base URL go, parsed once per URL string (the client calls a few URLs over and over). */
interface Target {
  secure: boolean;
  hostname: string;
  port: string;
  path: string;
  /** Whether the URL has userinfo (the URL object handles that case). */
  url: URL | undefined;
}
const MAX_TARGETS = 256;

function targetOf(url: URL): Target {
  const userinfo = url.username !== '' || url.password !== '';
  return {
    secure: url.protocol === 'https:',
    hostname: url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname,
    port: url.port,
    path: `${url.pathname}${url.search}`,
    url: userinfo ? url : undefined,
  };
}

export function nodeHttpFetch(options: NodeHttpFetchOptions = {}): typeof fetch {
  const agentOptions = { keepAlive: true, maxSockets: options.maxSockets ?? Infinity, timeout: options.idleTimeoutMs ?? 4_000 };
  const http = new HttpAgent(agentOptions);
  const https = new HttpsAgent(agentOptions);
  const fallback = globalThis.fetch;
  const targets = new Map<string, Target>();

  const targetFor = (input: string | URL): Target | undefined => {
    if (typeof input !== 'string') return input.protocol === 'http:' || input.protocol === 'https:' ? targetOf(input) : undefined;
    let target = targets.get(input);
    if (target === undefined) {
      const url = new URL(input);
      if (url.protocol !== 'http:' && url.protocol !== 'https:') return undefined;
      target = targetOf(url);
      if (targets.size >= MAX_TARGETS) targets.clear();
      targets.set(input, target);
    }
    return target;
  };

  const nodeFetch = (input: string | URL | Request, init: RequestInit = {}): Promise<Response> => {
    if (typeof input !== 'string' && !(input instanceof URL)) return fallback(input, init);
    const body = init.body;
    const plainBody = body === undefined || body === null || typeof body === 'string' || body instanceof Uint8Array;
    if (!plainBody) return fallback(input, init);
    let target: Target | undefined;
    try {
      target = targetFor(input);
    } catch (error) {
      // An unparseable URL: fetch's own TypeError.
      return fallback(input, init);
    }
    if (target === undefined) return fallback(input, init);
    const signal = init.signal ?? undefined;
    const callerSignal = (init as { [CALLER_SIGNAL]?: AbortSignal })[CALLER_SIGNAL];
    // The caller's signal wins when both have fired.
    const firedSignal = (): AbortSignal | undefined => (callerSignal?.aborted ? callerSignal : signal?.aborted ? signal : undefined);
    const firedBefore = firedSignal();
    if (firedBefore) return Promise.reject(abortReason(firedBefore));
    const headers: OutgoingHttpHeaders = {};
    const given = init.headers;
    if (given instanceof Headers) given.forEach((value, name) => (headers[name] = value));
    else if (given) new Headers(given).forEach((value, name) => (headers[name] = value));
    // A string body is written as it is (encoded once, on the socket); its length in UTF-8 bytes is the Content-Length.
    const payload = body === undefined || body === null ? undefined : body;
    if (payload !== undefined) headers['content-length'] = String(typeof payload === 'string' ? Buffer.byteLength(payload, 'utf8') : payload.byteLength);

    return new Promise<Response>((resolve, reject) => {
      let settled = false;
      const fail = (error: unknown): void => {
        if (settled) return;
        settled = true;
        signal?.removeEventListener('abort', onAbort);
        callerSignal?.removeEventListener('abort', onAbort);
        reject(error);
      };
      const onAbort = (): void => {
        const reason = abortReason(firedSignal()!);
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
          callerSignal?.removeEventListener('abort', onAbort);
          const status = answer.statusCode ?? 0;
          // The raw header lines, in order and repeated as sent (a Headers init of [name, value] pairs).
          const raw = answer.rawHeaders;
          const responseHeaders: Array<[string, string]> = [];
          for (let i = 0; i + 1 < raw.length; i += 2) responseHeaders.push([raw[i]!, raw[i + 1]!]);
          const init: ResponseInit = { status, statusText: answer.statusMessage ?? '', headers: responseHeaders };
          try {
            const bytes = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks);
            resolve(NULL_BODY_STATUS.has(status) ? new Response(null, init) : (new BufferedResponse(bytes, init) as unknown as Response));
          } catch (error) {
            reject(new TypeError('fetch failed', { cause: error }));
          }
        });
      };
      const agent = target.secure ? https : http;
      const method = init.method ?? 'GET';
      const req = target.url
        ? (target.secure ? httpsRequest : httpRequest)(target.url, { method, headers, agent }, onAnswer)
        : (target.secure ? httpsRequest : httpRequest)(
            { protocol: target.secure ? 'https:' : 'http:', hostname: target.hostname, port: target.port, path: target.path, method, headers, agent },
            onAnswer,
          );
      req.on('error', (error) => fail(new TypeError('fetch failed', { cause: error })));
      signal?.addEventListener('abort', onAbort, { once: true });
      callerSignal?.addEventListener('abort', onAbort, { once: true });
      req.end(payload);
    });
  };
  return Object.assign(nodeFetch, { [NODE_HTTP_FETCH]: true }) as unknown as typeof fetch;
}
