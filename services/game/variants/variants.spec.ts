import { createHash } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { GameState, GameEnded, QuestionMode } from '../../../schemas/generated/events';
import { repoRoot } from '../../core/config/repo-root';
import { createRng } from '../../datasets/prng';
import type { Scene } from '../../datasets/scene';
import { generateDistinctScenes } from '../../datasets/scene-generator';
import { DEFAULT_BEHAVIOUR } from '../../sim-vlm/behaviour';
import { detectAnswerMode } from '../../sim-vlm/conversation';
import { simulateCompletion } from '../../sim-vlm/simulator';
import { answererConversation } from '../../export/views';
import { parseAnswererOutput } from '../answerer-output';
import { judge } from '../referee';
import { buildAnswererMessages, buildQuestionerMessages } from '../messages';
import { loadPrompts } from '../prompts';
import { parseQuestionerOutput } from '../questioner-output';
import { answererRequestKind, decideAnswererStep, decideQuestionerStep } from '../steps';
import { makeGame, TEST_NOW } from '../testing';
import { nextSpeaker } from '../transcript';
import { excerpt, extractJsonObjects, lookup } from '../model-output';
import { normaliseYesNo, QUESTION_VARIANTS, questionModeNames, questionVariant, registerQuestionVariant, type QuestionVariant } from '.';

/*
 * The question-mode variant table: the built-in modes, the released prompt folders it must never
 * need edited, and a test-only variant added through the table alone (a folder of rule texts and one
 * registration), played end to end with the game logic and the simulated VLM's completion logic.
 */

/** sha256 of every file of the released prompt versions. A variant must never need these edited. */
const RELEASED_PROMPT_SHA256: Record<string, string> = {
  'v1/answerer.intro.md': '7d1808794edd1514019e2aaca3f023dced3d81eb0bce38bd9dac1e759002e7ff',
  'v1/answerer.rules.open.md': 'fc1933c20daabf99400015df7b08705f2ba2a4d57b38695ca8cbeee650c0cd83',
  'v1/answerer.rules.yesno.md': '2076dbedf363af4e6981a3def38d2e872722baa66f3f460beeacef16526d8bdc',
  'v1/answerer.system.md': '6cf66e9fe28402e419ec93f3d4b00d72bcb5337723fde7c89f0a49d253597d3e',
  'v1/questioner.description.md': '0e7e364d5db4291b236adcf00a9401b81e0edb9fb3c93350d2b1b6366ec374e5',
  'v1/questioner.final-turn.md': '473a777887192b35c1d4d0f8344253fffdb4cb2e7fe55e427dca427532dbf176',
  'v1/questioner.intro.md': 'a27deadf0fe4e00b66d6ccafb8a59fd1ce8bd3cd29ea6089c8884c454d32cc93',
  'v1/questioner.rules.open.md': 'c438c8a92b1844b8b1f5b98c3f1eb70b44cd3192e365635086002eae1cdb57f6',
  'v1/questioner.rules.yesno.md': '4ea0b58a5fa15ffe88ea0910a9eb56f896b61d799bb8f91dd2c0221bfdb8c83c',
  'v1/questioner.system.md': 'ff21a0780ea6e09069e2cbb65f0d4d788a72b463299ff37151dde23cd7b33b35',
  'v1/questioner.turn.md': '163314aa7eaad5e2a9240458a47cbc5cc0df4b6ad563b002faad762bf855cb15',
  'v2/answerer.intro.md': 'df76c6e150c82c630a53b22a997512c1e02f12731a742792a77b2516d67c9103',
  'v2/answerer.repair.md': '2613396f2b3a96d3279964002c7138b898651430ed2ded1d8da16b834d865d38',
  'v2/answerer.rules.open.md': '35cadf5945a378faf773903824f5d451e52f7d7c98c4867ad90cccb28476851f',
  'v2/answerer.rules.yesno.md': 'cf48cbae5da29e59cec560a182b299ae97a75c023283ec4dcbb1193e5a996562',
  'v2/answerer.system.md': 'dd0016f3d61ca0920944b2d29473f7283f5a26676af60a013e22036daf48d39a',
  'v2/questioner.description.md': '0e7e364d5db4291b236adcf00a9401b81e0edb9fb3c93350d2b1b6366ec374e5',
  'v2/questioner.final-turn.md': 'ca27dee46d2c5a13765f52217468f63b3a88fbb57d01630b1a4243ca107f96bb',
  'v2/questioner.intro.md': '9e9caf4b706146d295bd460407a25bdfd957234f4ed0bca3359320c826cabae9',
  'v2/questioner.repair.md': 'e970a4d4449bf00b12f6ce5ebb665e559256de8c07f4def744a7b435646bc466',
  'v2/questioner.rules.open.md': 'c438c8a92b1844b8b1f5b98c3f1eb70b44cd3192e365635086002eae1cdb57f6',
  'v2/questioner.rules.yesno.md': '4ea0b58a5fa15ffe88ea0910a9eb56f896b61d799bb8f91dd2c0221bfdb8c83c',
  'v2/questioner.system.md': '56bb01e930638407d3452d1f8c2468c03f1aad0587f158b4771a56590bf3745b',
  'v2/questioner.turn.md': 'e3ca32a35f237aa4273e9136b4e3b1796c5ec871b19a13626b1102fa9161b79d',
};

describe('released prompt versions', () => {
  it('are byte-identical to their recorded hashes (no variant edits a released prompt folder)', () => {
    const dir = join(repoRoot(), 'services', 'game', 'prompts');
    const actual: Record<string, string> = {};
    for (const version of ['v1', 'v2']) {
      for (const file of readdirSync(join(dir, version)))
        actual[`${version}/${file}`] = createHash('sha256')
          .update(readFileSync(join(dir, version, file)))
          .digest('hex');
    }
    expect(actual).toEqual(RELEASED_PROMPT_SHA256);
  });
});

describe('the variant table', () => {
  it('lists exactly the QuestionMode symbols of the GameSetup schema, in order', () => {
    const avsc = JSON.parse(readFileSync(join(repoRoot(), 'schemas', 'avro', 'shared', 'GameSetup.avsc'), 'utf8')) as {
      fields: Array<{ name: string; type: unknown }>;
    };
    const field = avsc.fields.find((f) => f.name === 'questionMode')!;
    expect(QUESTION_VARIANTS.map((v) => v.name)).toEqual((field.type as { symbols: string[] }).symbols);
    expect(questionModeNames()).toEqual(['yesno', 'open']);
  });

  it('names the known modes when asked for an unknown one', () => {
    expect(() => questionVariant('riddles')).toThrow(/unknown question mode "riddles" \(known: yesno, open\)/);
  });

  it("uses the released versions' rule templates for the built-in modes", () => {
    for (const version of ['v1', 'v2']) {
      const prompts = loadPrompts(version);
      for (const mode of ['yesno', 'open'] as const) {
        const game = makeGame({ questionMode: mode });
        expect(buildQuestionerMessages(game, new Map(game.setup.candidates.map((c) => [c.id, `https://x.test/${c.id}`])), prompts)[0]!.content).toContain(
          prompts.templates[`questioner.rules.${mode}`],
        );
        expect(buildAnswererMessages(makeGame({ questionMode: mode, describeFirst: true }), 'https://x.test/t', prompts)[0]!.content).toContain(
          prompts.templates[`answerer.rules.${mode}`],
        );
      }
    }
  });
});

/**
 * A test-only mode: answers are true, false or unknown, written as {"verdict": "..."}. Its folder
 * holds the two rule texts; its module is the object below; its line is the registration.
 */
function trueFalseVariant(rulesDir: string): QuestionVariant {
  const toTrueFalse = { yes: 'true', no: 'false', unsure: 'unknown' } as const;
  return {
    name: 'truefalse',
    summary: 'answers are true/false/unknown (test only)',
    rulesDir,
    parseAnswer(text) {
      const json = extractJsonObjects(text)
        .map((o) => lookup(o, 'verdict'))
        .filter((f) => f.has)
        .at(-1);
      const said = json !== undefined ? String(json.value) : text;
      const word =
        /^\s*(true|false|unknown)\b/i.exec(said)?.[1]?.toLowerCase() ?? (normaliseYesNo(said) !== undefined ? toTrueFalse[normaliseYesNo(said)!] : undefined);
      return word !== undefined ? { kind: 'answer', text: word } : { kind: 'unparseable', reason: `not true/false/unknown: ${excerpt(text)}` };
    },
    historyText: (answer) => JSON.stringify({ verdict: answer }),
    sim: {
      recognises: (system) => /\btrue, false or unknown\b/i.test(system),
      answerMode: 'yesno',
      format: (answer) => JSON.stringify({ verdict: answer.kind === 'yesno' ? toTrueFalse[answer.answer] : answer.answer }),
    },
  };
}

describe('a variant added through the table alone', () => {
  let dir: string;
  let unregister: () => void;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'dg-variant-'));
    writeFileSync(join(dir, 'questioner.rules.md'), 'Ask yes/no questions only: your partner replies true, false or unknown.\n');
    writeFileSync(
      join(dir, 'answerer.rules.md'),
      'Reply with one JSON object and nothing else: {"verdict": "true"}, {"verdict": "false"}, or {"verdict": "unknown"}. Say true, false or unknown.\n',
    );
    unregister = registerQuestionVariant(trueFalseVariant(dir));
  });
  afterAll(() => {
    unregister();
    rmSync(dir, { recursive: true, force: true });
  });

  const pool = generateDistinctScenes(200, 3);

  async function play(seed: number, version: string, describeFirst = false): Promise<GameEnded> {
    const prompts = loadPrompts(version);
    const rng = createRng(seed);
    const picked = rng.shuffle(pool.map((scene, i) => ({ scene, id: `scene-${i}` }))).slice(0, 4);
    // Not a symbol of the Avro enum: a test-only mode never travels on Kafka.
    let game: GameState = makeGame({
      gameId: `variant-${seed}`,
      candidateIds: picked.map((p) => p.id),
      targetIndex: rng.int(4),
      questionMode: 'truefalse' as QuestionMode,
      describeFirst,
    });
    const urlOf = (id: string): string => `https://scenes.test/${id}.png`;
    const scenes = new Map<string, Scene>(picked.map((p) => [urlOf(p.id), p.scene]));
    const loadScene = (url: string): Promise<Scene | undefined> => Promise.resolve(scenes.get(url));
    const images = new Map(picked.map((p) => [p.id, urlOf(p.id)]));
    const call = (text: string) => ({ text, latencyMs: 1, promptTokens: 0, completionTokens: 0, costUsd: 0 });
    for (let step = 0; step < 100; step++) {
      const now = TEST_NOW + step;
      if (nextSpeaker(game) === 'questioner') {
        const completion = await simulateCompletion(
          { messages: buildQuestionerMessages(game, images, prompts), behaviour: DEFAULT_BEHAVIOUR, seed },
          loadScene,
        );
        const decided = decideQuestionerStep(game, parseQuestionerOutput(completion.content, 4), call(completion.content), now);
        if (decided.kind === 'end') return decided.event;
        game = decided.event.game;
      } else {
        const target = game.setup.candidates[game.setup.targetIndex]!;
        const messages = buildAnswererMessages(game, urlOf(target.id), prompts);
        expect(detectAnswerMode(messages)).toBe('truefalse');
        const completion = await simulateCompletion({ messages, behaviour: DEFAULT_BEHAVIOUR, seed }, loadScene);
        if (answererRequestKind(game) === 'answer') expect(completion.content).toMatch(/^\{"verdict":"(true|false|unknown)"\}$/);
        const decided = decideAnswererStep(
          game,
          parseAnswererOutput(completion.content, game.setup.questionMode, answererRequestKind(game)),
          call(completion.content),
          now,
        );
        if (decided.kind === 'end') return decided.event;
        game = decided.event.game;
      }
    }
    throw new Error(`game ${game.header.gameId} did not end`);
  }

  it('puts its own rule texts into both system prompts of every released version', () => {
    for (const version of ['v1', 'v2']) {
      const prompts = loadPrompts(version);
      const game = makeGame({ questionMode: 'truefalse' as QuestionMode });
      const questioner = buildQuestionerMessages(game, new Map(game.setup.candidates.map((c) => [c.id, `https://x.test/${c.id}`])), prompts);
      expect(questioner[0]!.content).toContain('your partner replies true, false or unknown.');
      expect(questioner[0]!.content).not.toContain(prompts.templates['questioner.rules.yesno']);
      const answerer = buildAnswererMessages(makeGame({ questionMode: 'truefalse' as QuestionMode, describeFirst: true }), 'https://x.test/t', prompts);
      expect(answerer[0]!.content).toContain('{"verdict": "unknown"}');
      expect(answerer[0]!.content).not.toContain(prompts.templates['answerer.rules.yesno']);
    }
  });

  it('parses its answers and writes them back in its own format', () => {
    expect(parseAnswererOutput('{"verdict": "false"}', 'truefalse')).toEqual({ kind: 'answer', text: 'false' });
    expect(parseAnswererOutput('True.', 'truefalse')).toEqual({ kind: 'answer', text: 'true' });
    expect(parseAnswererOutput('Yes, it is', 'truefalse')).toEqual({ kind: 'answer', text: 'true' });
    expect(parseAnswererOutput('a red square', 'truefalse')).toMatchObject({ kind: 'unparseable', reason: expect.stringMatching(/not true\/false\/unknown/) });
    // The built-in modes are untouched by the registration.
    expect(parseAnswererOutput('{"verdict": "false"}', 'yesno')).toMatchObject({ kind: 'unparseable' });
  });

  it('plays games to a guess with the simulated VLM, mostly won, answers as true/false/unknown', async () => {
    let won = 0;
    for (let seed = 1; seed <= 20; seed++) {
      const finished = await play(seed, seed % 2 === 0 ? 'v2' : 'v1');
      expect(finished.ending.kind).toBe('guess');
      const answers = finished.game.transcript.filter((t) => t.kind === 'answer').map((t) => t.text);
      expect(answers.length).toBeGreaterThan(0);
      for (const answer of answers) expect(['true', 'false', 'unknown']).toContain(answer);
      if (judge(finished, { now: TEST_NOW }).verdict === 'success') won++;
    }
    expect(won).toBeGreaterThanOrEqual(18);
  });

  it('plays describeFirst games too, and exports the answerer view with its rule', async () => {
    const finished = await play(7, 'v1', true);
    expect(finished.ending.kind).toBe('guess');
    expect(finished.game.transcript[0]).toMatchObject({ kind: 'description', speaker: 'answerer' });
    const view = answererConversation(finished.game, (image) => `https://scenes.test/${image.id}.png`)!;
    expect(view[0]!.content).toContain('{"verdict": "true"}');
  });
});
