/** Settings of TinyVLM's training and experiment, importable without loading tfjs (the CLI reads them for its help). */

export interface GameSettings {
  numCandidates: number;
  maxTurns: number;
}

export interface TrainHyper {
  epochs: number;
  learningRate: number;
  batchSize: number;
  l2: number;
}

/** Games of the experiment: 4 candidates and 3 questions, so that the answers decide success. */
export const DEFAULT_GAME_SETTINGS: GameSettings = { numCandidates: 4, maxTurns: 3 };

export const INIT_HYPER: TrainHyper = { epochs: 15, learningRate: 0.005, batchSize: 32, l2: 1e-4 };
export const FINETUNE_HYPER: TrainHyper = { epochs: 4, learningRate: 0.004, batchSize: 32, l2: 1e-4 };

export const DEFAULT_EXPERIMENT = {
  iterations: 4,
  seed: 7,
  gamesPerIteration: 1000,
  evalGames: 300,
  heldOutQuestions: 400,
  seedExamples: 1000,
  /** The answerer samples its answers in the games it learns from (expert iteration); greedy in eval games. */
  temperature: 1,
  /** Each model is trained on every training game so far (as an export of all kept games holds them). */
  cumulative: true,
  settings: DEFAULT_GAME_SETTINGS,
};

/** Pipeline mode: scenes of the experiment's own synthetic dataset (20% eval split), the scale of the in-process pools. */
export const DEFAULT_PIPELINE_SCENES = 2000;
