import { randomUUID } from 'node:crypto';
import type { EventBus } from '../core/bus';
import { busConfigFrom, EventBus as Bus } from '../core/bus';
import { EventCodec } from '../core/codec';
import type { DgConfig } from '../core/config';
import type { DatasetImage } from '../datasets/dataset';
import { endGame, timeoutEnding } from '../game';
import type { GameRequested, ModelSpec, QuestionMode } from '../../schemas/generated/events';
import { buildGameRequest, type LaunchPlan } from './game-requests';

/** A bus for a command-line process (no Nest): topics ensured, producer connected on first use. */
export function standaloneBus(config: DgConfig): EventBus {
  const busConfig = busConfigFrom(config);
  return new Bus({ config: busConfig, codec: EventCodec.fromConfig(config, { topicPrefix: busConfig.topicPrefix }) });
}

export interface PlanOptions {
  iteration?: number;
  datasetName: string;
  seed?: number;
  sampler?: string;
  candidates?: number;
  maxTurns?: number;
  questionMode?: QuestionMode;
  describeFirst?: boolean;
  questionerModel?: string;
  answererModel?: string;
  runId?: string;
}

/** The launch plan from flags over config: what each role plays with is recorded from the same settings the roles use. */
export function planFrom(config: DgConfig, options: PlanOptions): LaunchPlan {
  const spec = (role: 'questioner' | 'answerer', model: string | undefined): ModelSpec => {
    const s = config.models[role];
    return { endpoint: s.baseUrl, model: model ?? s.model, promptVersion: s.promptVersion, temperature: s.temperature, topP: s.topP, maxTokens: s.maxTokens };
  };
  return {
    runId: options.runId ?? `run-${new Date().toISOString().replace(/[-:]/g, '').replace(/\..*/, '')}-${randomUUID().slice(0, 8)}`,
    iteration: options.iteration ?? 0,
    datasetName: options.datasetName,
    seed: options.seed ?? Math.floor(Math.random() * 2 ** 31),
    sampler: options.sampler ?? 'random',
    numCandidates: options.candidates ?? 4,
    maxTurns: options.maxTurns ?? 10,
    questionMode: options.questionMode ?? 'yesno',
    describeFirst: options.describeFirst ?? false,
    deadlineMs: config.game.deadlineMs,
    questioner: spec('questioner', options.questionerModel),
    answerer: spec('answerer', options.answererModel),
  };
}

/**
 * Publishes games `fromIndex .. fromIndex+count-1` of a plan as GameRequested, in batches.
 * Returns the requests, so a waiting launcher can end the games that outlive their deadline.
 */
export async function launchGames(
  bus: EventBus,
  plan: LaunchPlan,
  images: readonly DatasetImage[],
  count: number,
  fromIndex = 0,
  batchSize = 100,
): Promise<GameRequested[]> {
  const launched: GameRequested[] = [];
  for (let start = 0; start < count; start += batchSize) {
    const now = Date.now();
    const records = Array.from({ length: Math.min(batchSize, count - start) }, (_, i) => {
      const request = buildGameRequest(plan, images, fromIndex + start + i, now);
      launched.push(request);
      return { topic: 'gameRequested' as const, key: request.game.header.gameId, value: request };
    });
    await bus.publishBatch(records);
  }
  return launched;
}

/**
 * Ends, as timeout, every launched game that has no verdict although its deadline has passed (a
 * role was down, or a message went to the dead-letter topic): every requested game gets a verdict.
 * A played ending may still arrive; it wins over this one in ClickHouse (see rowVersion). Returns
 * the ids of the games it ended.
 */
export async function endOverdueGames(bus: EventBus, launched: readonly GameRequested[], judgedIds: ReadonlySet<string>, now = Date.now()): Promise<string[]> {
  const overdue = launched.filter((r) => !judgedIds.has(r.game.header.gameId) && r.game.header.deadlineAtMs <= now);
  if (overdue.length > 0) {
    await bus.publishBatch(
      overdue.map((r) => ({ topic: 'guessMade' as const, key: r.game.header.gameId, value: endGame(r.game, timeoutEnding(r.game, 'launcher', now)) })),
    );
  }
  return overdue.map((r) => r.game.header.gameId);
}
