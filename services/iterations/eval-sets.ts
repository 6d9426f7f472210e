import { createHash } from 'node:crypto';
import { sql, table, type ClickHouseConnection, type SqlExecutor } from '../core/clickhouse';
import type { Dataset, DatasetImage } from '../datasets/dataset';
import { toImageRef } from '../datasets/dataset';
import { sampleGame } from '../datasets/sampler';
import { gameSeed, type LaunchPlan } from '../launcher/game-requests';
import type { GameRequested, QuestionMode } from '../../schemas/generated/events';

/**
 * Frozen evaluation sets, stored in ClickHouse (`eval_sets`, ReplacingMergeTree by name): the
 * setups are a few kilobytes, every reader of results (dg eval run, dg models, dg iterate) already
 * talks to ClickHouse, and a keyed table gives a durable record without a new Avro contract or
 * topic. A set is written once; creating it again with other parameters is refused.
 */

/** Share of a dataset's images held out for evaluation, chosen by a hash of the image id. */
export const EVAL_SPLIT_FRACTION = 0.2;
export const EVAL_SPLIT_RULE = `sha256("dg-eval-split:" + image id) < ${EVAL_SPLIT_FRACTION} of the hash space`;

/** True when the image belongs to the evaluation split: a fixed function of its id, the same for every set of a dataset. */
export function isEvalImage(imageId: string, fraction = EVAL_SPLIT_FRACTION): boolean {
  const digest = createHash('sha256').update(`dg-eval-split:${imageId}`).digest();
  return digest.readUInt32BE(0) / 2 ** 32 < fraction;
}

export interface EvalSetup {
  /** Candidate image ids in the questioner's display order, with their hashes as recorded. */
  candidates: Array<{ id: string; sha256: string }>;
  targetIndex: number;
  seed: number;
}

export interface EvalSet {
  name: string;
  dataset: string;
  seed: number;
  games: number;
  numCandidates: number;
  maxTurns: number;
  questionMode: QuestionMode;
  splitRule: string;
  evalImageIds: string[];
  setups: EvalSetup[];
  setupsHash: string;
  createdAtMs: number;
}

export interface EvalSetSpec {
  name: string;
  games: number;
  seed: number;
  numCandidates: number;
  maxTurns: number;
  questionMode: QuestionMode;
}

const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

/** The setups of a set: games drawn by the launcher's seeded sampler from the eval split only. */
export function buildEvalSet(spec: EvalSetSpec, dataset: Pick<Dataset, 'name' | 'images'>, now = Date.now()): EvalSet {
  if (!NAME.test(spec.name)) throw new Error(`eval set name must be letters, digits, . _ - (up to 64), got "${spec.name}"`);
  const pool = dataset.images.filter((image) => isEvalImage(image.id));
  if (pool.length < spec.numCandidates) {
    throw new Error(`dataset ${dataset.name}: its eval split holds ${pool.length} images, fewer than --candidates ${spec.numCandidates}`);
  }
  const setups: EvalSetup[] = Array.from({ length: spec.games }, (_, i) => {
    const seed = gameSeed(spec.seed, i);
    const sampled = sampleGame({ name: dataset.name, images: pool }, { numCandidates: spec.numCandidates, seed, sampler: 'random' });
    return { candidates: sampled.candidates.map((c) => ({ id: c.id, sha256: c.sha256 })), targetIndex: sampled.targetIndex, seed };
  });
  const setupsJson = JSON.stringify(setups);
  return {
    ...spec,
    dataset: dataset.name,
    splitRule: EVAL_SPLIT_RULE,
    evalImageIds: pool.map((image) => image.id).sort(),
    setups,
    setupsHash: createHash('sha256').update(setupsJson).digest('hex'),
    createdAtMs: now,
  };
}

interface EvalSetRow {
  name: string;
  dataset: string;
  seed: number;
  games: number;
  num_candidates: number;
  max_turns: number;
  question_mode: string;
  split_rule: string;
  eval_image_ids: string[];
  setups: string;
  setups_hash: string;
  created_at_ms: number;
}

export async function loadEvalSet(ch: SqlExecutor, database: string, name: string): Promise<EvalSet | undefined> {
  const [row] = await ch.query<EvalSetRow>(sql`
    SELECT name, dataset, seed, games, num_candidates, max_turns, question_mode, split_rule, eval_image_ids, setups, setups_hash, created_at_ms
    FROM ${table(database, 'eval_sets')} FINAL WHERE name = ${name}`);
  if (!row) return undefined;
  return {
    name: row.name,
    dataset: row.dataset,
    seed: Number(row.seed),
    games: Number(row.games),
    numCandidates: Number(row.num_candidates),
    maxTurns: Number(row.max_turns),
    questionMode: row.question_mode as QuestionMode,
    splitRule: row.split_rule,
    evalImageIds: row.eval_image_ids,
    setups: JSON.parse(row.setups) as EvalSetup[],
    setupsHash: row.setups_hash,
    createdAtMs: Number(row.created_at_ms),
  };
}

export async function listEvalSets(ch: SqlExecutor, database: string): Promise<Array<Omit<EvalSet, 'setups' | 'evalImageIds'>>> {
  const rows = await ch.query<EvalSetRow>(sql`
    SELECT name, dataset, seed, games, num_candidates, max_turns, question_mode, split_rule, setups_hash, created_at_ms
    FROM ${table(database, 'eval_sets')} FINAL ORDER BY name`);
  return rows.map((r) => ({
    name: r.name,
    dataset: r.dataset,
    seed: Number(r.seed),
    games: Number(r.games),
    numCandidates: Number(r.num_candidates),
    maxTurns: Number(r.max_turns),
    questionMode: r.question_mode as QuestionMode,
    splitRule: r.split_rule,
    setupsHash: r.setups_hash,
    createdAtMs: Number(r.created_at_ms),
  }));
}

/**
 * Stores a set once. The same name with the same setups is a no-op ('exists'); with other setups it
 * is refused: a frozen set never changes under the results measured on it.
 */
export async function saveEvalSet(ch: ClickHouseConnection, database: string, set: EvalSet): Promise<'created' | 'exists'> {
  const existing = await loadEvalSet(ch, database, set.name);
  if (existing) {
    if (existing.setupsHash === set.setupsHash) return 'exists';
    throw new Error(
      `eval set ${set.name} already exists with other setups (dataset ${existing.dataset}, ${existing.games} games, seed ${existing.seed}); eval sets are frozen: pick another name`,
    );
  }
  await ch.insert(
    'eval_sets',
    [
      {
        name: set.name,
        dataset: set.dataset,
        seed: set.seed,
        games: set.games,
        num_candidates: set.numCandidates,
        max_turns: set.maxTurns,
        question_mode: set.questionMode,
        split_rule: set.splitRule,
        eval_image_ids: set.evalImageIds,
        setups: JSON.stringify(set.setups),
        setups_hash: set.setupsHash,
        created_at_ms: set.createdAtMs,
        row_version: set.createdAtMs,
      },
    ],
    [
      'name',
      'dataset',
      'seed',
      'games',
      'num_candidates',
      'max_turns',
      'question_mode',
      'split_rule',
      'eval_image_ids',
      'setups',
      'setups_hash',
      'created_at_ms',
      'row_version',
    ],
  );
  return 'created';
}

/** The GameRequested events of one play of a set: its setups exactly, tagged with the set's name. */
export function evalRequests(
  set: EvalSet,
  images: readonly DatasetImage[],
  plan: Omit<LaunchPlan, 'seed' | 'sampler' | 'numCandidates' | 'maxTurns' | 'questionMode' | 'describeFirst' | 'datasetName'>,
  now: number,
  newId: () => string,
): GameRequested[] {
  const byId = new Map(images.map((image) => [image.id, image]));
  return set.setups.map((setup, i) => {
    const candidates = setup.candidates.map((c) => {
      const image = byId.get(c.id);
      if (!image) throw new Error(`eval set ${set.name}, game ${i}: image ${c.id} is no longer in dataset ${set.dataset}`);
      if (image.sha256 !== c.sha256)
        throw new Error(`eval set ${set.name}, game ${i}: image ${c.id} of dataset ${set.dataset} changed (sha256 ${image.sha256}, recorded ${c.sha256})`);
      return toImageRef(image);
    });
    return {
      game: {
        header: {
          gameId: newId(),
          runId: plan.runId,
          iteration: plan.iteration,
          dataset: set.dataset,
          seed: setup.seed,
          sampler: 'random',
          requestedAtMs: now,
          deadlineAtMs: now + plan.deadlineMs,
          evalSet: set.name,
        },
        setup: {
          candidates,
          targetIndex: setup.targetIndex,
          maxTurns: set.maxTurns,
          questionMode: set.questionMode,
          describeFirst: false,
          questioner: plan.questioner,
          answerer: plan.answerer,
        },
        transcript: [],
      },
    };
  });
}

/** Wilson score interval of a binomial proportion (95% by default). */
export function wilsonInterval(successes: number, trials: number, z = 1.96): { low: number; high: number } {
  if (trials === 0) return { low: 0, high: 1 };
  const p = successes / trials;
  const z2 = z * z;
  const denominator = 1 + z2 / trials;
  const centre = (p + z2 / (2 * trials)) / denominator;
  const half = (z * Math.sqrt((p * (1 - p)) / trials + z2 / (4 * trials * trials))) / denominator;
  return { low: Math.max(0, centre - half), high: Math.min(1, centre + half) };
}
