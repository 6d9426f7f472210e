import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { NonRetriableError } from '../../core/errors';
import { repoRoot } from '../../core/config/repo-root';
import { PROMPT_NAMES, type PromptName, type PromptSet } from '../prompts';
import type { ParsedAnswererOutput } from './answer-text';

/*
 * A question mode (GameSetup.questionMode): what kind of questions the questioner asks and how the
 * answerer answers them. Everything that differs between modes lives in one QuestionVariant: the rule
 * text each role's system prompt embeds, how an answer is parsed and how it reappears in the
 * answerer's own history, and how the simulated VLM recognises and answers the mode. Game code,
 * export views and the simulator look the variant up by name (./index.ts); none switches on the
 * mode string.
 */

export type VariantRole = 'questioner' | 'answerer';

/** A simulated answer before the variant formats it: a yes/no/unsure verdict or a short phrase. */
export type SimVariantAnswer = { kind: 'yesno'; answer: 'yes' | 'no' | 'unsure' } | { kind: 'text'; answer: string };

export interface QuestionVariant {
  /** The GameSetup.questionMode value (for a variant on the wire, a symbol of the Avro QuestionMode enum). */
  name: string;
  /** One line for CLI help. */
  summary: string;
  /**
   * Folder holding the variant's own `questioner.rules.md` and `answerer.rules.md`, used when the
   * game's prompt version has no `<role>.rules.<name>` template (released versions have them only for
   * yesno and open, and are never edited). Default: services/game/variants/<name>.
   */
  rulesDir?: string;
  /** Parses an answer (not the opening description) from a completion already free of reasoning and not empty. */
  parseAnswer(text: string): ParsedAnswererOutput;
  /** How a past answer appears in the answerer's own history (its assistant message). */
  historyText(answer: string): string;
  /** The simulated VLM's side of the variant. */
  sim: {
    /** Whether an answerer's system prompt asks for this mode. The open variant is the fallback. */
    recognises(systemText: string): boolean;
    /** How the scene reasoner answers: yes/no predicates only, or also short phrases to wh-questions. */
    answerMode: 'yesno' | 'open';
    /** The simulated answerer's completion text for an answer. */
    format(answer: SimVariantAnswer): string;
  };
}

const ruleCache = new Map<string, string>();

/**
 * The rule text of a variant for one role: the prompt version's `<role>.rules.<variant>` template
 * when the version has one, else the variant folder's `<role>.rules.md`. Placeholders are filled as
 * in renderPrompt (a missing value is an error).
 */
export function renderVariantRule(
  prompts: PromptSet,
  variant: QuestionVariant,
  role: VariantRole,
  vars: Readonly<Record<string, string | number>> = {},
): string {
  const templateName = `${role}.rules.${variant.name}`;
  const template = (PROMPT_NAMES as readonly string[]).includes(templateName) ? prompts.templates[templateName as PromptName] : variantRuleText(variant, role);
  return template.replace(/\{\{\s*([A-Za-z][A-Za-z0-9]*)\s*\}\}/g, (_match, key: string) => {
    const value = vars[key];
    if (value === undefined) throw new NonRetriableError(`question variant ${variant.name}: ${role} rule needs {{${key}}}`);
    return String(value);
  });
}

function variantRuleText(variant: QuestionVariant, role: VariantRole): string {
  const file = join(variant.rulesDir ?? join(repoRoot(), 'services', 'game', 'variants', variant.name), `${role}.rules.md`);
  const cached = ruleCache.get(file);
  if (cached !== undefined) return cached;
  if (!existsSync(file))
    throw new NonRetriableError(
      `question variant ${variant.name} has no ${role} rule: no ${file} and no ${role}.rules.${variant.name} template in the prompt version`,
    );
  const text = readFileSync(file, 'utf8').replace(/\s+$/, '');
  ruleCache.set(file, text);
  return text;
}
