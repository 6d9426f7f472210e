import { randomInt } from 'node:crypto';
import { createRng, hashString, seedFrom } from '../datasets/prng';
import type { Scene } from '../datasets/scene';
import { answerQuestion, clearAnswererMemo, describeTarget, type SimAnswer } from './answerer';
import type { SimBehaviour } from './behaviour';
import {
  clearConversationMemos,
  detectRole,
  messageText,
  readAnswererConversation,
  readQuestionerConversation,
  type ChatMessageIn,
  type SimRole,
} from './conversation';
import { LongStringMemo } from './memo';
import { chooseQuestionerMove, clearQuestionCaches } from './questioner';
import { questionVariant, type QuestionVariant } from '../game/variants';

/**
 * One chat completion of the simulator, transport-free: reads the conversation, looks at the
 * images' scenes through `loadScene`, and returns the assistant text. Deterministic for a given
 * seed and conversation.
 */

export interface SimCompletionInput {
  messages: readonly ChatMessageIn[];
  behaviour: SimBehaviour;
  /** The request's `seed`; without one every call draws fresh randomness. */
  seed?: number;
}

export interface SimCompletion {
  role: SimRole;
  content: string;
  /** Number of images in the request, for usage accounting. */
  imageCount: number;
}

/** The scene of an image URL, or undefined when the image carries none (any other picture). */
export type SceneLoader = (url: string) => Promise<Scene | undefined>;

/** hashString of image URLs, remembered for long ones (data: URLs repeat across turns and games), bounded in characters. */
const URL_HASHES_MAX_CHARS = 32 * 1024 * 1024;
const urlHashes = new LongStringMemo<number>(URL_HASHES_MAX_CHARS);
function urlHash(url: string): number {
  if (url.length < 256 || url.length > 1024 * 1024) return hashString(url);
  const known = urlHashes.find(url);
  if (known) return known.value;
  const hash = hashString(url);
  urlHashes.set(url, hash);
  return hash;
}

/**
 * Empties every memo and cache of the simulator's per-call work (image-URL hashes, readings of the
 * conversation, the questioner's per-scene questions and answers, parsed questions): what it answers
 * never depends on them, and tests check that by answering again with them cleared. The servers'
 * scene caches of data: URLs belong to each server (a new server starts empty).
 */
export function clearSimulatorMemos(): void {
  urlHashes.clear();
  clearConversationMemos();
  clearQuestionCaches();
  clearAnswererMemo();
}

function conversationSeed(seed: number | undefined, messages: readonly ChatMessageIn[]): number {
  if (seed === undefined) return randomInt(2 ** 32);
  const texts = messages.map((m) => `${m.role}:${messageText(m)}`).join('\n');
  const images = messages
    .flatMap((m) => (Array.isArray(m.content) ? m.content : []))
    .map((p) => (p.type === 'image_url' ? urlHash(String((p as { image_url?: { url?: unknown } }).image_url?.url)) : 0))
    .join(',');
  return seedFrom(seed, texts, images);
}

/** The completion text: a description as is; an answer as the question-mode variant writes it. */
function answerText(answer: SimAnswer, variant: QuestionVariant): string {
  if (answer.kind === 'description') return answer.answer;
  return variant.sim.format(answer.kind === 'yesno' ? { kind: 'yesno', answer: answer.answer } : answer);
}

export async function simulateCompletion(input: SimCompletionInput, loadScene: SceneLoader): Promise<SimCompletion> {
  const role = detectRole(input.messages);
  const rng = createRng(conversationSeed(input.seed, input.messages));
  if (role === 'questioner') {
    const conversation = readQuestionerConversation(input.messages);
    const scenes = await Promise.all(conversation.images.map(loadScene));
    const move = chooseQuestionerMove(
      { candidates: scenes, history: conversation.history, descriptions: conversation.descriptions, mustGuess: conversation.mustGuess },
      rng,
    );
    const content = move.kind === 'question' ? JSON.stringify({ question: move.text }) : JSON.stringify({ guess: move.index + 1 });
    return { role, content, imageCount: conversation.images.length };
  }
  const conversation = readAnswererConversation(input.messages);
  // An answerer sees one image; if it is given several, it looks at the first.
  const first = conversation.images[0];
  const scene = first === undefined ? undefined : await loadScene(first);
  const variant = questionVariant(conversation.mode);
  const answer =
    conversation.request.kind === 'describe'
      ? describeTarget(scene)
      : answerQuestion(scene, conversation.request.text, { mode: variant.sim.answerMode, errorRate: input.behaviour.errorRate, rng });
  return { role, content: answerText(answer, variant), imageCount: conversation.images.length };
}
