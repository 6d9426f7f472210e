import OpenAI from 'openai';
import type { ChatCompletionCreateParamsNonStreaming, ChatCompletionMessageParam } from 'openai/resources/chat/completions';
import type { ModelSpec } from '../../../schemas/generated/events';
import type { ModelRoleSettings } from '../config';
import { AbortedError, ModelError, NonRetriableError, retry, type RetryOptions, type RetryPolicy } from '../errors';
import { createLogger, type Logger } from '../logging';
import { Semaphore } from './semaphore';

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
  logger?: Logger;
  /** Injected for tests. */
  now?: () => number;
  retryHooks?: Pick<RetryOptions, 'sleep' | 'random'>;
}

export const DEFAULT_MODEL_RETRY: Readonly<RetryPolicy> = { maxAttempts: 3, initialDelayMs: 250, maxDelayMs: 5_000, multiplier: 2 };

/**
 * One OpenAI-compatible endpoint as configured for a role. The official client does the HTTP with
 * its own retries switched off (maxRetries 0): retries are ours, bounded and jittered, so a dead
 * endpoint turns into a ModelError the role can end the game with instead of a long stall. A
 * semaphore caps requests in flight per process; it is held per attempt, not during backoff.
 */
export class ModelClient {
  private readonly client: OpenAI;
  private readonly semaphore: Semaphore;
  private readonly logger: Logger;
  private readonly retryPolicy: RetryPolicy;
  private readonly now: () => number;

  constructor(private readonly options: ModelClientOptions) {
    const { settings } = options;
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
    });
    this.semaphore = new Semaphore(settings.concurrency);
    this.logger = options.logger ?? createLogger(`model-client.${options.role}`);
    this.retryPolicy = options.retry ?? DEFAULT_MODEL_RETRY;
    this.now = options.now ?? Date.now;
  }

  /** The base URL requests go to, as recorded in ModelSpec.endpoint. */
  get endpoint(): string {
    return this.options.settings.baseUrl;
  }

  get model(): string {
    return this.options.settings.model;
  }

  get inFlight(): number {
    return this.semaphore.inFlight;
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
   * One chat completion. Throws ModelError (retriable or not, naming role, endpoint and model) once
   * the attempts are used up or a failure is not worth retrying; AbortedError when the signal fires.
   */
  async complete(messages: ChatCompletionMessageParam[], options: CompleteOptions = {}): Promise<ModelCompletion> {
    const model = options.model ?? this.options.settings.model;
    const request = this.request(messages, model, options);
    const startedAt = this.now();
    const retryOptions: RetryOptions = {
      ...this.retryPolicy,
      ...this.options.retryHooks,
      now: this.now,
      onRetry: ({ attempt, delayMs, error }) =>
        this.logger.warn('model call failed, retrying', { model, endpoint: this.endpoint, attempt, delayMs, error: (error as Error).message }),
    };
    if (options.signal) retryOptions.signal = options.signal;
    if (options.deadlineAtMs !== undefined) retryOptions.deadlineMs = Math.max(0, options.deadlineAtMs - startedAt);
    return retry((attempt) => this.semaphore.use(() => this.attempt(request, model, attempt, options.signal), options.signal), retryOptions);
  }

  private request(messages: ChatCompletionMessageParam[], model: string, options: CompleteOptions): ChatCompletionCreateParamsNonStreaming {
    const { settings } = this.options;
    const request: ChatCompletionCreateParamsNonStreaming = { model, messages, temperature: settings.temperature, max_tokens: settings.maxTokens };
    if (settings.topP !== null) request.top_p = settings.topP;
    if (options.seed !== undefined) request.seed = options.seed;
    if (options.responseFormatJson) request.response_format = { type: 'json_object' };
    return request;
  }

  private async attempt(request: ChatCompletionCreateParamsNonStreaming, model: string, attempt: number, signal: AbortSignal | undefined): Promise<ModelCompletion> {
    const started = performance.now();
    let response: OpenAI.Chat.ChatCompletion;
    try {
      response = await this.client.chat.completions.create(request, signal ? { signal } : {});
    } catch (error) {
      throw this.toModelError(error, model, performance.now() - started);
    }
    const latencyMs = Math.round(performance.now() - started);
    const choice = response.choices?.[0];
    if (choice === undefined) {
      throw new ModelError(`${this.where(model)}: the response has no choices`, { retriable: false });
    }
    const promptTokens = response.usage?.prompt_tokens ?? 0;
    const completionTokens = response.usage?.completion_tokens ?? 0;
    const { pricePromptPerMTok, priceCompletionPerMTok } = this.options.settings;
    return {
      text: choice.message?.content ?? '',
      promptTokens,
      completionTokens,
      latencyMs,
      costUsd: (promptTokens * pricePromptPerMTok + completionTokens * priceCompletionPerMTok) / 1_000_000,
      model,
      attempts: attempt,
    };
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
    // The client recognises its own timeout by the abort error's name, which can get lost when the
    // abort crosses realms (e.g. under a test VM); the elapsed time tells the same story.
    const timedOut = error instanceof OpenAI.APIConnectionError && elapsedMs >= this.options.settings.timeoutMs;
    if (error instanceof OpenAI.APIConnectionTimeoutError || timedOut) {
      return new ModelError(`${this.where(model)}: no response within ${this.options.settings.timeoutMs} ms`, { cause: error, retriable: true });
    }
    if (error instanceof OpenAI.APIConnectionError) {
      return new ModelError(`${this.where(model)}: connection failed (${networkCause(error)})`, { cause: error, retriable: true });
    }
    if (error instanceof OpenAI.APIError && typeof error.status === 'number') {
      const options: ConstructorParameters<typeof ModelError>[1] = { cause: error, status: error.status };
      const retryAfterMs = retryAfter(error.headers);
      if (retryAfterMs !== undefined) options.retryAfterMs = retryAfterMs;
      return new ModelError(`${this.where(model)}: HTTP ${error.status}: ${error.message}`, options);
    }
    if (error instanceof NonRetriableError || error instanceof AbortedError) return error;
    return new ModelError(`${this.where(model)}: ${(error as Error)?.message ?? String(error)}`, { cause: error, retriable: false });
  }
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
