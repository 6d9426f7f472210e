import type { GameState, GameEnded, QuestionMode } from '../../schemas/generated/events';
import { createRng } from '../datasets/prng';
import type { Scene } from '../datasets/scene';
import { generateDistinctScenes } from '../datasets/scene-generator';
import { DEFAULT_BEHAVIOUR, type SimBehaviour } from '../sim-vlm/behaviour';
import { simulateCompletion } from '../sim-vlm/simulator';
import { parseAnswererOutput } from './answerer-output';
import { curate } from './filter';
import { toFineTuningExample } from './fine-tuning';
import { buildAnswererMessages, buildQuestionerMessages } from './messages';
import { loadPrompts } from './prompts';
import { parseQuestionerOutput } from './questioner-output';
import { judge } from './referee';
import { answererRequestKind, decideAnswererStep, decideQuestionerStep } from './steps';
import { makeGame, TEST_NOW } from './testing';
import { nextSpeaker } from './transcript';

/**
 * The message contract between the game roles and the simulated VLM, with no transport: requests
 * built here, answered by the simulator's completion logic, parsed and decided here, judged and
 * curated. Images are addressed by URL and the simulator's scene lookup is a map, so this checks
 * the text protocol (role words, "Image i:", "Answer:", "Question:", questions left, describe).
 */

const prompts = loadPrompts('v1');
const pool = generateDistinctScenes(200, 3);

interface PlayOptions {
  seed: number;
  numCandidates?: number;
  maxTurns?: number;
  questionMode?: QuestionMode;
  describeFirst?: boolean;
  behaviour?: SimBehaviour;
}

async function play(options: PlayOptions): Promise<{ finished: GameEnded; answererImageCounts: number[] }> {
  const rng = createRng(options.seed);
  const numCandidates = options.numCandidates ?? 4;
  const picked = rng.shuffle(pool.map((scene, i) => ({ scene, id: `scene-${i}` }))).slice(0, numCandidates);
  let game: GameState = makeGame({
    gameId: `contract-${options.seed}`,
    candidateIds: picked.map((p) => p.id),
    targetIndex: rng.int(numCandidates),
    maxTurns: options.maxTurns ?? 10,
    questionMode: options.questionMode ?? 'yesno',
    describeFirst: options.describeFirst ?? false,
  });
  const urlOf = (id: string): string => `https://scenes.test/${id}.png`;
  const scenes = new Map<string, Scene>(picked.map((p) => [urlOf(p.id), p.scene]));
  const loadScene = (url: string): Promise<Scene | undefined> => Promise.resolve(scenes.get(url));
  const images = new Map(picked.map((p) => [p.id, urlOf(p.id)]));
  const behaviour = options.behaviour ?? DEFAULT_BEHAVIOUR;
  const answererImageCounts: number[] = [];

  for (let step = 0; step < 100; step++) {
    const now = TEST_NOW + step;
    if (nextSpeaker(game) === 'questioner') {
      const completion = await simulateCompletion({ messages: buildQuestionerMessages(game, images, prompts), behaviour, seed: options.seed }, loadScene);
      const call = { text: completion.content, latencyMs: 1, promptTokens: 0, completionTokens: 0, costUsd: 0 };
      const decided = decideQuestionerStep(game, parseQuestionerOutput(completion.content, numCandidates), call, now);
      if (decided.kind === 'end') return { finished: decided.event, answererImageCounts };
      game = decided.event.game;
    } else {
      const target = game.setup.candidates[game.setup.targetIndex]!;
      const completion = await simulateCompletion(
        { messages: buildAnswererMessages(game, urlOf(target.id), prompts), behaviour, seed: options.seed },
        loadScene,
      );
      answererImageCounts.push(completion.imageCount);
      const call = { text: completion.content, latencyMs: 1, promptTokens: 0, completionTokens: 0, costUsd: 0 };
      const parsed = parseAnswererOutput(completion.content, game.setup.questionMode, answererRequestKind(game));
      const decided = decideAnswererStep(game, parsed, call, now);
      if (decided.kind === 'end') return { finished: decided.event, answererImageCounts };
      game = decided.event.game;
    }
  }
  throw new Error(`game ${game.header.gameId} did not end`);
}

describe('game roles against the simulated VLM', () => {
  it('wins nearly every truthful 4-candidate game, and kept games become fine-tuning examples', async () => {
    const games = 60;
    let succeeded = 0;
    let kept = 0;
    for (let seed = 1; seed <= games; seed++) {
      const { finished, answererImageCounts } = await play({ seed });
      expect(answererImageCounts.every((count) => count === 1)).toBe(true);
      expect(['guess']).toContain(finished.ending.kind);
      const judgement = judge(finished, { now: TEST_NOW });
      if (judgement.verdict === 'success') succeeded++;
      const curation = curate({ ...finished, judgement }, { now: TEST_NOW });
      if (curation.kept) {
        kept++;
        const example = toFineTuningExample({ ...finished, judgement, curation }, prompts);
        expect(example.messages.at(-1)).toEqual({ role: 'assistant', content: JSON.stringify({ guess: finished.ending.guessedIndex! + 1 }) });
      }
    }
    expect(succeeded / games).toBeGreaterThanOrEqual(0.95);
    expect(kept).toBeGreaterThan(0);
  });

  it('plays describeFirst and open-mode games to a guess', async () => {
    for (let seed = 100; seed < 115; seed++) {
      const described = await play({ seed, describeFirst: true });
      expect(described.finished.ending.kind).toBe('guess');
      expect(described.finished.game.transcript[0]).toMatchObject({ kind: 'description', speaker: 'answerer' });
      const open = await play({ seed, questionMode: 'open' });
      expect(open.finished.ending.kind).toBe('guess');
    }
  });

  it('honours the forced guess at the question limit', async () => {
    for (let seed = 200; seed < 215; seed++) {
      const { finished } = await play({ seed, numCandidates: 16, maxTurns: 1 });
      expect(finished.ending.kind).toBe('guess');
      expect(finished.game.transcript.filter((t) => t.kind === 'question').length).toBeLessThanOrEqual(1);
    }
  });

  it('loses more often when the simulated answerer errs', async () => {
    let clean = 0;
    let noisy = 0;
    for (let seed = 300; seed < 360; seed++) {
      if (judge((await play({ seed })).finished, { now: TEST_NOW }).verdict === 'success') clean++;
      const noisyGame = await play({ seed, behaviour: { ...DEFAULT_BEHAVIOUR, errorRate: 0.35 } });
      if (judge(noisyGame.finished, { now: TEST_NOW }).verdict === 'success') noisy++;
    }
    expect(noisy).toBeLessThan(clean);
  });
});
