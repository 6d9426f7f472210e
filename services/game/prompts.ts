import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { NonRetriableError } from '../core/errors';
import { repoRoot } from '../core/config/repo-root';

/** Every template a prompt version must provide, one `<name>.md` file each. */
export const PROMPT_NAMES = [
  'questioner.system',
  'questioner.rules.yesno',
  'questioner.rules.open',
  'questioner.intro',
  'questioner.description',
  'questioner.turn',
  'questioner.final-turn',
  'answerer.system',
  'answerer.rules.yesno',
  'answerer.rules.open',
  'answerer.intro',
] as const;

export type PromptName = (typeof PROMPT_NAMES)[number];

/**
 * Templates a version may provide (v2 does): the stricter instruction of the one repair attempt
 * after an empty, refused or unparseable output. Without one, such output ends the game at once.
 */
export const OPTIONAL_PROMPT_NAMES = ['questioner.repair', 'answerer.repair'] as const;
export type OptionalPromptName = (typeof OPTIONAL_PROMPT_NAMES)[number];

/** The templates of one prompt version; the version is recorded on every game (ModelSpec.promptVersion). */
export interface PromptSet {
  version: string;
  templates: Readonly<Record<PromptName, string>>;
  /** Optional templates the version has. */
  optional?: Readonly<Partial<Record<OptionalPromptName, string>>>;
}

export const DEFAULT_PROMPT_VERSION = 'v1';

/** Versions are folder names; the pattern keeps a version from pointing outside the prompts folder. */
const VERSION_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

export function defaultPromptsDir(): string {
  return join(repoRoot(), 'services', 'game', 'prompts');
}

const cache = new Map<string, PromptSet>();

/**
 * Loads `<promptsDir>/<version>/*.md`. Prompt files are read from the source tree at run time (tsc
 * does not copy them into dist/), and cached per folder since a version never changes once released.
 */
export function loadPrompts(version: string = DEFAULT_PROMPT_VERSION, promptsDir: string = defaultPromptsDir()): PromptSet {
  if (!VERSION_PATTERN.test(version)) throw new NonRetriableError(`invalid prompt version ${JSON.stringify(version)}`);
  const dir = join(promptsDir, version);
  const cached = cache.get(dir);
  if (cached) return cached;
  if (!existsSync(dir)) throw new NonRetriableError(`unknown prompt version ${version}: no folder ${dir}`);
  const templates = {} as Record<PromptName, string>;
  for (const name of PROMPT_NAMES) {
    const file = join(dir, `${name}.md`);
    if (!existsSync(file)) throw new NonRetriableError(`prompt version ${version} lacks ${name}.md (looked in ${dir})`);
    templates[name] = readFileSync(file, 'utf8').replace(/\s+$/, '');
  }
  const optional: Partial<Record<OptionalPromptName, string>> = {};
  for (const name of OPTIONAL_PROMPT_NAMES) {
    const file = join(dir, `${name}.md`);
    if (existsSync(file)) optional[name] = readFileSync(file, 'utf8').replace(/\s+$/, '');
  }
  const prompts: PromptSet = { version, templates, optional };
  cache.set(dir, prompts);
  return prompts;
}

/**
 * Fills `{{name}}` placeholders. A placeholder without a value is an error, so a typo in a prompt file
 * fails loudly rather than reaching a model; values a version does not use are fine.
 */
export function renderPrompt(prompts: PromptSet, name: PromptName, vars: Readonly<Record<string, string | number>> = {}): string {
  return prompts.templates[name].replace(/\{\{\s*([A-Za-z][A-Za-z0-9]*)\s*\}\}/g, (_match, key: string) => {
    const value = vars[key];
    if (value === undefined) throw new NonRetriableError(`prompt ${prompts.version}/${name} needs {{${key}}}`);
    return String(value);
  });
}
