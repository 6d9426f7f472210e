import { ModelError } from '../core/errors';
import type { ModelClient, ModelCompletion } from '../core/model-client';
import { makeGame, TEST_NOW } from '../game/testing';
import { parseQuestionerOutput } from '../game/questioner-output';
import { callModelForTurn, rejectsJsonMode } from './model-turn';
import { retriesOf } from './call-usage';

/** A structural stand-in for ModelClient.complete: scripted outputs, every request recorded. */
function scripted(
  outputs: Array<string | Error>,
  endpoint = 'http://127.0.0.1:1/v1',
): { model: ModelClient; requests: Array<{ messages: unknown[]; json: boolean | undefined }> } {
  const requests: Array<{ messages: unknown[]; json: boolean | undefined }> = [];
  const model = {
    endpoint,
    complete: async (messages: unknown[], options: { responseFormatJson?: boolean }): Promise<ModelCompletion> => {
      requests.push({ messages, json: options.responseFormatJson });
      const next = outputs.shift();
      if (next === undefined) throw new Error('no more scripted outputs');
      if (next instanceof Error) throw next;
      return {
        text: next,
        promptTokens: 100,
        completionTokens: 10,
        latencyMs: 5,
        costUsd: 0.001,
        model: 'm',
        attempts: 1,
        retries: { rate_limited: 1 },
        cachedTokens: 30,
      } as ModelCompletion;
    },
  } as unknown as ModelClient;
  return { model, requests };
}

const game = { ...makeGame(), header: { ...makeGame().header, deadlineAtMs: TEST_NOW + 10_000_000_000 } };
const spec = game.setup.questioner;
const base = {
  role: 'questioner' as const,
  spec,
  prices: { pricePromptPerMTok: 1, priceCompletionPerMTok: 2 },
  accept: (t: string) => parseQuestionerOutput(t, 4).kind !== 'unparseable',
};

describe('callModelForTurn: one repair attempt (prompts for real VLMs)', () => {
  it('repairs an unparseable output once with the stricter instruction, summing tokens, cost and retries', async () => {
    const { model, requests } = scripted(['I think that maybe...', '{"question": "Is it red?"}']);
    const result = await callModelForTurn(model, [{ role: 'system', content: 'questioner' }], game, spec, new AbortController().signal, {
      ...base,
      repairInstruction: 'JSON only please',
    });
    expect(result.ok && result.call.text).toBe('{"question": "Is it red?"}');
    expect(result.ok && result.call.usage).toMatchObject({
      modelCalls: 2,
      promptTokens: 200,
      completionTokens: 20,
      cachedTokens: 60,
      retries: { rate_limited: 2 },
      pricePromptPerMTok: 1,
    });
    expect(requests).toHaveLength(2);
    expect(requests[1]!.messages.slice(-2)).toEqual([
      { role: 'assistant', content: 'I think that maybe...' },
      { role: 'user', content: 'JSON only please' },
    ]);
  });

  it('makes no repair call for a usable output, nor without a repair instruction (v1)', async () => {
    const good = scripted(['{"guess": 2}']);
    expect((await callModelForTurn(good.model, [], game, spec, new AbortController().signal, { ...base, repairInstruction: 'x' })).ok).toBe(true);
    expect(good.requests).toHaveLength(1);
    const v1 = scripted(['nonsense']);
    const result = await callModelForTurn(v1.model, [], game, spec, new AbortController().signal, { ...base, repairInstruction: null });
    expect(result.ok && result.call.text).toBe('nonsense');
    expect(v1.requests).toHaveLength(1);
  });

  it('falls back to no JSON mode when the endpoint rejects response_format, and remembers it', async () => {
    const rejection = new ModelError('questioner model m at http://x: HTTP 400: response_format json_object is not supported by this model', { status: 400 });
    expect(rejectsJsonMode(rejection)).toBe(true);
    expect(rejectsJsonMode(new ModelError('HTTP 400: context too long', { status: 400 }))).toBe(false);
    const { model, requests } = scripted([rejection, '{"guess": 1}', '{"guess": 2}'], 'http://127.0.0.1:2/v1');
    expect((await callModelForTurn(model, [], game, spec, new AbortController().signal, base)).ok).toBe(true);
    expect((await callModelForTurn(model, [], game, spec, new AbortController().signal, base)).ok).toBe(true);
    expect(requests.map((r) => r.json)).toEqual([true, false, false]);
  });

  it('turns a final model error into a result with the retries by cause the client reported', async () => {
    const error = Object.assign(new ModelError('HTTP 503', { status: 503 }), { retries: { unavailable: 2, rate_limited: 1, bogus: 'x' } });
    const { model } = scripted([error]);
    const result = await callModelForTurn(model, [], game, spec, new AbortController().signal, base);
    expect(result).toMatchObject({ ok: false, message: 'HTTP 503', usage: { modelCalls: 0, retries: { unavailable: 2, rate_limited: 1 } } });
    expect(retriesOf(undefined)).toEqual({});
  });
});
