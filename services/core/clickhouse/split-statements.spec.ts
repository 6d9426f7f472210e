import { splitSqlStatements, SqlSplitError } from './split-statements';

const texts = (source: string): string[] => splitSqlStatements(source).map((s) => s.sql);

describe('splitSqlStatements', () => {
  it('splits at semicolons at line end and drops the terminator', () => {
    expect(texts('CREATE TABLE a (x UInt8) ENGINE = Memory;\nCREATE TABLE b (y UInt8) ENGINE = Memory;\n')).toEqual([
      'CREATE TABLE a (x UInt8) ENGINE = Memory',
      'CREATE TABLE b (y UInt8) ENGINE = Memory',
    ]);
  });

  it('accepts a last statement without a semicolon and several statements on one line', () => {
    expect(texts('SELECT 1; SELECT 2\n\nSELECT 3')).toEqual(['SELECT 1', 'SELECT 2\n\nSELECT 3']);
  });

  it('ignores semicolons inside strings, quoted identifiers and comments', () => {
    const source = [
      'SELECT \'a;b\', "c;d", `e;f` -- trailing; comment',
      ';',
      '/* block; comment',
      '   spanning lines; */',
      "SELECT 'it''s; fine', 'esc\\'; still inside'",
      ';',
    ].join('\n');
    expect(texts(source)).toEqual([
      'SELECT \'a;b\', "c;d", `e;f` -- trailing; comment',
      "/* block; comment\n   spanning lines; */\nSELECT 'it''s; fine', 'esc\\'; still inside'",
    ]);
  });

  it('handles a backslash-escaped backslash before the closing quote', () => {
    expect(texts("SELECT 'ends with \\\\'; SELECT 2;")).toEqual(["SELECT 'ends with \\\\'", 'SELECT 2']);
  });

  it('drops fragments that hold only whitespace and comments', () => {
    expect(texts('-- header comment\n;\n  ;\n/* nothing */;\nSELECT 1;\n-- footer\n')).toEqual(['SELECT 1']);
    expect(texts('')).toEqual([]);
  });

  it('reports the line of the first code character', () => {
    const statements = splitSqlStatements('-- intro\n\nCREATE TABLE a\n(x UInt8);\n\n/* c */ SELECT\n1;');
    expect(statements.map((s) => s.line)).toEqual([3, 6]);
  });

  it('handles CRLF line endings', () => {
    expect(texts('SELECT 1;\r\nSELECT 2;\r\n')).toEqual(['SELECT 1', 'SELECT 2']);
  });

  it('refuses an unterminated string with its line', () => {
    expect(() => splitSqlStatements("SELECT 1;\nSELECT 'oops;\nSELECT 2;")).toThrow(new SqlSplitError('unterminated string literal starting on line 2'));
  });

  it('refuses an unterminated quoted identifier and block comment', () => {
    expect(() => splitSqlStatements('SELECT `x;')).toThrow(/unterminated quoted identifier starting on line 1/);
    expect(() => splitSqlStatements('SELECT 1;\n\n/* open')).toThrow(/unterminated block comment starting on line 3/);
  });
});
