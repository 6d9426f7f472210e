import type { EventBus, MessageContext } from '../core/bus';
import { ModelError } from '../core/errors';
import { emptyRetryCounts, type ModelClient, type ModelCompletion } from '../core/model-client';
import type { ModelCallRecorded } from '../../schemas/generated/events';
import type { TopicKey } from '../../schemas/topics';
import { decideQuestionerStep, parseQuestionerOutput } from '../game';
import { makeGame } from '../game/testing';
import { createLogger } from '../core/logging';
import { ModelCallJournal } from './model-call-journal';
import { playTurn, type TurnPipelineDeps, type TurnPlan } from './turn-pipeline';

/**
 * The shared turn pipeline against a fake bus (published events recorded, journal records read back)
 * and a scripted model: a re-handled turn republishes the identical event without calling again,
 * also for a journaled model error; a turn the journal knows was passed is fenced.
 */
function world(outputs: Array<string | Error>) {
  const published: Array<{ topic: string; value: unknown }> = [];
  let reader: ((event: ModelCallRecorded) => Promise<void>) | undefined;
  const bus = {
    subscribe: async (options: { handler: (event: ModelCallRecorded) => Promise<void> }) => {
      reader = options.handler;
      return { groupId: 'g', stats: () => ({ generation: 1 }), stop: async () => ({}) };
    },
    publish: async (topic: string, _key: string, value: unknown) => {
      if (topic === 'modelCalls') setImmediate(() => void reader?.(value as ModelCallRecorded));
      else published.push({ topic, value });
    },
  } as unknown as EventBus;
  let calls = 0;
  const model = {
    endpoint: 'http://127.0.0.1:1/v1',
    modelSpec: () => ({ endpoint: 'http://127.0.0.1:1/v1', model: 'm', promptVersion: 'v1', temperature: 0.7, topP: null, maxTokens: 64 }),
    complete: async (): Promise<ModelCompletion> => {
      calls++;
      const next = outputs.shift() ?? '{"question": "Is it random?"}';
      if (next instanceof Error) throw next;
      return {
        text: next,
        promptTokens: 10,
        completionTokens: 2,
        latencyMs: 3,
        costUsd: 0,
        model: 'm',
        attempts: 1,
        retries: emptyRetryCounts(),
        cachedTokens: 0,
      };
    },
  } as unknown as ModelClient;
  const journal = new ModelCallJournal({ bus, topicPrefix: 't.', role: 'questioner' });
  const deps: TurnPipelineDeps = {
    role: 'questioner',
    bus,
    model,
    settings: { pricePromptPerMTok: 0, priceCompletionPerMTok: 0 } as TurnPipelineDeps['settings'],
    journal,
    subscription: () => undefined,
  };
  return { deps, journal, published, calls: () => calls };
}

const ctx = {
  topic: 't.answer-given',
  partition: 0,
  signal: new AbortController().signal,
  logger: createLogger('test'),
} as unknown as MessageContext<TopicKey>;
const game = { ...makeGame(), header: { ...makeGame().header, deadlineAtMs: Date.now() + 600_000 } };

function plan(deps: TurnPipelineDeps): TurnPlan {
  return {
    buildMessages: async () => [{ role: 'system', content: 'questioner' }],
    accept: () => true,
    repairInstruction: null,
    publishStep: async (call, now) => {
      const step = decideQuestionerStep(game, parseQuestionerOutput(call.text, 4), call, now);
      await deps.bus.publish(step.kind === 'question' ? 'questionAsked' : 'guessMade', game.header.gameId, step.event);
    },
  };
}

describe('playTurn with the model-call journal', () => {
  it('publishes the identical event again on a re-handled turn, without a second model call', async () => {
    const { deps, journal, published, calls } = world([`{"question": "Is it ${Math.random()}?"}`]);
    await journal.start();
    await playTurn(deps, game, ctx, plan(deps));
    await playTurn(deps, game, ctx, plan(deps));
    expect(calls()).toBe(1);
    expect(published).toHaveLength(2);
    expect(published[1]).toEqual(published[0]);
    expect(journal.counters.reused).toBe(1);
  });

  it('journals a final model error, so the re-handled turn ends the same way without calling again', async () => {
    const { deps, journal, published, calls } = world([new ModelError('HTTP 401: bad key', { status: 401 }), '{"guess": 1}']);
    await journal.start();
    await playTurn(deps, game, ctx, plan(deps));
    await playTurn(deps, game, ctx, plan(deps));
    expect(calls()).toBe(1);
    expect(published.map((p) => (p.value as { ending: { kind: string } }).ending.kind)).toEqual(['model_error', 'model_error']);
    expect(published[1]).toEqual(published[0]);
  });

  it('ends the game as timeout, not model_error, when the call gave up because the deadline passed meanwhile', async () => {
    const soon = { ...game, header: { ...game.header, deadlineAtMs: Date.now() + 40 } };
    const { deps, journal, published } = world([]);
    (deps as { model: ModelClient }).model = {
      ...deps.model,
      modelSpec: deps.model.modelSpec,
      complete: async () => {
        await new Promise((resolve) => setTimeout(resolve, 80));
        throw new ModelError('no free slot at the endpoint before the deadline', { retriable: true });
      },
    } as unknown as ModelClient;
    await journal.start();
    await playTurn(deps, soon, ctx, plan(deps));
    expect(published.map((p) => (p.value as { ending: { kind: string } }).ending.kind)).toEqual(['timeout']);
  });

  it('does nothing for a turn the game has already moved past (fence on the transcript length)', async () => {
    const { deps, journal, published, calls } = world([]);
    await journal.start();
    await journal.record({
      gameId: game.header.gameId,
      entry: 'completion',
      role: 'answerer',
      transcriptLength: 1,
      usage: null,
      errorMessage: null,
      decidedAtMs: 1,
      deadlineAtMs: game.header.deadlineAtMs,
    });
    await playTurn(deps, game, ctx, plan(deps));
    expect(calls()).toBe(0);
    expect(published).toEqual([]);
    expect(journal.counters.fenced).toBe(1);
  });
});
