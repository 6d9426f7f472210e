/**
 * Secrets never reach a log line: values under secret-looking keys are replaced wherever they sit in
 * a record, and every secret value the config holds (API keys, passwords, the SASL password) is
 * replaced wherever it appears in a finished line (inside error messages, URLs, stacks). Config
 * dumps go through redactConfig.
 */

export const REDACTED = '[redacted]';

/** Keys whose values are secrets, in any nesting: apiKey, api_key, password, sasl password, token, secret, authorization, credentials. */
const SECRET_KEY = /(pass(word|wd)?$|secret|api[-_]?key|token|authorization|credential|cookie)/i;

/** Shorter values are not redacted by value (they would mangle unrelated text); keys still are. */
const MIN_SECRET_LENGTH = 6;

const secretValues = new Set<string>();
let pattern: RegExp | null = null;

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** Adds values to redact from every line from now on (config secrets are registered by loadConfig). */
export function registerSecrets(values: Iterable<string | null | undefined>): void {
  let changed = false;
  for (const value of values) {
    if (typeof value !== 'string' || value.length < MIN_SECRET_LENGTH || secretValues.has(value)) continue;
    secretValues.add(value);
    changed = true;
  }
  if (!changed) return;
  // Both the raw value and its JSON-escaped form (a value with quotes or backslashes is escaped in JSON lines).
  const forms = new Set<string>();
  for (const value of secretValues) {
    forms.add(value);
    forms.add(JSON.stringify(value).slice(1, -1));
  }
  pattern = new RegExp(
    [...forms]
      .sort((a, b) => b.length - a.length)
      .map(escapeRegExp)
      .join('|'),
    'g',
  );
}

/** Forgets registered values (tests). */
export function clearRegisteredSecrets(): void {
  secretValues.clear();
  pattern = null;
}

/** Replaces every registered secret value in a finished line. */
export function redactText(text: string): string {
  return pattern ? text.replace(pattern, REDACTED) : text;
}

export function isSecretKey(key: string): boolean {
  return SECRET_KEY.test(key);
}

/** A copy with the values under secret keys replaced (non-empty strings only: an empty password is shown as empty). */
export function redactValue<T>(value: T, depth = 0): T {
  if (depth > 8 || value === null || typeof value !== 'object') return value;
  if (Buffer.isBuffer(value) || value instanceof Error || value instanceof Date) return value;
  if (Array.isArray(value)) return value.map((item) => redactValue(item, depth + 1)) as T;
  const out: Record<string, unknown> = {};
  for (const [key, child] of Object.entries(value as Record<string, unknown>)) {
    out[key] = isSecretKey(key) && typeof child === 'string' && child !== '' ? REDACTED : redactValue(child, depth + 1);
  }
  return out as T;
}

/** A loaded config (or any settings object) safe to print. */
export function redactConfig<T extends object>(config: T): T {
  return redactValue(config);
}
