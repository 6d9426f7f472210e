/*
 * Shared clean-up of raw model completions before role-specific parsing: reasoning blocks, code
 * fences, markdown emphasis, and JSON objects embedded anywhere in prose (strict JSON first, then a
 * lenient repair for the usual slips: single quotes, unquoted keys, trailing commas, smart quotes).
 */

/** Drops `<think>…</think>` reasoning (also an unterminated opening or an orphan closing tag). */
export function stripReasoning(text: string): string {
  let out = text.replace(/<(think|thinking|reasoning)>[\s\S]*?<\/\1>/gi, ' ');
  const orphanClose = out.search(/<\/(think|thinking|reasoning)>/i);
  if (orphanClose >= 0) out = out.slice(out.indexOf('>', orphanClose) + 1);
  const unterminated = out.search(/<(think|thinking|reasoning)>/i);
  if (unterminated >= 0) out = out.slice(0, unterminated);
  return out.trim();
}

/** Removes markdown emphasis and inline-code markers, keeping the words. */
export function stripMarkdown(text: string): string {
  return text
    .replace(/```[a-zA-Z]*\n?/g, ' ')
    .replace(/(\*\*|__|`)/g, '')
    .replace(/(^|\s)[*_](\S[^*_]*?)[*_](?=\s|$|[.,!?;:])/g, '$1$2');
}

/** Collapses runs of whitespace and trims. */
export function collapseWhitespace(text: string): string {
  return text.replace(/\s+/g, ' ').trim();
}

/** Strips one layer of matching quotes around a whole string. */
export function unquote(text: string): string {
  const trimmed = text.trim();
  const pairs: Array<[string, string]> = [
    ['"', '"'],
    ["'", "'"],
    ['“', '”'],
    ['‘', '’'],
    ['«', '»'],
  ];
  for (const [open, close] of pairs) {
    if (trimmed.length >= 2 && trimmed.startsWith(open) && trimmed.endsWith(close)) return trimmed.slice(open.length, -close.length).trim();
  }
  return trimmed;
}

export type JsonObject = Record<string, unknown>;

/**
 * Every JSON object found in the text (code fences and prose around it are ignored), in order of
 * appearance; an object nested inside another is not reported separately.
 */
export function extractJsonObjects(text: string): JsonObject[] {
  const found: JsonObject[] = [];
  for (const span of balancedBraceSpans(text)) {
    const parsed = parseJsonLenient(span);
    if (parsed !== undefined) found.push(parsed);
  }
  return found;
}

/** Top-level `{…}` spans, tracking string literals so braces inside strings do not count. */
function balancedBraceSpans(text: string): string[] {
  const spans: string[] = [];
  let depth = 0;
  let start = -1;
  let quote: string | null = null;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (quote !== null) {
      if (ch === '\\') i++;
      else if (ch === quote) quote = null;
      continue;
    }
    if (ch === '"' && depth > 0) quote = ch;
    else if (ch === '{') {
      if (depth === 0) start = i;
      depth++;
    } else if (ch === '}' && depth > 0) {
      depth--;
      if (depth === 0) spans.push(text.slice(start, i + 1));
    }
  }
  return spans;
}

function parseJsonLenient(span: string): JsonObject | undefined {
  const strict = tryParseObject(span);
  if (strict !== undefined) return strict;
  const quoteBareKeys = (s: string): string => s.replace(/([{,]\s*)([A-Za-z_][A-Za-z0-9_]*)(\s*:)/g, '$1"$2"$3');
  const tidied = span.replace(/[“”]/g, '"').replace(/,\s*([}\]])/g, '$1');
  const attempts = [tidied, quoteBareKeys(tidied)];
  // Single quotes are only rewritten when there are no double quotes, so apostrophes inside
  // double-quoted strings stay intact.
  if (!tidied.includes('"')) {
    attempts.push(
      quoteBareKeys(tidied.replace(/[‘’]/g, "'").replace(/'((?:[^'\\]|\\.)*)'/g, (_m, inner: string) => JSON.stringify(inner.replace(/\\'/g, "'")))),
    );
  }
  for (const attempt of attempts) {
    const parsed = tryParseObject(attempt);
    if (parsed !== undefined) return parsed;
  }
  return undefined;
}

/** Deeper JSON than any answer needs: a JSON bomb from a hostile model, treated as not JSON (test/fuzz). */
export const MAX_JSON_DEPTH = 32;

/** Bracket/brace nesting depth of a JSON text, outside string literals; stops counting past `limit`. */
export function jsonNestingDepth(text: string, limit = MAX_JSON_DEPTH): number {
  let depth = 0;
  let max = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (inString) {
      if (ch === '\\') i++;
      else if (ch === '"') inString = false;
      continue;
    }
    if (ch === '"') inString = true;
    else if (ch === '{' || ch === '[') {
      depth++;
      if (depth > max) max = depth;
      if (max > limit) return max;
    } else if (ch === '}' || ch === ']') depth--;
  }
  return max;
}

function tryParseObject(span: string): JsonObject | undefined {
  // Parsed values are walked recursively later (String(), JSON.stringify): a bomb would overflow the stack.
  if (jsonNestingDepth(span) > MAX_JSON_DEPTH) return undefined;
  try {
    const value: unknown = JSON.parse(span);
    return value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as JsonObject) : undefined;
  } catch {
    return undefined;
  }
}

/** Case-insensitive property lookup; `has` distinguishes an absent key from a null value. */
export function lookup(obj: JsonObject, ...keys: string[]): { has: boolean; value: unknown } {
  const wanted = new Set(keys.map((k) => k.toLowerCase()));
  for (const [key, value] of Object.entries(obj)) {
    if (wanted.has(key.trim().toLowerCase())) return { has: true, value };
  }
  return { has: false, value: undefined };
}

/** Cuts text to at most `max` characters, at a word boundary when one is near. */
export function capLength(text: string, max: number): string {
  if (text.length <= max) return text;
  const cut = text.slice(0, max);
  const lastSpace = cut.lastIndexOf(' ');
  return (lastSpace > max * 0.6 ? cut.slice(0, lastSpace) : cut).trim();
}

export const NUMBER_WORDS = [
  'one',
  'two',
  'three',
  'four',
  'five',
  'six',
  'seven',
  'eight',
  'nine',
  'ten',
  'eleven',
  'twelve',
  'thirteen',
  'fourteen',
  'fifteen',
  'sixteen',
] as const;

export const ORDINAL_WORDS = [
  'first',
  'second',
  'third',
  'fourth',
  'fifth',
  'sixth',
  'seventh',
  'eighth',
  'ninth',
  'tenth',
  'eleventh',
  'twelfth',
  'thirteenth',
  'fourteenth',
  'fifteenth',
  'sixteenth',
] as const;

/** 1-based number from digits, a number word, an ordinal word or a numeric ordinal ("3rd"). */
export function numberFromToken(token: string): number | undefined {
  const t = token.trim().toLowerCase();
  const digits = /^(\d{1,3})(?:st|nd|rd|th)?$/.exec(t);
  if (digits) return Number(digits[1]);
  const word = (NUMBER_WORDS as readonly string[]).indexOf(t);
  if (word >= 0) return word + 1;
  const ordinal = (ORDINAL_WORDS as readonly string[]).indexOf(t);
  if (ordinal >= 0) return ordinal + 1;
  return undefined;
}

/** A short quoted excerpt of model output for error messages. */
export function excerpt(text: string, max = 120): string {
  const flat = collapseWhitespace(text);
  return JSON.stringify(flat.length > max ? `${flat.slice(0, max)}…` : flat);
}
