import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { summarizeRequest, type RecordedRequest } from './e2e-vlm';

/**
 * A NON-deterministic OpenAI-compatible stub for journal/fork tests: every chat completion is drawn
 * with Math.random (no seed), so two calls for the same turn almost surely differ, and a forked game
 * shows up as two contents for one (game, turn). It is not a model: questioner requests get a random
 * question or a random guess, answerer requests a random yes/no/unsure. It counts what it served.
 */
export interface RandomVlm {
  baseUrl: string;
  /** Completions fully sent back, by role. */
  readonly served: { questioner: number; answerer: number; unknown: number };
  /** Requests received (served or not, e.g. cut by a killed client). */
  readonly received: RecordedRequest[];
  /** Requests being answered right now (waiting out their latency). */
  inFlight(): number;
  close(): Promise<void>;
}

export interface RandomVlmOptions {
  /** Extra latency per call, uniformly drawn from [min, max] ms (default 0). */
  latencyMs?: { min: number; max: number };
  /** Chance the questioner guesses instead of asking (default 0.3). */
  guessProbability?: number;
  /** Candidates a guess is drawn from (default 4). */
  candidates?: number;
}

const WORDS = ['red', 'blue', 'green', 'round', 'square', 'small', 'large', 'left', 'right', 'striped', 'shiny', 'dark'];

function pick<T>(items: readonly T[]): T {
  return items[Math.floor(Math.random() * items.length)]!;
}

export async function startRandomVlm(options: RandomVlmOptions = {}): Promise<RandomVlm> {
  const served = { questioner: 0, answerer: 0, unknown: 0 };
  const received: RecordedRequest[] = [];
  let inFlight = 0;
  const guessProbability = options.guessProbability ?? 0.3;
  const candidates = options.candidates ?? 4;

  const reply = (request: RecordedRequest): string => {
    if (request.role === 'answerer') return JSON.stringify({ answer: pick(['yes', 'no', 'unsure']) });
    if (Math.random() < guessProbability) return JSON.stringify({ guess: 1 + Math.floor(Math.random() * candidates) });
    return JSON.stringify({ question: `Is it ${pick(WORDS)} ${pick(WORDS)} #${Math.floor(Math.random() * 1e6)}?` });
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const path = (req.url ?? '/').replace(/^\/v1/, '');
    if (req.method !== 'POST' || !path.startsWith('/chat/completions')) {
      res.writeHead(404, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: { message: `no route ${req.method} ${req.url}` } }));
      return;
    }
    const request = summarizeRequest(Buffer.concat(chunks).toString('utf8'));
    received.push(request);
    inFlight++;
    try {
      const { latencyMs } = options;
      if (latencyMs) await new Promise((r) => setTimeout(r, latencyMs.min + Math.random() * (latencyMs.max - latencyMs.min)));
      if (res.destroyed || req.socket.destroyed) return;
      const content = reply(request);
      const payload = JSON.stringify({
        id: `chatcmpl-random-${randomUUID()}`,
        object: 'chat.completion',
        created: Math.floor(Date.now() / 1000),
        model: request.model,
        choices: [{ index: 0, message: { role: 'assistant', content, refusal: null }, finish_reason: 'stop', logprobs: null }],
        usage: { prompt_tokens: 100 + Math.floor(Math.random() * 50), completion_tokens: 5 + Math.floor(Math.random() * 10), total_tokens: 0 },
      });
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) });
      res.end(payload, () => {
        served[request.role]++;
      });
    } finally {
      inFlight--;
    }
  };

  const server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: { message: String(err) } }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    baseUrl: `http://127.0.0.1:${port}/v1`,
    served,
    received,
    inFlight: () => inFlight,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
