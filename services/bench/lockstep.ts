import type { GameState } from '../../schemas/generated/events';
import { ImageUrlResolver, turnSeed } from '../role-runtime';
import {
  answererRequestKind,
  buildAnswererMessages,
  buildQuestionerMessages,
  decideAnswererStep,
  decideQuestionerStep,
  nextSpeaker,
  parseAnswererOutput,
  parseQuestionerOutput,
  type ModelCall,
  loadPrompts,
} from '../game';

/**
 * The lock-step baseline: how batch pipelines (distilabel- or clembench-style runners) play games.
 * Every game in flight is advanced by one turn per batch; a batch runs one model step at a time
 * (the questioner's calls of every game whose turn it is, then the answerer's; at most
 * `concurrency` at once per endpoint, like the roles), and each step waits for its slowest call. A game that ends is replaced by the next one, so the number in
 * flight stays the same as the streaming run's. Requests and parsing are the roles' own.
 */
export interface LockStepOptions {
  /** Endpoint base URLs (`…/v1`) per role. */
  urls: { questioner: string; answerer: string };
  model: string;
  concurrency: number;
  /** Stops after the batch running when this much time has passed. */
  durationMs: number;
  signal: AbortSignal;
}

export interface LockStepResult {
  calls: number;
  batches: number;
  gamesFinished: number;
  elapsedMs: number;
}

export async function lockStep(nextGame: (index: number) => GameState, inFlight: number, options: LockStepOptions): Promise<LockStepResult> {
  const images = new ImageUrlResolver();
  const call = (text: string): ModelCall => ({ text, latencyMs: 0, promptTokens: 0, completionTokens: 0, costUsd: 0 });
  let launched = 0;
  const games: GameState[] = [];
  while (games.length < inFlight) games.push(nextGame(launched++));
  let calls = 0;
  let batches = 0;
  let gamesFinished = 0;
  const started = performance.now();
  const pools = { questioner: new Pool(options.concurrency), answerer: new Pool(options.concurrency) };

  const advance = async (game: GameState): Promise<GameState | undefined> => {
    const seed = turnSeed(game);
    if (nextSpeaker(game) === 'questioner') {
      const messages = buildQuestionerMessages(game, await images.urlsFor(game.setup.candidates), loadPrompts(game.setup.questioner.promptVersion));
      const text = await pools.questioner.run(() => complete(options.urls.questioner, options.model, messages, seed, options.signal));
      calls++;
      const decided = decideQuestionerStep(game, parseQuestionerOutput(text, game.setup.candidates.length), call(text), Date.now());
      return decided.kind === 'end' ? undefined : decided.event.game;
    }
    const target = game.setup.candidates[game.setup.targetIndex]!;
    const messages = buildAnswererMessages(game, await images.urlFor(target), loadPrompts(game.setup.answerer.promptVersion));
    const text = await pools.answerer.run(() => complete(options.urls.answerer, options.model, messages, seed, options.signal));
    calls++;
    const parsed = parseAnswererOutput(text, game.setup.questionMode, answererRequestKind(game));
    const decided = decideAnswererStep(game, parsed, call(text), Date.now());
    return decided.kind === 'end' ? undefined : decided.event.game;
  };

  while (performance.now() - started < options.durationMs) {
    options.signal.throwIfAborted();
    // One batch: every game one turn, one model at a time as batch pipelines run their steps (the
    // questioner step over every game whose turn it is, then the answerer step); each step ends
    // with its slowest call.
    const next: Array<GameState | undefined> = new Array(games.length);
    for (const speaker of ['questioner', 'answerer'] as const) {
      const indexes = games.flatMap((game, i) => (nextSpeaker(game) === speaker ? [i] : []));
      const moved = await Promise.all(indexes.map((i) => advance(games[i]!)));
      indexes.forEach((gameIndex, k) => (next[gameIndex] = moved[k]));
    }
    batches++;
    for (let i = 0; i < games.length; i++) {
      const moved = next[i];
      if (moved) games[i] = moved;
      else {
        gamesFinished++;
        games[i] = nextGame(launched++);
      }
    }
  }
  return { calls, batches, gamesFinished, elapsedMs: performance.now() - started };
}

/** At most `limit` tasks at once, first come first served. */
export class Pool {
  private running = 0;
  private readonly waiting: Array<() => void> = [];

  constructor(private readonly limit: number) {}

  async run<T>(task: () => Promise<T>): Promise<T> {
    // A finishing task hands its slot straight to the first waiter, so the limit is never exceeded.
    if (this.running >= this.limit) await new Promise<void>((resolve) => this.waiting.push(resolve));
    else this.running++;
    try {
      return await task();
    } finally {
      const next = this.waiting.shift();
      if (next) next();
      else this.running--;
    }
  }
}

async function complete(baseUrl: string, model: string, messages: unknown, seed: number, signal: AbortSignal): Promise<string> {
  const response = await fetch(`${baseUrl}/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: 'Bearer sim-local' },
    body: JSON.stringify({ model, messages, seed, temperature: 0 }),
    signal,
  });
  if (!response.ok) throw new Error(`lock-step call to ${baseUrl} answered ${response.status}: ${(await response.text()).slice(0, 200)}`);
  const body = (await response.json()) as { choices?: Array<{ message?: { content?: string | null } }> };
  return body.choices?.[0]?.message?.content ?? '';
}
