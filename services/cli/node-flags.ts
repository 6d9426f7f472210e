/**
 * Node/V8 flags given as one string ("--a=1 --b"), split into words. Each word must be a flag, so
 * a missing quote or a stray value is caught when the command is parsed rather than as a role
 * process that fails to start. The error message starts lower-case: callers prefix the option.
 */
export function splitNodeFlags(value: string): string[] {
  const words = value.split(/\s+/).filter((word) => word !== '');
  const bad = words.filter((word) => !/^--[a-z0-9][a-z0-9-]*(=\S+)?$/i.test(word));
  if (words.length === 0 || bad.length > 0)
    throw new Error(
      `takes Node/V8 flags separated by spaces, e.g. "--max-semi-space-size=16 --max-old-space-size=160"; got "${value}"${bad.length > 0 ? ` (not a flag: ${bad.join(', ')})` : ''}`,
    );
  return words;
}
