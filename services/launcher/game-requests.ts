import { randomUUID } from 'node:crypto';
import type { DatasetImage } from '../datasets/dataset';
import { toImageRef } from '../datasets/dataset';
import { sampleGame, MAX_CANDIDATES, MIN_CANDIDATES } from '../datasets/sampler';
import type { GameRequested, ModelSpec, QuestionMode } from '../../schemas/generated/events';

export interface LaunchPlan {
  runId: string;
  iteration: number;
  datasetName: string;
  /** Seed of the whole launch; game i plays with gameSeed(seed, i). */
  seed: number;
  sampler: string;
  numCandidates: number;
  maxTurns: number;
  questionMode: QuestionMode;
  describeFirst: boolean;
  deadlineMs: number;
  questioner: ModelSpec;
  answerer: ModelSpec;
  /** Frozen evaluation set the games belong to (dg eval run): never written to the training dataset. */
  evalSet?: string | null;
}

/**
 * A distinct, reproducible 31-bit seed per game of a launch. The launch seed is fully mixed before
 * the index joins it: XOR-ing the index into the raw seed made launches whose seeds differ in a few
 * bits replay each other's games at shifted indexes (seed 11 game 0 = seed 13 game 6).
 */
export function gameSeed(launchSeed: number, index: number): number {
  const launch = mix32((launchSeed ^ 0x9e3779b9) >>> 0);
  return mix32((launch + Math.imul(index + 1, 0x9e3779b9)) >>> 0) & 0x7fffffff;
}

/** murmur3's 32-bit finaliser: a bijection on uint32 where every input bit affects every output bit. */
function mix32(value: number): number {
  let h = value;
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b) >>> 0;
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35) >>> 0;
  return (h ^ (h >>> 16)) >>> 0;
}

/** Checks a plan before anything is published; every problem names its flag. */
export function validatePlan(plan: LaunchPlan, datasetSize: number): string[] {
  const problems: string[] = [];
  if (!Number.isInteger(plan.numCandidates) || plan.numCandidates < MIN_CANDIDATES || plan.numCandidates > MAX_CANDIDATES) {
    problems.push(`--candidates must be an integer from ${MIN_CANDIDATES} to ${MAX_CANDIDATES}, got ${plan.numCandidates}`);
  }
  if (!Number.isInteger(plan.maxTurns) || plan.maxTurns < 1 || plan.maxTurns > 100)
    problems.push(`--max-turns must be an integer from 1 to 100, got ${plan.maxTurns}`);
  if (!Number.isInteger(plan.iteration) || plan.iteration < 0) problems.push(`--iteration must be a non-negative integer, got ${plan.iteration}`);
  if (datasetSize < plan.numCandidates)
    problems.push(`dataset ${plan.datasetName} has ${datasetSize} usable images, fewer than --candidates ${plan.numCandidates}`);
  return problems;
}

/**
 * GameRequested number `index` of a launch: candidates drawn by the seeded sampler, shown in a
 * seeded shuffled order (targetIndex points into that order), models and rules recorded.
 */
export function buildGameRequest(plan: LaunchPlan, images: readonly DatasetImage[], index: number, now: number, gameId: string = randomUUID()): GameRequested {
  const seed = gameSeed(plan.seed, index);
  const sampled = sampleGame({ name: plan.datasetName, images: [...images] }, { numCandidates: plan.numCandidates, seed, sampler: plan.sampler });
  return {
    game: {
      header: {
        gameId,
        runId: plan.runId,
        iteration: plan.iteration,
        dataset: plan.datasetName,
        seed,
        sampler: sampled.sampler,
        requestedAtMs: now,
        deadlineAtMs: now + plan.deadlineMs,
        evalSet: plan.evalSet ?? null,
      },
      setup: {
        candidates: sampled.candidates.map(toImageRef),
        targetIndex: sampled.targetIndex,
        maxTurns: plan.maxTurns,
        questionMode: plan.questionMode,
        describeFirst: plan.describeFirst,
        questioner: plan.questioner,
        answerer: plan.answerer,
      },
      transcript: [],
    },
  };
}
