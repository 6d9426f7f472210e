import { createRng, seedFrom } from '../datasets/prng';
import { renderScenePng } from '../datasets/render';
import { embedScene } from '../datasets/png-text';
import type { Scene } from '../datasets/scene';
import { generateDistinctScenes } from '../datasets/scene-generator';
import { evaluatePredicate } from '../sim-vlm/scene-reasoning';
import { chooseQuestionerMove, type DialogStep } from '../sim-vlm/questioner';
import { imagePatches } from './features';
import type { Example } from './model';
import type { TinyVlm } from './model';
import type { GameSettings } from './defaults';

/**
 * In-process games: the SIMULATOR's questioner (pure functions of services/sim-vlm; it reads the
 * candidates' scene metadata, as the simulator does) against TinyVLM as the answerer, which sees
 * only the target's pixels and the question. Games advance in lock step so that every turn's
 * answers are one batched forward pass.
 */

export interface SceneImage {
  scene: Scene;
  /** PNG bytes WITH the scene metadata embedded, as datasets ship them (the model never reads it). */
  png: Buffer;
  patches: Float32Array;
}

/** Images rendered on first use (a pool can be large and only part of it used). */
export function sceneImages(scenes: readonly Scene[]): SceneImage[] {
  return scenes.map((scene) => {
    let png: Buffer | undefined;
    let patches: Float32Array | undefined;
    return {
      scene,
      get png(): Buffer {
        png ??= embedScene(renderScenePng(scene), scene);
        return png;
      },
      get patches(): Float32Array {
        patches ??= imagePatches(this.png);
        return patches;
      },
    };
  });
}

export interface ScenePools {
  seed: SceneImage[];
  train: SceneImage[];
  eval: SceneImage[];
}

/** Disjoint scene pools from one seed: a labelled seed pool for M_0, a pool to play on, a held-out eval pool. */
export function scenePools(seed: number, sizes = { seed: 200, train: 1200, eval: 400 }): ScenePools {
  const scenes = generateDistinctScenes(sizes.seed + sizes.train + sizes.eval, seed);
  const images = sceneImages(scenes);
  return {
    seed: images.slice(0, sizes.seed),
    train: images.slice(sizes.seed, sizes.seed + sizes.train),
    eval: images.slice(sizes.seed + sizes.train),
  };
}

export interface GameSpec {
  candidates: number[]; // indices into the pool
  targetIndex: number; // position in candidates
  seed: number;
}

export type { GameSettings } from './defaults';

export function drawGames(poolSize: number, count: number, settings: GameSettings, seed: number): GameSpec[] {
  const rng = createRng(seed);
  const all = Array.from({ length: poolSize }, (_, i) => i);
  return Array.from({ length: count }, () => {
    const candidates = rng.shuffle(all).slice(0, settings.numCandidates);
    return { candidates, targetIndex: rng.int(candidates.length), seed: rng.int(2 ** 31) };
  });
}

export interface PlayedTurn extends DialogStep {
  /** Ground truth, for measurement only (never given to the model or used for training). */
  truth: boolean;
}

export interface PlayedGame {
  spec: GameSpec;
  success: boolean;
  guessedIndex: number;
  turns: PlayedTurn[];
}

/** The answer text TinyVLM gives for P(yes). */
export function answerFromProbability(pYes: number, unsureMargin: number): 'yes' | 'no' | 'unsure' {
  if (Math.abs(pYes - 0.5) < unsureMargin) return 'unsure';
  return pYes >= 0.5 ? 'yes' : 'no';
}

/** 1 (yes) or 0 (no), sampled with P(yes) = σ(logit(pYes) / temperature) from a uniform draw `u`. */
export function sampleYes(pYes: number, temperature: number, u: number): number {
  const clipped = Math.min(1 - 1e-6, Math.max(1e-6, pYes));
  const logit = Math.log(clipped / (1 - clipped));
  return u < 1 / (1 + Math.exp(-logit / temperature)) ? 1 : 0;
}

/**
 * Plays every game to its end with `model` as the answerer. At temperature 0 it answers its most
 * likely answer; at temperature T > 0 it samples yes with probability σ(logit / T) (seeded per game),
 * as a chat model samples at a temperature.
 */
export function playGames(
  model: TinyVlm,
  pool: readonly SceneImage[],
  games: readonly GameSpec[],
  settings: GameSettings,
  temperature = 0,
  unsureMargin = 0,
): PlayedGame[] {
  const state = games.map((spec) => ({
    spec,
    rng: createRng(seedFrom(spec.seed, 'questioner')),
    answererRng: createRng(seedFrom(spec.seed, 'answerer')),
    scenes: spec.candidates.map((i) => pool[i]!.scene),
    target: pool[spec.candidates[spec.targetIndex]!]!,
    turns: [] as PlayedTurn[],
    done: undefined as { success: boolean; guessedIndex: number } | undefined,
  }));
  for (;;) {
    const asking: Array<{ game: (typeof state)[number]; question: string; truth: boolean }> = [];
    for (const game of state) {
      if (game.done) continue;
      const move = chooseQuestionerMove({ candidates: game.scenes, history: game.turns, mustGuess: game.turns.length >= settings.maxTurns }, game.rng);
      if (move.kind === 'guess') {
        game.done = { success: move.index === game.spec.targetIndex, guessedIndex: move.index };
      } else {
        asking.push({ game, question: move.text, truth: evaluatePredicate(game.target.scene, move.predicate) });
      }
    }
    if (asking.length === 0) break;
    const probs = model.predict(asking.map((a) => ({ patches: a.game.target.patches, question: a.question })));
    asking.forEach((a, i) => {
      const p = temperature > 0 ? sampleYes(probs[i]!, temperature, a.game.answererRng.next()) : probs[i]!;
      a.game.turns.push({ question: a.question, answer: answerFromProbability(p, unsureMargin), truth: a.truth });
    });
  }
  return state.map((g) => ({ spec: g.spec, success: g.done!.success, guessedIndex: g.done!.guessedIndex, turns: g.turns }));
}

/**
 * Ground-truth-labelled questions as the questioner asks them: truthful simulated games on `pool`,
 * every question with its true answer about the target. For the seed set of M_0 and for the
 * held-out question set only.
 */
export function labelledQuestions(pool: readonly SceneImage[], count: number, settings: GameSettings, seed: number): Array<Example & { poolIndex: number }> {
  const out: Array<Example & { poolIndex: number }> = [];
  let round = 0;
  while (out.length < count) {
    for (const spec of drawGames(pool.length, 64, settings, seedFrom(seed, round++))) {
      const rng = createRng(seedFrom(spec.seed, 'questioner'));
      const scenes = spec.candidates.map((i) => pool[i]!.scene);
      const targetPool = spec.candidates[spec.targetIndex]!;
      const history: DialogStep[] = [];
      while (history.length < settings.maxTurns && out.length < count) {
        const move = chooseQuestionerMove({ candidates: scenes, history, mustGuess: false }, rng);
        if (move.kind === 'guess') break;
        const truth = evaluatePredicate(pool[targetPool]!.scene, move.predicate);
        history.push({ question: move.text, answer: truth ? 'yes' : 'no' });
        out.push({ patches: pool[targetPool]!.patches, question: move.text, label: truth, poolIndex: targetPool });
      }
      if (out.length >= count) break;
    }
  }
  return out;
}

export function accuracy(model: TinyVlm, examples: readonly Example[]): number {
  if (examples.length === 0) return 0;
  const probs = model.predict(examples);
  return examples.filter((e, i) => probs[i]! >= 0.5 === e.label).length / examples.length;
}

/** Wilson score interval for k successes in n trials. */
export function wilson(k: number, n: number, z = 1.96): { low: number; high: number } {
  if (n === 0) return { low: 0, high: 1 };
  const p = k / n;
  const denom = 1 + (z * z) / n;
  const centre = (p + (z * z) / (2 * n)) / denom;
  const half = (z * Math.sqrt((p * (1 - p)) / n + (z * z) / (4 * n * n))) / denom;
  return { low: Math.max(0, centre - half), high: Math.min(1, centre + half) };
}
