import { NonRetriableError } from '../errors';

export interface SqlStatement {
  /** Statement text without the terminating `;`, trimmed, comments kept. */
  sql: string;
  /** 1-based line of the statement's first character in the source, for error messages. */
  line: number;
}

export class SqlSplitError extends NonRetriableError {
  constructor(message: string) {
    super(message, { code: 'SQL_SPLIT' });
  }
}

type State = 'code' | 'single' | 'double' | 'backtick' | 'line-comment' | 'block-comment';

const QUOTE_STATES: Record<string, State> = { "'": 'single', '"': 'double', '`': 'backtick' };
const CLOSING_QUOTE: Partial<Record<State, string>> = { single: "'", double: '"', backtick: '`' };

/**
 * Splits a migration file into statements at each `;` outside string literals, quoted identifiers
 * and comments (`-- ...` and `/* ... *\/`). Quoted text follows ClickHouse's lexer: a backslash
 * escapes the next character and a doubled quote stands for itself. Fragments holding only
 * whitespace and comments are dropped; an unterminated quote or block comment is an error that
 * names its line.
 */
export function splitSqlStatements(source: string): SqlStatement[] {
  const statements: SqlStatement[] = [];
  let state: State = 'code';
  let start = 0;
  let line = 1;
  let stateStartLine = 1;
  let hasCode = false;
  let firstCodeLine = 1;

  const finish = (end: number): void => {
    const text = source.slice(start, end).trim();
    if (hasCode && text.length > 0) statements.push({ sql: text, line: firstCodeLine });
    hasCode = false;
  };

  for (let i = 0; i < source.length; i++) {
    const ch = source[i]!;
    const next = source[i + 1];
    if (ch === '\n') line++;

    switch (state) {
      case 'code':
        if (ch === ';') {
          finish(i);
          start = i + 1;
        } else if (ch === '-' && next === '-') {
          state = 'line-comment';
          i++;
        } else if (ch === '/' && next === '*') {
          state = 'block-comment';
          stateStartLine = line;
          i++;
        } else {
          const quoteState = QUOTE_STATES[ch];
          if (quoteState) {
            state = quoteState;
            stateStartLine = line;
          }
          if (!/\s/.test(ch) && !hasCode) {
            hasCode = true;
            firstCodeLine = line;
          }
        }
        break;
      case 'single':
      case 'double':
      case 'backtick': {
        const closing = CLOSING_QUOTE[state];
        if (ch === '\\') {
          if (next === '\n') line++;
          i++;
        } else if (ch === closing) {
          if (next === closing) i++;
          else state = 'code';
        }
        break;
      }
      case 'line-comment':
        if (ch === '\n') state = 'code';
        break;
      case 'block-comment':
        if (ch === '*' && next === '/') {
          state = 'code';
          i++;
        }
        break;
    }
  }

  if (state === 'single' || state === 'double' || state === 'backtick') {
    throw new SqlSplitError(`unterminated ${state === 'single' ? 'string literal' : 'quoted identifier'} starting on line ${stateStartLine}`);
  }
  if (state === 'block-comment') throw new SqlSplitError(`unterminated block comment starting on line ${stateStartLine}`);
  finish(source.length);
  return statements;
}
