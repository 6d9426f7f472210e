import {
  identifier,
  qualifiedName,
  quoteArray,
  quoteIdentifier,
  quoteNumber,
  quoteString,
  quoteValue,
  sql,
  SqlLiteralError,
  table,
  trustedSql,
  valueList,
  joinSql,
} from './sql';

/** Reads one ClickHouse single-quoted literal the way the server's lexer does; returns the value and where it ended. */
function parseLiteral(text: string): { value: string; end: number } {
  expect(text[0]).toBe("'");
  const unescape: Record<string, string> = { n: '\n', r: '\r', t: '\t', '0': '\0', b: '\b', f: '\f' };
  let value = '';
  for (let i = 1; i < text.length; i++) {
    const ch = text[i]!;
    if (ch === '\\') {
      const next = text[++i]!;
      value += unescape[next] ?? next;
    } else if (ch === "'") {
      return { value, end: i + 1 };
    } else {
      value += ch;
    }
  }
  throw new Error(`unterminated literal ${text}`);
}

describe('quoteString', () => {
  const hostile = [
    "'; DROP TABLE games; --",
    "\\'; DROP TABLE games; --",
    'ends with a backslash \\',
    "''",
    "\\\\'",
    'line\nbreak -- comment\r\n/* block */',
    'nul\0byte',
    'tab\tand\bback\fform',
    '`backtick` "double"',
    'unicode ✓ 😀 ü',
    '',
  ];

  it.each(hostile)('renders %j as one literal that reads back unchanged', (value) => {
    const literal = quoteString(value);
    const parsed = parseLiteral(literal);
    expect(parsed.value).toBe(value);
    expect(parsed.end).toBe(literal.length);
  });

  it('escapes quotes and backslashes', () => {
    expect(quoteString("it's")).toBe("'it\\'s'");
    expect(quoteString('a\\b')).toBe("'a\\\\b'");
  });

  it('refuses non-strings', () => {
    expect(() => quoteString(5 as unknown as string)).toThrow(SqlLiteralError);
  });
});

describe('quoteNumber', () => {
  it('renders finite numbers and bigints', () => {
    expect(quoteNumber(0)).toBe('0');
    expect(quoteNumber(-0)).toBe('0');
    expect(quoteNumber(42)).toBe('42');
    expect(quoteNumber(0.25)).toBe('0.25');
    expect(quoteNumber(1764255000123)).toBe('1764255000123');
    expect(quoteNumber(12345678901234567890n)).toBe('12345678901234567890');
  });

  it('puts negative numbers in parentheses so a minus before them cannot form a comment', () => {
    expect(quoteNumber(-5)).toBe('(-5)');
    expect(quoteNumber(-5n)).toBe('(-5)');
    expect(sql`SELECT 1 -${-5}`.text).toBe('SELECT 1 -(-5)');
  });

  it.each([NaN, Infinity, -Infinity])('refuses %p', (value) => {
    expect(() => quoteNumber(value)).toThrow(SqlLiteralError);
  });

  it('refuses numeric strings', () => {
    expect(() => quoteNumber('1; DROP TABLE x' as unknown as number)).toThrow(SqlLiteralError);
  });
});

describe('quoteIdentifier', () => {
  it('backticks valid names', () => {
    expect(quoteIdentifier('dialog_games')).toBe('`dialog_games`');
    expect(quoteIdentifier('_t1')).toBe('`_t1`');
    expect(qualifiedName('db', 'games')).toBe('`db`.`games`');
  });

  it.each(['', '1abc', 'a-b', 'a b', 'a`b', 'db.games', "x'; DROP", 'games`; DROP TABLE x; --', 'a\nb', 'ü', 'a'.repeat(129)])('refuses %j', (name) => {
    expect(() => quoteIdentifier(name)).toThrow(SqlLiteralError);
  });
});

describe('quoteValue and quoteArray', () => {
  it('renders every supported type', () => {
    expect(quoteValue(null)).toBe('NULL');
    expect(quoteValue(true)).toBe('1');
    expect(quoteValue(false)).toBe('0');
    expect(quoteValue(['a', "b'c"])).toBe("['a', 'b\\'c']");
    expect(quoteArray([1, -2, null])).toBe('[1, (-2), NULL]');
    expect(quoteArray([['x'], []])).toBe("[['x'], []]");
  });

  it.each([undefined, {}, new Date(0), Symbol('s'), () => 1])('refuses %p', (value) => {
    expect(() => quoteValue(value as never)).toThrow(SqlLiteralError);
  });

  it('refuses a nested bad element', () => {
    expect(() => quoteArray(['ok', NaN])).toThrow(SqlLiteralError);
  });
});

describe('sql tag', () => {
  it('quotes values and inserts fragments verbatim', () => {
    const runId = "r'; DROP TABLE games; --";
    const query = sql`SELECT count() FROM ${table('db', 'games')} WHERE run_id = ${runId} AND iteration IN (${valueList([1, 2])})`;
    expect(query.text).toBe("SELECT count() FROM `db`.`games` WHERE run_id = 'r\\'; DROP TABLE games; --' AND iteration IN (1, 2)");
  });

  it('nests fragments', () => {
    const where = joinSql([sql`a = ${1}`, sql`b = ${'x'}`], ' AND ');
    expect(sql`SELECT * FROM ${identifier('t')} WHERE ${where}`.text).toBe("SELECT * FROM `t` WHERE a = 1 AND b = 'x'");
    expect(sql`${trustedSql('SELECT 1')}`.toString()).toBe('SELECT 1');
  });

  it('refuses an empty IN list', () => {
    expect(() => valueList([])).toThrow(SqlLiteralError);
  });
});
