import { NonRetriableError } from '../../core/errors';
import { openVariant } from './open';
import type { QuestionVariant } from './variant';
import { yesnoVariant } from './yesno';

export * from './variant';
export { MAX_DESCRIPTION_CHARS, MAX_OPEN_ANSWER_CHARS, freeText, normaliseYesNo, type ParsedAnswererOutput, type YesNoAnswer } from './answer-text';

/*
 * The question-mode variant table. Adding a mode: a folder services/game/variants/<name>/ with an
 * index.ts exporting its QuestionVariant and its `questioner.rules.md` / `answerer.rules.md`, and one
 * line in QUESTION_VARIANTS below. A mode that travels on Kafka is also a symbol of the QuestionMode
 * enum in schemas/avro/shared/GameSetup.avsc (append it; the enum has a default, so the change is
 * BACKWARD compatible; then `dg codegen`); variants.spec.ts checks the two lists agree.
 */
export const QUESTION_VARIANTS: readonly QuestionVariant[] = [yesnoVariant, openVariant];

const table = new Map<string, QuestionVariant>(QUESTION_VARIANTS.map((v) => [v.name, v]));

/** The variant of a question mode; an unknown mode is a NonRetriableError naming the known ones. */
export function questionVariant(mode: string): QuestionVariant {
  const variant = table.get(mode);
  if (variant === undefined) throw new NonRetriableError(`unknown question mode ${JSON.stringify(mode)} (known: ${questionModeNames().join(', ')})`);
  return variant;
}

/** Registered mode names, in registration order. */
export function questionModeNames(): string[] {
  return [...table.keys()];
}

/** Registered variants, in registration order. */
export function questionVariants(): QuestionVariant[] {
  return [...table.values()];
}

/**
 * Adds a variant at run time (tests, experiments): the same effect as a line in QUESTION_VARIANTS.
 * Returns a function that removes it again.
 */
export function registerQuestionVariant(variant: QuestionVariant): () => void {
  if (table.has(variant.name)) throw new Error(`question mode ${variant.name} is already registered`);
  table.set(variant.name, variant);
  return () => {
    table.delete(variant.name);
  };
}

/**
 * The variant an answerer's system prompt asks for, as the simulated VLM sees it: the most recently
 * registered variant that recognises the text (so a new, more specific variant is tried before the
 * built-in ones), with open as the fallback.
 */
export function recogniseQuestionVariant(systemText: string): QuestionVariant {
  const variants = questionVariants().reverse();
  return variants.find((v) => v !== openVariant && v.sim.recognises(systemText)) ?? openVariant;
}
