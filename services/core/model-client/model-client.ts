import OpenAI from 'openai';
import type { ChatCompletionCreateParamsNonStreaming, ChatCompletionMessageParam } from 'openai/resources/chat/completions';
import type { ModelSpec } from '../../../schemas/generated/events';
import type { ModelRoleSettings } from '../config';
import {
  AbortedError,
  emptyRetryCounts,
  ModelError,
  NonRetriableError,
  retry,
  type ModelErrorClass,
  type RetryCause,
  type RetryCounts,
  type RetryOptions,
  type RetryPolicy,
  type WaitPolicy,
} from '../errors';
import { createLogger, type Logger } from '../logging';
import { CALLER_SIGNAL, isNodeHttpFetch, nodeHttpFetch } from './node-http-fetch';
import { PROCESS_LIMITERS, type AdaptiveLimiter, type LimiterOutcome, type LimiterRegistry, type LimiterSettings } from './limiter';

export type { ChatCompletionMessageParam };

/** What one chat completion produced and cost. */
export interface ModelCompletion {
  text: string;
  promptTokens: number;
  completionTokens: number;
  /** Wall time of the successful attempt (queueing and earlier failed attempts excluded). */
  latencyMs: number;
  costUsd: number;
  /** Model name the request was sent with. */
  model: string;
  /** Attempts it took, 1 when the first one succeeded. */
  attempts: number;
  /** Failed attempts that were retried, by cause. */
  retries: RetryCounts;
  /** Prompt tokens the endpoint served from its cache (usage.prompt_tokens_details.cached_tokens), 0 if not reported. */
  cachedTokens: number;
}

export interface CompleteOptions {
  /** Overrides the configured model for this call. */
  model?: string;
  seed?: number;
  /** Asks for `response_format: {type: "json_object"}`; endpoints without JSON mode may reject it. */
  responseFormatJson?: boolean;
  signal?: AbortSignal;
  /** Epoch ms (e.g. the game deadline) after which no further attempt starts. */
  deadlineAtMs?: number;
}

export interface ModelClientOptions {
  /** Which role this client serves, for messages and logs. */
  role: string;
  settings: Readonly<ModelRoleSettings>;
  /** Bounded retries of retriable failures; after the last one the error reaches the caller. */
  retry?: RetryPolicy;
  /** 429 and 503: waits that do not use up `retry.maxAttempts` but this larger budget (and the deadline). */
  waits?: Omit<WaitPolicy, 'matches'>;
  /** Where the per-endpoint limiters live. Default: the process-wide registry. */
  limiters?: LimiterRegistry;
  logger?: Logger;
  /** Injected for tests. */
  now?: () => number;
  retryHooks?: Pick<RetryOptions, 'sleep' | 'random'>;
  /**
   * The fetch the openai client uses. Default: PROCESS_FETCH (node:http with keep-alive: ~30% less
   * CPU per call than undici's fetch, issue 10); 'global' for the global (undici) fetch.
   */
  fetch?: typeof fetch | 'global';
}

/** One node:http fetch (one keep-alive pool) for every model client of the process. */
let processFetch: typeof fetch | undefined;
export function PROCESS_FETCH(): typeof fetch {
  return (processFetch ??= nodeHttpFetch());
}

export const DEFAULT_MODEL_RETRY: Readonly<RetryPolicy> = { maxAttempts: 3, initialDelayMs: 250, maxDelayMs: 5_000, multiplier: 2 };
export const DEFAULT_MODEL_WAITS: Readonly<Omit<WaitPolicy, 'matches'>> = { maxAttempts: 30, initialDelayMs: 250, maxDelayMs: 30_000 };
/** Successes slower than this do not raise an endpoint's concurrency limit, unless configured. */
export const DEFAULT_LATENCY_TARGET_MS = 15_000;

/** The classes that wait (429, 503) rather than count as failed attempts. */
const WAIT_CLASSES: ReadonlySet<ModelErrorClass> = new Set(['rate_limited', 'unavailable']);

/** The limiter settings of a role: starts at `concurrency`, may grow to `maxConcurrency` (default: fixed at `concurrency`). */
export function limiterSettings(settings: Readonly<ModelRoleSettings>): LimiterSettings {
  return {
    initialLimit: settings.concurrency,
    maxLimit: Math.max(settings.concurrency, settings.maxConcurrency ?? settings.concurrency),
    latencyTargetMs: settings.latencyTargetMs ?? DEFAULT_LATENCY_TARGET_MS,
    maxRpm: settings.maxRpm ?? null,
    maxTpm: settings.maxTpm ?? null,
  };
}

/**
 * One OpenAI-compatible endpoint as configured for a role. The official client does the HTTP with
 * its own retries switched off (maxRetries 0): retries are ours, by error class (ModelErrorClass),
 * so a dead endpoint turns into a ModelError the role can end the game with instead of a long
 * stall. An adaptive limiter per endpoint and model, shared by the whole process, caps requests in
 * flight; a permit is held per attempt, not during backoff.
 */
export class ModelClient {
  private readonly client: OpenAI;
  private readonly limiters: LimiterRegistry;
  private readonly logger: Logger;
  private readonly retryPolicy: RetryPolicy;
  private readonly waitPolicy: Omit<WaitPolicy, 'matches'>;
  private readonly now: () => number;
  /** The fetch is ours (node:http): the caller's signal goes to it directly (CALLER_SIGNAL), not through the client. */
  private readonly signalViaFetch: boolean;
  private active = 0;

  constructor(private readonly options: ModelClientOptions) {
    const { settings } = options;
    const fetchImpl = options.fetch === 'global' ? undefined : (options.fetch ?? PROCESS_FETCH());
    this.signalViaFetch = fetchImpl !== undefined && isNodeHttpFetch(fetchImpl);
    this.client = new OpenAI({
      baseURL: settings.baseUrl,
      // Local endpoints (the simulator, vLLM, Ollama) ignore the key, but the client insists on one.
      apiKey: settings.apiKey === '' ? 'unused' : settings.apiKey,
      // Explicit values so the client does not fall back to OPENAI_* environment variables.
      adminAPIKey: null,
      organization: null,
      project: null,
      webhookSecret: null,
      maxRetries: 0,
      timeout: settings.timeoutMs,
      logLevel: 'off',
      ...(fetchImpl === undefined ? {} : { fetch: fetchImpl }),
    });
    this.limiters = options.limiters ?? PROCESS_LIMITERS;
    this.logger = options.logger ?? createLogger(`model-client.${options.role}`);
    this.retryPolicy = options.retry ?? DEFAULT_MODEL_RETRY;
    this.waitPolicy = options.waits ?? DEFAULT_MODEL_WAITS;
    // Register now, so the endpoint shows in the limiter snapshots before the first call.
    this.limiter(settings.model);
    this.now = options.now ?? Date.now;
  }

  /** The base URL requests go to, as recorded in ModelSpec.endpoint. */
  get endpoint(): string {
    return this.options.settings.baseUrl;
  }

  get model(): string {
    return this.options.settings.model;
  }

  /** Calls of this client in flight now (the endpoint's limiter counts every client of the process). */
  get inFlight(): number {
    return this.active;
  }

  /** The shared limiter of this endpoint and `model`. */
  limiter(model: string = this.options.settings.model): AdaptiveLimiter {
    return this.limiters.limiterFor(this.endpoint, model, limiterSettings(this.options.settings));
  }

  /** The ModelSpec this client plays with, for the game record. */
  modelSpec(): ModelSpec {
    const { settings } = this.options;
    return {
      endpoint: settings.baseUrl,
      model: settings.model,
      promptVersion: settings.promptVersion,
      temperature: settings.temperature,
      topP: settings.topP,
      maxTokens: settings.maxTokens,
    };
  }

  /**
   * One chat completion. Throws ModelError (with its errorClass and the retries by cause before it,
   * naming role, endpoint and model) once a budget is used up or a failure is not worth retrying;
   * AbortedError when the signal fires.
   */
  async complete(messages: ChatCompletionMessageParam[], options: CompleteOptions = {}): Promise<ModelCompletion> {
    const model = options.model ?? this.options.settings.model;
    const request = this.request(messages, model, options);
    const limiter = this.limiter(model);
    const retries = emptyRetryCounts();
    const startedAt = this.now();
    const retryOptions: RetryOptions = {
      ...this.retryPolicy,
      ...this.options.retryHooks,
      now: this.now,
      waits: { ...this.waitPolicy, matches: (error) => error instanceof ModelError && WAIT_CLASSES.has(error.errorClass) },
      onRetry: ({ attempt, delayMs, error, waited }) => {
        if (error instanceof ModelError && error.errorClass in retries) retries[error.errorClass as RetryCause]++;
        const fields = { model, endpoint: this.endpoint, attempt, delayMs, errorClass: (error as ModelError).errorClass, error: (error as Error).message };
        // Waiting out a rate limit is the endpoint working as designed, not a failure.
        if (waited) this.logger.debug('model endpoint busy, waiting', fields);
        else this.logger.warn('model call failed, retrying', fields);
      },
    };
    if (options.signal) retryOptions.signal = options.signal;
    if (options.deadlineAtMs !== undefined) retryOptions.deadlineMs = Math.max(0, options.deadlineAtMs - startedAt);
    try {
      const completion = await retry((attempt) => this.attempt(limiter, request, model, attempt, options.signal, options.deadlineAtMs), retryOptions);
      return { ...completion, retries };
    } catch (error) {
      if (error instanceof ModelError) error.retries = retries;
      throw error;
    }
  }

  private request(messages: ChatCompletionMessageParam[], model: string, options: CompleteOptions): ChatCompletionCreateParamsNonStreaming {
    const { settings } = this.options;
    const request: ChatCompletionCreateParamsNonStreaming = {
      model,
      messages: withRawImageUrls(messages),
      temperature: settings.temperature,
      max_tokens: settings.maxTokens,
    };
    if (settings.topP !== null) request.top_p = settings.topP;
    if (options.seed !== undefined) request.seed = options.seed;
    if (options.responseFormatJson) request.response_format = { type: 'json_object' };
    return request;
  }

  /** One attempt under the endpoint's limiter; the permit is released with what the attempt says about capacity. */
  private async attempt(
    limiter: AdaptiveLimiter,
    request: ChatCompletionCreateParamsNonStreaming,
    model: string,
    attempt: number,
    signal: AbortSignal | undefined,
    deadlineAtMs: number | undefined,
  ): Promise<Omit<ModelCompletion, 'retries'>> {
    const permit = await this.acquire(limiter, model, signal, deadlineAtMs);
    this.active++;
    let outcome: LimiterOutcome = { kind: 'ignored' };
    try {
      const completion = await this.call(request, model, attempt, signal);
      outcome = { kind: 'success', latencyMs: completion.latencyMs, tokens: completion.promptTokens + completion.completionTokens };
      return completion;
    } catch (error) {
      outcome = limiterOutcome(error);
      throw error;
    } finally {
      this.active--;
      permit.release(outcome);
    }
  }

  /** A permit of the endpoint's limiter; waiting in its queue ends at the deadline as a timeout. */
  private async acquire(limiter: AdaptiveLimiter, model: string, signal: AbortSignal | undefined, deadlineAtMs: number | undefined) {
    // A free slot now: no queueing, so no deadline timer or combined signal to set up.
    if (!signal?.aborted) {
      const permit = limiter.tryAcquire();
      if (permit !== undefined) return permit;
    }
    if (deadlineAtMs === undefined) return limiter.acquire(signal);
    try {
      return await limiter.acquire(signal, Math.max(0, deadlineAtMs - this.now()));
    } catch (error) {
      if (error instanceof AbortedError && !signal?.aborted) {
        const { limit, inFlight, queued } = limiter.snapshot();
        throw new ModelError(
          `${this.where(model)}: no free slot at the endpoint before the deadline (limit ${limit}, ${inFlight} in flight, ${queued} queued)`,
          {
            cause: error,
            errorClass: 'timeout',
          },
        );
      }
      throw error;
    }
  }

  private async call(
    request: ChatCompletionCreateParamsNonStreaming,
    model: string,
    attempt: number,
    signal: AbortSignal | undefined,
  ): Promise<Omit<ModelCompletion, 'retries'>> {
    const started = performance.now();
    let response: OpenAI.Chat.ChatCompletion;
    try {
      response = await this.client.chat.completions.create(request, this.requestOptions(signal));
    } catch (error) {
      // As the client does with a signal it was given: a failure to connect or to get an answer while the signal is aborted is the abort.
      if (this.signalViaFetch && signal?.aborted && error instanceof OpenAI.APIConnectionError) {
        throw new AbortedError(`${this.where(model)}: request aborted`, { cause: error });
      }
      throw this.toModelError(error, model, performance.now() - started);
    }
    // ... and an answer that arrives after the abort is not read.
    if (this.signalViaFetch && signal?.aborted) throw new AbortedError(`${this.where(model)}: request aborted`, { cause: signal.reason });
    const latencyMs = Math.round(performance.now() - started);
    const choice = (response as Partial<OpenAI.Chat.ChatCompletion> | null | undefined)?.choices?.[0];
    if (choice === undefined) {
      throw new ModelError(`${this.where(model)}: the response has no choices`, { errorClass: 'bad_response' });
    }
    const promptTokens = response.usage?.prompt_tokens ?? 0;
    const completionTokens = response.usage?.completion_tokens ?? 0;
    const cachedTokens = response.usage?.prompt_tokens_details?.cached_tokens ?? 0;
    const { pricePromptPerMTok, priceCompletionPerMTok } = this.options.settings;
    return {
      text: choice.message?.content ?? '',
      promptTokens,
      completionTokens,
      cachedTokens,
      latencyMs,
      costUsd: (promptTokens * pricePromptPerMTok + completionTokens * priceCompletionPerMTok) / 1_000_000,
      model,
      attempts: attempt,
    };
  }

  /**
   * The caller's signal, per request. With our node:http fetch it travels in `fetchOptions` to the
   * fetch itself (which stops on it or on the client's timeout signal): the client then neither
   * composes it with its timeout signal (AbortSignal.any) nor listens to it on every request.
   */
  private requestOptions(signal: AbortSignal | undefined): OpenAI.RequestOptions {
    if (signal === undefined) return {};
    if (!this.signalViaFetch) return { signal };
    return { fetchOptions: { [CALLER_SIGNAL]: signal } as NonNullable<OpenAI.RequestOptions['fetchOptions']> };
  }

  private where(model: string): string {
    return `${this.options.role} model ${model} at ${this.endpoint}`;
  }

  /**
   * The retry decision: timeouts, connection failures, 408/409/425/429 and 5xx are transient; other
   * statuses (400 bad request, 401/403 key, 404 unknown model or path, 422) repeat on every attempt.
   */
  private toModelError(error: unknown, model: string, elapsedMs: number): Error {
    if (error instanceof OpenAI.APIUserAbortError) return new AbortedError(`${this.where(model)}: request aborted`, { cause: error });
    // The client recognises its own timeout by the abort error's name. Our node:http fetch keeps it
    // across realms (a test VM); the global fetch may not, and then the elapsed time tells the story.
    const timedOut = error instanceof OpenAI.APIConnectionError && elapsedMs >= this.options.settings.timeoutMs;
    if (error instanceof OpenAI.APIConnectionTimeoutError || timedOut) {
      return new ModelError(`${this.where(model)}: no response within ${this.options.settings.timeoutMs} ms`, { cause: error, errorClass: 'timeout' });
    }
    if (error instanceof OpenAI.APIConnectionError) {
      return new ModelError(`${this.where(model)}: connection failed (${networkCause(error)})`, { cause: error, errorClass: 'connection' });
    }
    if (error instanceof OpenAI.APIError && typeof error.status === 'number') {
      const options: ConstructorParameters<typeof ModelError>[1] = { cause: error, status: error.status };
      const retryAfterMs = retryAfter(error.headers);
      if (retryAfterMs !== undefined) options.retryAfterMs = retryAfterMs;
      return new ModelError(`${this.where(model)}: HTTP ${error.status}: ${error.message}`, options);
    }
    if (error instanceof NonRetriableError || error instanceof AbortedError) return error;
    // Anything else is the response itself (a body that is not JSON, an unexpected shape).
    return new ModelError(`${this.where(model)}: bad response: ${(error as Error)?.message ?? String(error)}`, { cause: error, errorClass: 'bad_response' });
  }
}

/** JSON.rawJSON (V8 ≥ 11.4, Node ≥ 21): a value JSON.stringify inserts as given. */
const rawJSON = (JSON as unknown as { rawJSON?: (text: string) => unknown }).rawJSON;
/** The JSON text of long image URLs, by the URL string (the image resolver hands out the same strings). */
const rawUrls = new Map<string, unknown>();
let rawUrlChars = 0;
const RAW_URL_MIN_CHARS = 1_024;
const RAW_URL_MAX_CHARS = 4_000_000;
const RAW_URLS_MAX_CHARS = 32 * 1024 * 1024;

function rawUrl(url: string): unknown {
  let raw = rawUrls.get(url);
  if (raw === undefined) {
    raw = rawJSON!(JSON.stringify(url));
    rawUrls.set(url, raw);
    rawUrlChars += url.length;
    while (rawUrlChars > RAW_URLS_MAX_CHARS) {
      const oldest = rawUrls.keys().next().value as string;
      rawUrls.delete(oldest);
      rawUrlChars -= oldest.length;
    }
  }
  return raw;
}

/**
 * The messages with each long image URL (a data: URL of a candidate image) replaced by its JSON
 * text, serialised once: the openai client's JSON.stringify of the request then copies it instead
 * of escaping it again on every turn (a questioner turn carries every candidate). The request body
 * is byte-identical. Messages without such URLs, or a runtime without JSON.rawJSON, pass unchanged.
 */
export function withRawImageUrls(messages: ChatCompletionMessageParam[]): ChatCompletionMessageParam[] {
  if (rawJSON === undefined) return messages;
  let changed = false;
  const out = messages.map((message) => {
    if (!Array.isArray(message.content)) return message;
    let partsChanged = false;
    const content = (message.content as Array<{ type: string; image_url?: { url: unknown } }>).map((part) => {
      const url = part.type === 'image_url' ? part.image_url?.url : undefined;
      if (typeof url !== 'string' || url.length < RAW_URL_MIN_CHARS || url.length > RAW_URL_MAX_CHARS) return part;
      partsChanged = true;
      return { ...part, image_url: { ...part.image_url, url: rawUrl(url) } };
    });
    if (!partsChanged) return message;
    changed = true;
    return { ...message, content } as ChatCompletionMessageParam;
  });
  return changed ? out : messages;
}

/** What a failed attempt says about the endpoint's capacity: 429/503 and timeouts mean "too busy". */
function limiterOutcome(error: unknown): LimiterOutcome {
  if (!(error instanceof ModelError)) return { kind: 'ignored' };
  if (error.errorClass === 'rate_limited' || error.errorClass === 'unavailable') {
    return error.retryAfterMs === undefined ? { kind: 'overloaded' } : { kind: 'overloaded', retryAfterMs: error.retryAfterMs };
  }
  if (error.errorClass === 'timeout') return { kind: 'timeout' };
  return { kind: 'ignored' };
}

/** The innermost system error code or message behind a fetch failure, e.g. ECONNREFUSED. */
function networkCause(error: Error): string {
  const seen = new Set<unknown>();
  let current: unknown = error;
  let description = error.message;
  while (current && typeof current === 'object' && !seen.has(current)) {
    seen.add(current);
    const { code, message } = current as { code?: unknown; message?: unknown };
    if (typeof code === 'string') return code;
    if (typeof message === 'string' && message !== '') description = message;
    current = (current as { cause?: unknown }).cause;
  }
  return description;
}

/** Retry-After (seconds or HTTP date), or the retry-after-ms header some gateways send. */
function retryAfter(headers: Headers | undefined): number | undefined {
  const ms = headers?.get('retry-after-ms');
  if (ms && /^\d+(\.\d+)?$/.test(ms)) return Math.round(Number(ms));
  const value = headers?.get('retry-after');
  if (!value) return undefined;
  if (/^\d+(\.\d+)?$/.test(value)) return Math.round(Number(value) * 1000);
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, date - Date.now());
}
