import diagnosticsChannel from 'node:diagnostics_channel';

/** How a model call ended, for dg_model_calls_total{outcome}. */
export type ModelCallOutcome = 'ok' | 'rate_limited' | 'client_error' | 'server_error' | 'timeout' | 'network' | 'aborted';

export interface ModelCallListener {
  started(endpoint: string): void;
  /** Once per call: status known (headers) or failed before. */
  ended(endpoint: string, outcome: ModelCallOutcome, seconds: number): void;
  /** Body finished or the request failed: no longer in flight. */
  settled(endpoint: string): void;
}

export function outcomeOfStatus(status: number): ModelCallOutcome {
  if (status >= 200 && status < 300) return 'ok';
  if (status === 429) return 'rate_limited';
  if (status >= 500 || status === 408) return 'server_error';
  return 'client_error';
}

export function outcomeOfError(error: unknown): ModelCallOutcome {
  const name = (error as { name?: string } | null)?.name ?? '';
  const code = (error as { code?: string } | null)?.code ?? '';
  if (name === 'AbortError' || code === 'UND_ERR_ABORTED') return 'aborted';
  if (name === 'TimeoutError' || /TIMEOUT/i.test(code)) return 'timeout';
  return 'network';
}

interface HttpClientRequest {
  protocol?: string;
  host?: string;
  path?: string;
  getHeader(name: string): unknown;
}

interface UndiciRequest {
  origin?: string | URL;
  path?: string;
  method?: string;
}

/**
 * Model calls as seen on the wire: Node's fetch (undici) and node:http (the model client's fetch,
 * core/model-client/node-http-fetch.ts) publish every request on diagnostics channels. Observing there counts every attempt of every model
 * client in the process, retries included, without touching the model client. Only requests to
 * a `/chat/completions` path count. Returns the unsubscribe function.
 */
export function observeModelCalls(listener: ModelCallListener): () => void {
  const calls = new WeakMap<object, { endpoint: string; startedAt: number; ended: boolean }>();
  const begin = (key: object, origin: string, fullPath: string): void => {
    const path = fullPath.split('?')[0]!;
    if (!path.endsWith('/chat/completions')) return;
    const endpoint = `${origin.replace(/\/+$/, '')}${path}`;
    calls.set(key, { endpoint, startedAt: performance.now(), ended: false });
    listener.started(endpoint);
  };
  const onCreate = (message: unknown): void => {
    const request = (message as { request: UndiciRequest }).request;
    begin(request, String(request.origin ?? ''), request.path ?? '');
  };
  const onHeaders = (message: unknown): void => {
    const { request, response } = message as { request: object; response: { statusCode: number } };
    const call = calls.get(request);
    if (!call || call.ended) return;
    call.ended = true;
    listener.ended(call.endpoint, outcomeOfStatus(response.statusCode), (performance.now() - call.startedAt) / 1000);
  };
  const onTrailers = (message: unknown): void => {
    const { request } = message as { request: object };
    const call = calls.get(request);
    if (!call) return;
    calls.delete(request);
    listener.settled(call.endpoint);
  };
  const onError = (message: unknown): void => {
    const { request, error } = message as { request: object; error: unknown };
    const call = calls.get(request);
    if (!call) return;
    calls.delete(request);
    if (!call.ended) listener.ended(call.endpoint, outcomeOfError(error), (performance.now() - call.startedAt) / 1000);
    listener.settled(call.endpoint);
  };
  // The model client's own fetch (core/model-client/node-http-fetch.ts) goes through node:http,
  // which publishes on its own channels: the same call life cycle, mapped onto the handlers above.
  const onHttpStart = (message: unknown): void => {
    const request = (message as { request: HttpClientRequest }).request;
    begin(request, `${request.protocol ?? 'http:'}//${String(request.getHeader('host') ?? request.host ?? '')}`, request.path ?? '');
  };
  const onHttpResponse = (message: unknown): void => {
    const { request, response } = message as { request: object; response: { statusCode?: number; once(event: string, fn: () => void): void } };
    if (!calls.has(request)) return;
    onHeaders({ request, response: { statusCode: response.statusCode ?? 0 } });
    // Settled once the body is read (or the response is torn down).
    const settle = (): void => onTrailers({ request });
    response.once('end', settle);
    response.once('close', settle);
  };
  const subscriptions: Array<[string, (message: unknown) => void]> = [
    ['undici:request:create', onCreate],
    ['undici:request:headers', onHeaders],
    ['undici:request:trailers', onTrailers],
    ['undici:request:error', onError],
    ['http.client.request.start', onHttpStart],
    ['http.client.response.finish', onHttpResponse],
    ['http.client.request.error', onError],
  ];
  for (const [name, fn] of subscriptions) diagnosticsChannel.subscribe(name, fn);
  return () => {
    for (const [name, fn] of subscriptions) diagnosticsChannel.unsubscribe(name, fn);
  };
}
