import type { GameState } from '../../schemas/generated/events';
import { buildAnswererMessages, buildQuestionerMessages, DESCRIBE_REQUEST, type ChatMessage, type ContentPart } from './messages';
import { loadPrompts } from './prompts';
import { makeGame, withDialog } from './testing';

const prompts = loadPrompts('v1');

const urlsFor = (game: GameState): Map<string, string> => new Map(game.setup.candidates.map((c) => [c.id, `https://img.test/${c.id}.png`]));

const parts = (message: ChatMessage | undefined): ContentPart[] => {
  if (message === undefined) throw new Error('missing message');
  return typeof message.content === 'string' ? [{ type: 'text', text: message.content }] : message.content;
};
const texts = (messages: ChatMessage[]): string => messages.flatMap((m) => parts(m).map((p) => (p.type === 'text' ? p.text : ''))).join('\n');
const imageUrls = (messages: ChatMessage[]): string[] => messages.flatMap((m) => parts(m).flatMap((p) => (p.type === 'image_url' ? [p.image_url.url] : [])));

/** Small seeded PRNG so the randomised cases are reproducible. */
function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function randomGame(random: () => number, index: number): GameState {
  const numCandidates = 2 + Math.floor(random() * 15);
  const maxTurns = Math.floor(random() * 12);
  const describeFirst = random() < 0.3;
  const ids = Array.from({ length: numCandidates }, (_, i) => `img-${index}-${i}-${Math.floor(random() * 1e6)}`);
  const base = makeGame({
    candidateIds: ids,
    targetIndex: Math.floor(random() * numCandidates),
    maxTurns,
    describeFirst,
    questionMode: random() < 0.5 ? 'yesno' : 'open',
  });
  const asked = Math.floor(random() * (maxTurns + 1));
  const pairs: Array<[string, string]> = Array.from({ length: asked }, (_, i) => [`Is there shape ${i}?`, random() < 0.5 ? 'yes' : 'no']);
  return withDialog(base, pairs, describeFirst ? 'A red circle and a blue square.' : undefined);
}

describe('buildQuestionerMessages', () => {
  it('sends the system prompt, then the candidates labelled Image 1..N in display order', () => {
    const game = makeGame({ numCandidates: 3, targetIndex: 1 });
    const messages = buildQuestionerMessages(game, urlsFor(game), prompts);
    expect(messages[0]?.role).toBe('system');
    expect(messages[0]?.content).toContain('questioner');
    expect(messages[0]?.content).toContain('Image 1 to Image 3');
    expect(messages).toHaveLength(2);
    const intro = parts(messages[1]);
    expect(messages[1]?.role).toBe('user');
    expect(intro.map((p) => (p.type === 'text' ? p.text : `<${p.image_url.url}>`))).toEqual([
      'Here are the 3 candidate images. One of them is the target.',
      'Image 1:',
      '<https://img.test/scene-0000.png>',
      'Image 2:',
      '<https://img.test/scene-0001.png>',
      'Image 3:',
      '<https://img.test/scene-0002.png>',
      'Questions left: 10 of 10. Ask one question or make a guess, as JSON.',
    ]);
  });

  it('replays past turns as assistant JSON and user answers, alternating strictly', () => {
    const game = withDialog(makeGame({ maxTurns: 3 }), [
      ['Is there a red circle?', 'yes'],
      ['Is it large?', 'no'],
    ]);
    const messages = buildQuestionerMessages(game, urlsFor(game), prompts);
    expect(messages.map((m) => m.role)).toEqual(['system', 'user', 'assistant', 'user', 'assistant', 'user']);
    expect(messages[2]?.content).toBe('{"question":"Is there a red circle?"}');
    expect(parts(messages[3])).toEqual([
      { type: 'text', text: 'Answer: yes' },
      { type: 'text', text: 'Questions left: 2 of 3. Ask one question or make a guess, as JSON.' },
    ]);
    expect(messages[4]?.content).toBe('{"question":"Is it large?"}');
    expect(parts(messages[5])[0]).toEqual({ type: 'text', text: 'Answer: no' });
  });

  it('demands a guess once every question is used', () => {
    const game = withDialog(makeGame({ maxTurns: 2 }), [
      ['Is it red?', 'yes'],
      ['Is it big?', 'no'],
    ]);
    const last = parts(buildQuestionerMessages(game, urlsFor(game), prompts).at(-1));
    expect(last.at(-1)).toEqual({ type: 'text', text: 'Questions left: 0 of 2. You must guess now: reply with {"guess": <image number>}.' });
  });

  it('extends the previous request: each step is the last one plus two messages', () => {
    const before = withDialog(makeGame(), [['Is it red?', 'yes']]);
    const after = withDialog(before, [['Is it big?', 'no']]);
    const previous = buildQuestionerMessages(before, urlsFor(before), prompts);
    const next = buildQuestionerMessages(after, urlsFor(after), prompts);
    expect(next.slice(0, previous.length)).toEqual(previous);
    expect(next).toHaveLength(previous.length + 2);
  });

  it('gives the describeFirst description with the candidates, before the first question', () => {
    const game = withDialog(makeGame({ describeFirst: true }), [], 'A big green star.');
    const messages = buildQuestionerMessages(game, urlsFor(game), prompts);
    expect(messages).toHaveLength(2);
    expect(texts(messages)).toContain("Your partner's description of the target: A big green star.");
  });

  it('states the open question rule in open mode', () => {
    const open = buildQuestionerMessages(makeGame({ questionMode: 'open' }), urlsFor(makeGame()), prompts);
    const yesno = buildQuestionerMessages(makeGame(), urlsFor(makeGame()), prompts);
    expect(open[0]?.content).toContain('Questions may be open');
    expect(yesno[0]?.content).toContain('yes/no questions only');
  });

  it('refuses when it is not the questioner turn or an image URL is missing', () => {
    const pending = withDialog(makeGame(), [['Is it red?']]);
    expect(() => buildQuestionerMessages(pending, urlsFor(pending), prompts)).toThrow(/not the questioner's turn/);
    const opening = makeGame({ describeFirst: true });
    expect(() => buildQuestionerMessages(opening, urlsFor(opening), prompts)).toThrow(/not the questioner's turn/);
    const game = makeGame();
    const urls = urlsFor(game);
    urls.delete('scene-0002');
    expect(() => buildQuestionerMessages(game, urls, prompts)).toThrow(/scene-0002/);
  });

  it('never depends on the target: random games give identical requests whatever the target index', () => {
    const random = mulberry32(7);
    for (let i = 0; i < 300; i++) {
      const game = randomGame(random, i);
      const urls = urlsFor(game);
      const messages = buildQuestionerMessages(game, urls, prompts);
      for (let target = 0; target < game.setup.candidates.length; target++) {
        const moved = { ...game, setup: { ...game.setup, targetIndex: target } };
        expect(buildQuestionerMessages(moved, urls, prompts)).toEqual(messages);
      }
      const allText = texts(messages);
      for (const candidate of game.setup.candidates) expect(allText).not.toContain(candidate.id);
      expect(allText).not.toMatch(/target(?:Index| index| is image)/i);
      expect(imageUrls(messages)).toEqual(game.setup.candidates.map((c) => urls.get(c.id)));
    }
  });
});

describe('buildAnswererMessages', () => {
  const target = 'data:image/png;base64,VEFSR0VU';

  it('sends the system prompt, the target image and the question', () => {
    const game = withDialog(makeGame(), [['Is there a red circle?']]);
    const messages = buildAnswererMessages(game, target, prompts);
    expect(messages[0]?.role).toBe('system');
    expect(messages[0]?.content).toContain('answerer');
    expect(messages[0]?.content).toContain('{"answer": "yes"}');
    expect(messages).toHaveLength(2);
    expect(parts(messages[1])).toEqual([
      { type: 'text', text: 'This is your image.' },
      { type: 'image_url', image_url: { url: target } },
      { type: 'text', text: 'Question: Is there a red circle?' },
    ]);
  });

  it('replays past questions and its own answers, ending with the current question', () => {
    const game = withDialog(makeGame(), [['Is it red?', 'yes'], ['Is it big?', 'no'], ['Is it a star?']]);
    const messages = buildAnswererMessages(game, target, prompts);
    expect(messages.map((m) => m.role)).toEqual(['system', 'user', 'assistant', 'user', 'assistant', 'user']);
    expect(messages[2]?.content).toBe('{"answer":"yes"}');
    expect(messages[3]?.content).toEqual([{ type: 'text', text: 'Question: Is it big?' }]);
    expect(messages[5]?.content).toEqual([{ type: 'text', text: 'Question: Is it a star?' }]);
  });

  it('keeps open answers as plain text', () => {
    const game = withDialog(makeGame({ questionMode: 'open' }), [['What colour is it?', 'red'], ['What shape?']]);
    const messages = buildAnswererMessages(game, target, prompts);
    expect(messages[2]?.content).toBe('red');
    expect(messages[0]?.content).toContain('short answer');
  });

  it('opens a describeFirst game with the describe request, then answers after its description', () => {
    const opening = makeGame({ describeFirst: true });
    const first = buildAnswererMessages(opening, target, prompts);
    expect(parts(first.at(-1)).at(-1)).toEqual({ type: 'text', text: DESCRIBE_REQUEST });

    const later = withDialog(opening, [['Is it red?']], 'A red star.');
    const messages = buildAnswererMessages(later, target, prompts);
    expect(messages.map((m) => m.role)).toEqual(['system', 'user', 'assistant', 'user']);
    expect(messages[2]?.content).toBe('A red star.');
    expect(messages[3]?.content).toEqual([{ type: 'text', text: 'Question: Is it red?' }]);
  });

  it('refuses when there is no question to answer', () => {
    expect(() => buildAnswererMessages(makeGame(), target, prompts)).toThrow(/not the answerer's turn/);
    expect(() => buildAnswererMessages(withDialog(makeGame(), [['Is it red?', 'yes']]), target, prompts)).toThrow(/not the answerer's turn/);
  });

  it('carries exactly one image, the target, and nothing about the display order', () => {
    const random = mulberry32(11);
    for (let i = 0; i < 300; i++) {
      const game = randomGame(random, i);
      const withQuestion = game.transcript.length === 0 && game.setup.describeFirst ? game : withDialog(game, [['Is it round?']]);
      const targetRef = withQuestion.setup.candidates[withQuestion.setup.targetIndex]!;
      const messages = buildAnswererMessages(withQuestion, `https://img.test/${targetRef.id}.png`, prompts);
      expect(imageUrls(messages)).toEqual([`https://img.test/${targetRef.id}.png`]);
      // The same game with the candidates reversed (target moves with them) gives the same request.
      const reversed = [...withQuestion.setup.candidates].reverse();
      const shuffled = { ...withQuestion, setup: { ...withQuestion.setup, candidates: reversed, targetIndex: reversed.indexOf(targetRef) } };
      expect(buildAnswererMessages(shuffled, `https://img.test/${targetRef.id}.png`, prompts)).toEqual(messages);
      const allText = texts(messages);
      for (const candidate of withQuestion.setup.candidates) expect(allText).not.toContain(candidate.id);
    }
  });
});
