import { NonRetriableError } from '../errors';

/**
 * The one place where values become SQL text. ClickHouse 18.16 has no `{name:Type}` query
 * parameters over HTTP, so every value that reaches SQL is rendered here as a literal; everything
 * else in the project composes SQL with the `sql` tag and never concatenates values itself.
 *
 * Rules (audited by sql.spec.ts and by a round trip through the real server):
 * - strings: single quotes, with backslash, quote and control characters backslash-escaped, so a
 *   value can neither end the literal nor start a comment;
 * - numbers: finite only; negative numbers in parentheses so `a -${n}` can never become `a --5`
 *   (a line comment);
 * - identifiers: only [A-Za-z_][A-Za-z0-9_]*, always in backticks — anything else is refused
 *   rather than escaped;
 * - arrays: element-wise; booleans as 1/0; null as NULL; undefined, NaN, objects are refused.
 */

export type SqlValue = string | number | bigint | boolean | null | readonly SqlValue[];

/** SQL text that is already safe: produced by the `sql` tag, `identifier` or `trustedSql`. */
export class SqlFragment {
  constructor(readonly text: string) {}
  toString(): string {
    return this.text;
  }
}

export class SqlLiteralError extends NonRetriableError {
  constructor(message: string) {
    super(message, { code: 'SQL_LITERAL' });
  }
}

const STRING_ESCAPES: Record<string, string> = {
  '\\': '\\\\',
  "'": "\\'",
  '\n': '\\n',
  '\r': '\\r',
  '\t': '\\t',
  '\0': '\\0',
  '\b': '\\b',
  '\f': '\\f',
};

export function quoteString(value: string): string {
  if (typeof value !== 'string') throw new SqlLiteralError(`expected a string, got ${describe(value)}`);
  return `'${value.replace(/[\\'\n\r\t\0\b\f]/g, (ch) => STRING_ESCAPES[ch] ?? ch)}'`;
}

export function quoteNumber(value: number | bigint): string {
  if (typeof value === 'bigint') return value < 0n ? `(${value.toString()})` : value.toString();
  if (typeof value !== 'number' || !Number.isFinite(value)) throw new SqlLiteralError(`expected a finite number, got ${describe(value)}`);
  if (Object.is(value, -0)) return '0';
  return value < 0 ? `(${String(value)})` : String(value);
}

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/;

export function isValidIdentifier(name: string): boolean {
  return typeof name === 'string' && name.length <= 128 && IDENTIFIER.test(name);
}

export function quoteIdentifier(name: string): string {
  if (!isValidIdentifier(name)) throw new SqlLiteralError(`invalid SQL identifier ${describe(name)}: only [A-Za-z_][A-Za-z0-9_]* up to 128 characters`);
  return `\`${name}\``;
}

/** `database`.`table` */
export function qualifiedName(database: string, table: string): string {
  return `${quoteIdentifier(database)}.${quoteIdentifier(table)}`;
}

export function quoteArray(values: readonly SqlValue[]): string {
  if (!Array.isArray(values)) throw new SqlLiteralError(`expected an array, got ${describe(values)}`);
  return `[${values.map((v) => quoteValue(v)).join(', ')}]`;
}

export function quoteValue(value: SqlValue): string {
  if (value === null) return 'NULL';
  if (Array.isArray(value)) return quoteArray(value);
  switch (typeof value) {
    case 'string':
      return quoteString(value);
    case 'number':
    case 'bigint':
      return quoteNumber(value);
    case 'boolean':
      return value ? '1' : '0';
    default:
      throw new SqlLiteralError(`cannot render ${describe(value)} as a SQL literal`);
  }
}

/** A quoted identifier to interpolate into `sql`. */
export function identifier(name: string): SqlFragment {
  return new SqlFragment(quoteIdentifier(name));
}

/** A quoted `database`.`table` to interpolate into `sql`. */
export function table(database: string, name: string): SqlFragment {
  return new SqlFragment(qualifiedName(database, name));
}

/** A comma-separated list of literals, e.g. for `IN (...)`. Refuses an empty list (`IN ()` is invalid). */
export function valueList(values: readonly SqlValue[]): SqlFragment {
  if (values.length === 0) throw new SqlLiteralError('an empty value list cannot be rendered');
  return new SqlFragment(values.map((v) => quoteValue(v)).join(', '));
}

/**
 * SQL text written by the program itself (never derived from input). Grep for this name when
 * auditing: each use must be a constant or built from other fragments.
 */
export function trustedSql(text: string): SqlFragment {
  return new SqlFragment(text);
}

/** Joins fragments with a separator (e.g. conditions with ' AND '). */
export function joinSql(parts: readonly SqlFragment[], separator: string): SqlFragment {
  return new SqlFragment(parts.map((p) => p.text).join(separator));
}

/**
 * Tagged template: interpolated values are rendered as literals; SqlFragments (identifiers, nested
 * `sql`) are inserted as they are.
 *   sql`SELECT count() FROM ${table(db, 'games')} WHERE run_id = ${runId}`
 */
export function sql(strings: TemplateStringsArray, ...values: ReadonlyArray<SqlValue | SqlFragment>): SqlFragment {
  let text = strings[0] ?? '';
  values.forEach((value, i) => {
    text += value instanceof SqlFragment ? value.text : quoteValue(value);
    text += strings[i + 1] ?? '';
  });
  return new SqlFragment(text);
}

function describe(value: unknown): string {
  if (value === undefined) return 'undefined';
  if (typeof value === 'string') return JSON.stringify(value.length > 60 ? `${value.slice(0, 60)}…` : value);
  if (typeof value === 'number') return String(value);
  if (value === null) return 'null';
  return typeof value === 'object' ? (Array.isArray(value) ? 'an array' : 'an object') : typeof value;
}
