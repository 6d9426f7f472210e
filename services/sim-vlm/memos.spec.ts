import { toDataUrl } from '../datasets/image-bytes';
import { embedScene } from '../datasets/png-text';
import { createRng, type Rng } from '../datasets/prng';
import { renderScenePng } from '../datasets/render';
import { describeScene, type Scene } from '../datasets/scene';
import { generateDistinctScenes } from '../datasets/scene-generator';
import { DEFAULT_BEHAVIOUR } from './behaviour';
import type { ChatMessageIn } from './conversation';
import { formatQuestion, predicateComplexity, predicateKey, type Predicate } from './grammar';
import { LongStringMemo, StringMemo } from './memo';
import { bestQuestion, candidatePredicates, clearQuestionCaches } from './questioner';
import { evaluatePredicate } from './scene-reasoning';
import { clearSimulatorMemos, simulateCompletion, type SimCompletion } from './simulator';

/**
 * The simulator remembers per-call work (issue 10: CPU per model call): per-scene candidate questions
 * and their answers, parsed questions and conversation pieces, image-URL hashes. None of it may change
 * what it answers: these tests compare against the search without memos, and answers with memos warm,
 * cleared, and for copies of the same request.
 */

const scenes = generateDistinctScenes(120, 7);

/** bestQuestion as it was before its per-scene memo: every call goes through candidatePredicates. */
function referenceBestQuestion(candidates: readonly Scene[], askedKeys: ReadonlySet<string>, rng: Rng): Predicate | undefined {
  let best: Predicate[] = [];
  let bestScore = 0;
  let bestComplexity = Infinity;
  for (const predicate of candidatePredicates(candidates)) {
    if (askedKeys.has(predicateKey(predicate))) continue;
    const yes = candidates.filter((s) => evaluatePredicate(s, predicate)).length;
    const score = Math.min(yes, candidates.length - yes);
    if (score === 0) continue;
    const complexity = predicateComplexity(predicate);
    if (score > bestScore || (score === bestScore && complexity < bestComplexity)) {
      best = [predicate];
      bestScore = score;
      bestComplexity = complexity;
    } else if (score === bestScore && complexity === bestComplexity) {
      best.push(predicate);
    }
  }
  return best.length === 0 ? undefined : rng.pick(best);
}

interface Trial {
  candidates: Scene[];
  asked: Set<string>;
  seed: number;
}

function trials(count: number, seed: number): Trial[] {
  const rng = createRng(seed);
  return Array.from({ length: count }, (_, t) => {
    const candidates = Array.from({ length: rng.range(2, 6) }, () => scenes[rng.int(scenes.length)]!);
    const keys = candidatePredicates(candidates).map(predicateKey);
    const asked = new Set(Array.from({ length: rng.int(12) }, () => keys[rng.int(keys.length)]!));
    return { candidates, asked, seed: t };
  });
}

/** The question picked and the next number of the rng after it (same pick, same draws). */
function pick(search: typeof bestQuestion, trial: Trial, candidates = trial.candidates): { question?: Predicate; next: number } {
  const rng = createRng(trial.seed);
  const question = search(candidates, trial.asked, rng);
  return { ...(question ? { question } : {}), next: rng.next() };
}

describe('bestQuestion with its per-scene memo', () => {
  const cases = trials(250, 3);

  it('picks what the search without memos picks, cold, warm and for copied scenes', () => {
    clearQuestionCaches();
    const reference = cases.map((trial) => pick(referenceBestQuestion, trial));
    expect(reference.filter((r) => r.question).length).toBeGreaterThan(200);
    expect(cases.map((trial) => pick(bestQuestion, trial))).toEqual(reference);
    expect(cases.map((trial) => pick(bestQuestion, trial))).toEqual(reference);
    expect(cases.map((trial) => pick(bestQuestion, trial, structuredClone(trial.candidates)))).toEqual(reference);
    clearQuestionCaches();
    expect(cases.map((trial) => pick(bestQuestion, trial))).toEqual(reference);
  });

  it('follows a scene whose content changed (remembered by content, not by object)', () => {
    const candidates = structuredClone(scenes.slice(0, 4));
    const trial: Trial = { candidates, asked: new Set(), seed: 11 };
    expect(pick(bestQuestion, trial)).toEqual(pick(referenceBestQuestion, trial));
    for (const scene of candidates) {
      scene.objects[0]!.color = scene.objects[0]!.color === 'red' ? 'blue' : 'red';
      scene.objects[0]!.row = scene.objects[0]!.row === 'top' ? 'bottom' : 'top';
      scene.background = scene.background === 'white' ? 'black' : 'white';
    }
    expect(pick(bestQuestion, trial)).toEqual(pick(referenceBestQuestion, trial));
  });

  it('handles scenes outside the palette and malformed ones like the search without memos', () => {
    const odd = structuredClone(scenes.slice(10, 14)) as unknown as Array<Record<string, unknown> & Scene>;
    (odd[0]!.objects[0] as unknown as Record<string, unknown>).color = 'teal';
    odd[1]!.background = 'mauve' as Scene['background'];
    (odd[2]!.objects[0] as unknown as Record<string, unknown>).column = undefined;
    (odd[3]!.objects[0] as unknown as Record<string, unknown>).shape = 7;
    for (let seed = 0; seed < 20; seed++) {
      const trial: Trial = { candidates: odd, asked: new Set(), seed };
      expect(pick(bestQuestion, trial)).toEqual(pick(referenceBestQuestion, trial));
    }
  });
});

describe('simulateCompletion with its memos', () => {
  const urls = new Map<Scene, string>(scenes.slice(0, 40).map((scene) => [scene, toDataUrl(embedScene(renderScenePng(scene), scene), 'image/png')]));
  const byUrl = new Map<string, Scene>([...urls].map(([scene, url]) => [url, scene]));
  const loadScene = async (url: string): Promise<Scene | undefined> => byUrl.get(url);
  const known = [...urls.keys()];
  const ANSWERS = ['yes', 'no', 'unsure', 'Yes.', '{"answer": "no"}', 'I think so'];

  function questionerRequest(rng: Rng): ChatMessageIn[] {
    const candidates = rng.shuffle(known).slice(0, rng.range(2, 5));
    const questions = candidatePredicates(candidates).map(formatQuestion);
    const messages: ChatMessageIn[] = [{ role: 'system', content: 'You are the questioner. Reply with {"question": "..."} or {"guess": <n>}.' }];
    const intro: ChatMessageIn['content'] = candidates.flatMap((scene, i) => [
      { type: 'text', text: `Image ${i + 1}:` },
      { type: 'image_url', image_url: { url: urls.get(scene)! } },
    ]);
    if (rng.chance(0.3)) intro.push({ type: 'text', text: `Description of the target: ${describeScene(candidates[rng.int(candidates.length)]!)}` });
    const turns = rng.int(5);
    let user = intro;
    for (let i = 0; i < turns; i++) {
      messages.push({ role: 'user', content: [...user, { type: 'text', text: `Questions left: ${10 - i} of 10.` }] });
      messages.push({ role: 'assistant', content: JSON.stringify({ question: questions[rng.int(questions.length)] }) });
      user = [{ type: 'text', text: `Answer: ${ANSWERS[rng.int(ANSWERS.length)]}` }];
    }
    const left = rng.chance(0.2) ? 0 : 10 - turns;
    messages.push({ role: 'user', content: [...user, { type: 'text', text: left > 0 ? `Questions left: ${left} of 10.` : 'You must guess now.' }] });
    return messages;
  }

  function answererRequest(rng: Rng): ChatMessageIn[] {
    const target = known[rng.int(known.length)]!;
    const questions = [...candidatePredicates([target, known[rng.int(known.length)]!]).map(formatQuestion), 'What color is the circle?', 'Describe the image.'];
    return [
      { role: 'system', content: 'You are the answerer. Reply with {"answer": "yes"}, {"answer": "no"} or {"answer": "unsure"}.' },
      {
        role: 'user',
        content: [
          { type: 'text', text: 'This is your image.' },
          { type: 'image_url', image_url: { url: urls.get(target)! } },
          { type: 'text', text: `Question: ${questions[rng.int(questions.length)]}` },
        ],
      },
    ];
  }

  const rng = createRng(5);
  const requests = Array.from({ length: 300 }, (_, i) => ({ messages: i % 2 === 0 ? questionerRequest(rng) : answererRequest(rng), seed: 1000 + i }));
  const behaviour = { ...DEFAULT_BEHAVIOUR, errorRate: 0.2 };
  const answerAll = (copy: boolean): Promise<SimCompletion[]> =>
    Promise.all(
      requests.map((r) =>
        simulateCompletion({ messages: copy ? (JSON.parse(JSON.stringify(r.messages)) as ChatMessageIn[]) : r.messages, behaviour, seed: r.seed }, loadScene),
      ),
    );

  it('answers the same requests the same way: cold, warm, for copies, and with its memos cleared', async () => {
    clearSimulatorMemos();
    const cold = await answerAll(false);
    expect(new Set(cold.map((c) => c.role))).toEqual(new Set(['questioner', 'answerer']));
    expect(new Set(cold.map((c) => c.content)).size).toBeGreaterThan(20);
    expect(await answerAll(false)).toEqual(cold);
    expect(await answerAll(true)).toEqual(cold);
    clearSimulatorMemos();
    expect(await answerAll(true)).toEqual(cold);
    // Answered one at a time, in reverse order: nothing depends on what was asked before.
    clearSimulatorMemos();
    const reversed: SimCompletion[] = [];
    for (const r of [...requests].reverse()) reversed.unshift(await simulateCompletion({ messages: r.messages, behaviour, seed: r.seed }, loadScene));
    expect(reversed).toEqual(cold);
  });
});

describe('the memos themselves', () => {
  it('StringMemo computes once per key, bounded, and computes over-long keys every time', () => {
    let calls = 0;
    const memo = new StringMemo((key) => (calls++, key.length === 0 ? undefined : key.toUpperCase()), 3, 10);
    expect([memo.get('ab'), memo.get('ab'), memo.get(''), memo.get('')]).toEqual(['AB', 'AB', undefined, undefined]);
    expect(calls).toBe(2);
    memo.get('c');
    memo.get('d');
    expect(memo.size).toBeLessThanOrEqual(3);
    expect(memo.get('0123456789x')).toBe('0123456789X');
    expect(memo.get('0123456789x')).toBe('0123456789X');
    expect(memo.size).toBeLessThanOrEqual(3);
  });

  it('LongStringMemo tells apart keys of the same length and ending, and stays within its bounds', () => {
    const tail = 'x'.repeat(100);
    const keys = Array.from({ length: 12 }, (_, i) => `${String.fromCharCode(65 + i)}${tail}`);
    const memo = new LongStringMemo<number>(1_000, 8);
    keys.forEach((key, i) => memo.set(key, i));
    // One fingerprint: the 8 newest are kept, each with its own value; the oldest are gone.
    keys.forEach((key, i) => expect(memo.find(key)?.value).toBe(i >= 4 ? i : undefined));
    expect(memo.find(`${keys[5]!}`.slice(0) + '')?.value).toBe(5);
    expect(memo.find(`Z${tail}`)).toBeUndefined();
    // Over the character bound it starts again.
    memo.set(`long${'y'.repeat(300)}`, 99);
    memo.set(`more${'z'.repeat(300)}`, 98);
    expect(memo.find(keys[11]!)).toBeUndefined();
    expect(memo.find(`more${'z'.repeat(300)}`)?.value).toBe(98);
    memo.set('k'.repeat(2_000), 1);
    expect(memo.find('k'.repeat(2_000))).toBeUndefined();
  });
});
