import type { ImagePart as GameImagePart, TextPart } from '../game/messages';
import { recogniseQuestionVariant } from '../game/variants';
import { StringMemo } from './memo';
import type { DialogStep } from './questioner';

/**
 * Reads an OpenAI chat request the way the game roles write it (see services/game/messages.ts):
 * which role is asked, the images in order, and the dialog so far. Only plain strings and regexes:
 * the simulator must also cope with requests written by other clients.
 */

// The part shapes come from the one definition the roles write with (services/game/messages.ts);
// a reader also meets OpenAI's optional image `detail` and part kinds it does not read.
export type { TextPart };
export type ImagePart = GameImagePart & { image_url: { detail?: string } };
export type ContentPart = TextPart | ImagePart | { type: string; [key: string]: unknown };

export interface ChatMessageIn {
  role: string;
  content?: string | ContentPart[] | null;
}

export type SimRole = 'questioner' | 'answerer';

function isText(part: ContentPart): part is TextPart {
  return part.type === 'text' && typeof (part as TextPart).text === 'string';
}

function isImage(part: ContentPart): part is ImagePart {
  return part.type === 'image_url' && typeof (part as ImagePart).image_url?.url === 'string';
}

/** Text pieces of a message: each text part, or the lines of a string content. */
export function textPieces(message: ChatMessageIn): string[] {
  const content = message.content;
  if (content === undefined || content === null) return [];
  if (typeof content === 'string') return content.split(/\r?\n/).filter((line) => line.trim() !== '');
  return content.filter(isText).map((p) => p.text);
}

export function messageText(message: ChatMessageIn): string {
  const content = message.content;
  if (typeof content === 'string') return content;
  return textPieces(message).join('\n');
}

/** Image URLs of all user messages, in order. */
export function imageUrls(messages: readonly ChatMessageIn[]): string[] {
  return messages.flatMap((m) => (m.role === 'user' && Array.isArray(m.content) ? m.content.filter(isImage).map((p) => p.image_url.url) : []));
}

function systemText(messages: readonly ChatMessageIn[]): string {
  return messages
    .filter((m) => m.role === 'system' || m.role === 'developer')
    .map(messageText)
    .join('\n');
}

/**
 * The role from the system prompt ("You are the questioner"), else the only role word it names,
 * else by image count: several images means the questioner.
 */
export function detectRole(messages: readonly ChatMessageIn[]): SimRole {
  return roleOfSystemText.get(systemText(messages)) ?? (imageUrls(messages).length > 1 ? 'questioner' : 'answerer');
}

/** The role a system prompt declares or names, if any (pure: remembered by the prompt). */
const roleOfSystemText = new StringMemo<SimRole | undefined>(
  (text) => {
    const system = text.toLowerCase();
    const declared = /\byou are (?:the |a |an )?(questioner|answerer|guesser|describer)\b/.exec(system);
    if (declared) return declared[1] === 'questioner' || declared[1] === 'guesser' ? 'questioner' : 'answerer';
    const q = /\b(questioner|guesser)\b/.test(system);
    const a = /\b(answerer|describer)\b/.test(system);
    if (q !== a) return q ? 'questioner' : 'answerer';
    return undefined;
  },
  1024,
  64 * 1024,
);

/**
 * The question mode the answerer's system prompt asks for, by the variant table
 * (services/game/variants): yes/no when the rule names "unsure" or yes/no, open when no variant
 * recognises the prompt.
 */
export function detectAnswerMode(messages: readonly ChatMessageIn[]): string {
  return recogniseQuestionVariant(systemText(messages)).name;
}

/** The question text inside the questioner's own output (JSON or prose). */
export function questionFromOutput(text: string): string | undefined {
  return questionsFromOutput.get(text);
}

const questionsFromOutput = new StringMemo<string | undefined>((text) => readQuestionFromOutput(text));

function readQuestionFromOutput(text: string): string | undefined {
  const json = /\{[\s\S]*\}/.exec(text);
  if (json) {
    try {
      const value = JSON.parse(json[0]) as { question?: unknown };
      if (typeof value.question === 'string') return value.question;
      return undefined;
    } catch {
      // not JSON after all: fall through to prose
    }
  }
  const marked = /question\s*:\s*(.+)/i.exec(text);
  if (marked) return marked[1]!.trim();
  return text.includes('?') ? text.trim() : undefined;
}

export interface QuestionerConversation {
  images: string[];
  history: DialogStep[];
  descriptions: string[];
  mustGuess: boolean;
  questionsLeft?: number;
}

const ANSWER_LINE = /^\s*answer\s*[:=]\s*([\s\S]+)$/i;
const DESCRIPTION_LINE = /\bdescription\b[^:\n]*:\s*([\s\S]+)$/i;
const QUESTIONS_LEFT = /\bquestions?\s+left\s*:?\s*(\d+)|\b(\d+)\s+questions?\s+(?:are\s+)?left\b/i;
const MUST_GUESS = /\bmust\s+(?:now\s+)?(?:make\s+a\s+)?guess\b|\bguess\s+now\b|\bno\s+(?:more\s+)?questions?\s+(?:are\s+)?left\b/i;

/** What one text piece of a user message tells the questioner (pure: remembered by the piece). */
interface PieceReading {
  answer?: string;
  description?: string;
  questionsLeft?: number;
  mustGuess: boolean;
}

const pieceReadings = new StringMemo<PieceReading>((piece) => {
  const answer = ANSWER_LINE.exec(piece);
  const description = DESCRIPTION_LINE.exec(piece);
  const left = QUESTIONS_LEFT.exec(piece);
  return {
    ...(answer ? { answer: answer[1]!.trim() } : {}),
    ...(description ? { description: description[1]!.trim() } : {}),
    ...(left ? { questionsLeft: Number(left[1] ?? left[2]) } : {}),
    mustGuess: MUST_GUESS.test(piece),
  };
});

/** Empties the conversation reader's memos (tests: results must not depend on them). */
export function clearConversationMemos(): void {
  roleOfSystemText.clear();
  questionsFromOutput.clear();
  pieceReadings.clear();
}

/** Dialog as the questioner sees it: its questions (assistant) paired with the answers (user). */
export function readQuestionerConversation(messages: readonly ChatMessageIn[]): QuestionerConversation {
  const history: DialogStep[] = [];
  const descriptions: string[] = [];
  let pending: string | undefined;
  let mustGuess = false;
  let questionsLeft: number | undefined;
  const lastUser = messages.reduce((last, m, i) => (m.role === 'user' ? i : last), -1);
  messages.forEach((message, index) => {
    if (message.role === 'assistant') {
      pending = questionFromOutput(messageText(message));
      return;
    }
    if (message.role !== 'user') return;
    for (const piece of textPieces(message)) {
      const reading = pieceReadings.get(piece);
      if (reading.answer !== undefined && pending !== undefined) {
        history.push({ question: pending, answer: reading.answer });
        pending = undefined;
      }
      if (reading.description !== undefined) descriptions.push(reading.description);
      if (index === lastUser) {
        if (reading.questionsLeft !== undefined) questionsLeft = reading.questionsLeft;
        if (reading.mustGuess) mustGuess = true;
      }
    }
  });
  return {
    images: imageUrls(messages),
    history,
    descriptions,
    mustGuess: mustGuess || questionsLeft === 0,
    ...(questionsLeft !== undefined ? { questionsLeft } : {}),
  };
}

export type AnswererRequest = { kind: 'describe' } | { kind: 'question'; text: string };

export interface AnswererConversation {
  images: string[];
  request: AnswererRequest;
  /** Question-mode variant name (services/game/variants). */
  mode: string;
}

/** What the answerer is asked now: the last `Question: ...` of the last user message, or a description. */
export function readAnswererConversation(messages: readonly ChatMessageIn[]): AnswererConversation {
  const lastUser = [...messages].reverse().find((m) => m.role === 'user');
  const pieces = lastUser ? textPieces(lastUser) : [];
  let request: AnswererRequest = { kind: 'describe' };
  for (let i = pieces.length - 1; i >= 0; i--) {
    const piece = pieces[i]!;
    const question = /\bquestion\s*:\s*([\s\S]+)$/i.exec(piece);
    if (question) {
      request = { kind: 'question', text: question[1]!.trim() };
      break;
    }
    if (/\bdescribe\b/i.test(piece)) break;
    if (piece.trim().endsWith('?')) {
      request = { kind: 'question', text: piece.trim() };
      break;
    }
  }
  return { images: imageUrls(messages), request, mode: detectAnswerMode(messages) };
}
