import { createHash } from 'node:crypto';
import type { Curation, GameJudged, GameState, Turn } from '../../schemas/generated/events';
import { NUMBER_WORDS, ORDINAL_WORDS } from './model-output';
import { normaliseUtterance } from './transcript';

/** Version of the rule set below; recorded on every curation. Bump when a decision could change. */
export const FILTER_VERSION = 'filter-1';

export type FilterRuleId = 'not_success' | 'repeated_question' | 'answer_names_candidate' | 'empty_turn' | 'duplicate_transcript';

export interface FilterRule {
  id: FilterRuleId;
  description: string;
  /** True when the rule rejects the game. */
  fires(judged: GameJudged, context: FilterContext): boolean;
}

export interface FilterContext {
  transcriptHash: string;
  seenTranscriptHashes?: ReadonlySet<string>;
}

export interface CurateOptions {
  now: number;
  filterVersion?: string;
  /** Hashes of transcripts already kept; when given, a game repeating one is rejected. */
  seenTranscriptHashes?: ReadonlySet<string>;
}

const IMAGE_NOUN = '(?:image|picture|photo|photograph|pic|img|candidate|option|choice)s?';
const NUMBER = `(?:\\d{1,2}|${NUMBER_WORDS.join('|')})`;
const ORDINAL = `(?:\\d{1,2}(?:st|nd|rd|th)|${ORDINAL_WORDS.join('|')})`;
/** After "image 2": the end of a clause, so "in the image two circles are red" is not a label. */
const LABEL_END = '(?=\\s*(?:$|[.,;:!?)\\]"\'\u2019]|(?:is|was|has|had|shows|contains|and|or|with|which|that|where|in|on)\\b))';
const LIST_POSITION =
  '(?:(?:top|bottom|upper|lower)[\\s-]?(?:left|right)|(?:left|right)[\\s-]?most|left|right|top|bottom|upper|lower|middle|center|centre|last|final|previous|next)';

/**
 * References to the questioner's numbering or layout of the candidates, which the answerer must
 * not know: "image 2", "picture #3", "option two.", "#3", "the third one", "first image", "2nd picture",
 * "left-most image", "top-right picture", "the last image". Positions inside the picture are fine
 * ("on the left", "the left circle", "left side of the image"): a position word only counts
 * when it qualifies the image itself. Known blind spot: "the second one" about a shape in the scene
 * is flagged too, the price of catching "the third one".
 */
const CANDIDATE_REFERENCES: RegExp[] = [
  new RegExp(`\\b${IMAGE_NOUN}\\s*(?:no\\.?|number|num\\.?)?\\s*#?\\s*${NUMBER}\\b${LABEL_END}`, 'i'),
  /(?:^|[^\w&])#\s*\d{1,2}\b/,
  new RegExp(`\\b${ORDINAL}\\s+(?:one|${IMAGE_NOUN})\\b`, 'i'),
  new RegExp(`\\b${LIST_POSITION}\\s+${IMAGE_NOUN}\\b`, 'i'),
];

/** True when an answer refers to a candidate by its label or its position among the candidates. */
export function namesCandidate(text: string): boolean {
  return CANDIDATE_REFERENCES.some((pattern) => pattern.test(text));
}

export const FILTER_RULES: readonly FilterRule[] = [
  {
    id: 'not_success',
    description: 'the referee did not judge the game a success',
    fires: (judged) => judged.judgement.verdict !== 'success',
  },
  {
    id: 'repeated_question',
    description: 'the questioner asked the same question twice (compared after normalisation)',
    fires: (judged) => {
      const questions = judged.game.transcript.filter((t) => t.kind === 'question').map((t) => normaliseUtterance(t.text));
      return new Set(questions).size !== questions.length;
    },
  },
  {
    id: 'answer_names_candidate',
    description: "an answer or description names a candidate's label or position",
    fires: (judged) => judged.game.transcript.some((t) => t.speaker === 'answerer' && namesCandidate(t.text)),
  },
  {
    id: 'empty_turn',
    description: 'a turn has no words',
    fires: (judged) => judged.game.transcript.some((t) => normaliseUtterance(t.text) === ''),
  },
  {
    id: 'duplicate_transcript',
    description: 'the same candidates and dialog were already kept',
    fires: (_judged, context) => context.seenTranscriptHashes?.has(context.transcriptHash) ?? false,
  },
];

/** The filter's decision: kept iff no rule fires; reasons are the ids of the rules that fired, in rule order. */
export function curate(judged: GameJudged, options: CurateOptions): Curation {
  const context: FilterContext = { transcriptHash: transcriptHash(judged.game) };
  if (options.seenTranscriptHashes !== undefined) context.seenTranscriptHashes = options.seenTranscriptHashes;
  const reasons = FILTER_RULES.filter((rule) => rule.fires(judged, context)).map((rule) => rule.id);
  return {
    kept: reasons.length === 0,
    reasons,
    filterVersion: options.filterVersion ?? FILTER_VERSION,
    transcriptHash: context.transcriptHash,
    curatedAtMs: options.now,
  };
}

/**
 * Hex SHA-256 over the candidate ids in display order and the normalised transcript (speaker, kind,
 * text per turn): two games hash alike when they show the same candidates in the same order and
 * hold the same dialog up to punctuation and case.
 */
export function transcriptHash(game: GameState): string {
  const lines = [`candidates\t${game.setup.candidates.map((c) => c.id).join('\t')}`, ...game.transcript.map(turnLine)];
  return createHash('sha256').update(lines.join('\n'), 'utf8').digest('hex');
}

function turnLine(turn: Turn): string {
  return `${turn.speaker}\t${turn.kind}\t${normaliseUtterance(turn.text)}`;
}
