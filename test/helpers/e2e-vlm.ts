import { createHash, randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A recording HTTP proxy in front of an OpenAI-compatible endpoint (the simulated VLM), so tests see
 * exactly what each role sent to its model without touching the simulator. It can also answer some
 * requests itself (e.g. nonsense for one model name) to inject model misbehaviour into chosen games.
 */

/** What one chat-completions request carried, in a form tests can compare. */
export interface RecordedRequest {
  /** From the system prompt, the way the simulator tells roles apart. */
  role: 'questioner' | 'answerer' | 'unknown';
  model: string;
  /** SHA-256 of each image's decoded bytes, in the order the images appear; non-data URLs as `url:<url>`. */
  imageHashes: string[];
  /** Every text part and string content, joined: what a reader of the request (minus images) sees. */
  text: string;
  /** Previous model outputs replayed in the conversation. */
  assistantMessages: number;
  /** SHA-256 of the raw request body: identical requests have identical hashes. */
  bodySha256: string;
}

export interface RecordingProxy {
  /** http://127.0.0.1:port/v1: the base URL to configure a role with. */
  baseUrl: string;
  readonly requests: RecordedRequest[];
  close(): Promise<void>;
}

export interface RecordingProxyOptions {
  /** Base URL of the real endpoint, e.g. the simulator's http://127.0.0.1:port/v1. */
  upstreamBaseUrl: string;
  /** Answer a request here instead of forwarding: the completion text to return, or undefined to forward. */
  reply?: (request: RecordedRequest) => string | undefined;
  /** Default 0 (any free port); a fixed one brings an endpoint a role already knows to life. */
  port?: number;
}

interface ChatBody {
  model?: unknown;
  messages?: Array<{ role?: unknown; content?: unknown }>;
}

export function summarizeRequest(raw: string): RecordedRequest {
  const body = JSON.parse(raw) as ChatBody;
  const imageHashes: string[] = [];
  const texts: string[] = [];
  let system = '';
  let assistantMessages = 0;
  for (const message of body.messages ?? []) {
    if (message.role === 'assistant') assistantMessages++;
    const parts = typeof message.content === 'string' ? [{ type: 'text', text: message.content }] : Array.isArray(message.content) ? message.content : [];
    for (const part of parts as Array<{ type?: string; text?: string; image_url?: { url?: string } }>) {
      if (part.type === 'text' && typeof part.text === 'string') {
        texts.push(part.text);
        if (message.role === 'system') system += part.text;
      } else if (part.type === 'image_url') {
        imageHashes.push(imageHash(part.image_url?.url ?? ''));
      }
    }
  }
  const role = /questioner/i.test(system) ? 'questioner' : /answerer/i.test(system) ? 'answerer' : 'unknown';
  return {
    role,
    model: String(body.model ?? ''),
    imageHashes,
    text: texts.join('\n'),
    assistantMessages,
    bodySha256: createHash('sha256').update(raw).digest('hex'),
  };
}

function imageHash(url: string): string {
  const match = /^data:[^;,]*;base64,(.*)$/s.exec(url);
  if (!match) return `url:${url}`;
  return createHash('sha256').update(Buffer.from(match[1]!, 'base64')).digest('hex');
}

/** An OpenAI chat.completion object with `content`, the shape the openai client expects. */
function completion(model: string, content: string): object {
  return {
    id: `chatcmpl-e2e-${randomUUID()}`,
    object: 'chat.completion',
    created: Math.floor(Date.now() / 1000),
    model,
    choices: [{ index: 0, message: { role: 'assistant', content, refusal: null }, finish_reason: 'stop', logprobs: null }],
    usage: { prompt_tokens: 1, completion_tokens: 1, total_tokens: 2 },
  };
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

export async function startRecordingProxy(options: RecordingProxyOptions): Promise<RecordingProxy> {
  const upstream = options.upstreamBaseUrl.replace(/\/+$/, '');
  const requests: RecordedRequest[] = [];

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const raw = await readBody(req);
    const path = (req.url ?? '/').replace(/^\/v1/, '');
    if (req.method === 'POST' && path.startsWith('/chat/completions')) {
      const recorded = summarizeRequest(raw);
      requests.push(recorded);
      const text = options.reply?.(recorded);
      if (text !== undefined) {
        const payload = JSON.stringify(completion(recorded.model, text));
        res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) });
        res.end(payload);
        return;
      }
    }
    const headers: Record<string, string> = {};
    for (const name of ['content-type', 'authorization']) {
      const value = req.headers[name];
      if (typeof value === 'string') headers[name] = value;
    }
    const forwarded = await fetch(`${upstream}${path}`, {
      method: req.method ?? 'GET',
      headers,
      ...(raw === '' ? {} : { body: raw }),
      signal: AbortSignal.timeout(60_000),
    });
    const payload = Buffer.from(await forwarded.arrayBuffer());
    res.writeHead(forwarded.status, { 'content-type': forwarded.headers.get('content-type') ?? 'application/json', 'content-length': payload.length });
    res.end(payload);
  };

  const server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      if (res.headersSent) return void res.destroy();
      const payload = JSON.stringify({ error: { message: `e2e proxy: ${String(err)}`, type: 'server_error' } });
      res.writeHead(502, { 'content-type': 'application/json' });
      res.end(payload);
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    baseUrl: `http://127.0.0.1:${port}/v1`,
    requests,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((err) => (err ? reject(err) : resolve()));
        server.closeAllConnections();
      }),
  };
}

/** A local port nothing listens on (bound, then released): an unreachable endpoint for a role. */
export async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}
