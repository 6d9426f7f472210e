import { isRetriable } from '../errors';
import { ClickHouseRequestError, parseClickHouseCode, toClickHouseError } from './errors';

const legacy = (code: number, text: string): Error => new Error(`Code: ${code}, e.displayText() = DB::Exception: ${text}, e.what() = DB::Exception\n`);
const modern = (code: number, text: string, type: string): Error => new Error(`Code: ${code}. DB::Exception: ${text}. (${type}) (version 25.3.1.1)`);

describe('parseClickHouseCode', () => {
  it('reads the code from 18.16 and modern messages', () => {
    expect(parseClickHouseCode(legacy(60, "Table default.nope doesn't exist.").message)).toBe(60);
    expect(parseClickHouseCode(modern(62, 'Syntax error', 'SYNTAX_ERROR').message)).toBe(62);
    expect(parseClickHouseCode('connect ECONNREFUSED 127.0.0.1:8123')).toBeUndefined();
    expect(parseClickHouseCode('Some text with Code: 60, in the middle')).toBeUndefined();
  });
});

describe('toClickHouseError', () => {
  it.each([
    ['too many parts', legacy(252, 'Too many parts (300). Merges are processing significantly slower than inserts')],
    ['too many simultaneous queries', legacy(202, 'Too many simultaneous queries. Maximum: 100')],
    ['timeout (modern format)', modern(159, 'Timeout exceeded', 'TIMEOUT_EXCEEDED')],
    ['memory limit', legacy(241, 'Memory limit (for query) exceeded')],
  ])('marks server overload as retriable: %s', (_label, err) => {
    const wrapped = toClickHouseError(err, 'insert');
    expect(wrapped).toBeInstanceOf(ClickHouseRequestError);
    expect(wrapped.retriable).toBe(true);
    expect(isRetriable(wrapped)).toBe(true);
  });

  it.each([
    ['syntax error', legacy(62, 'Syntax error: failed at position 1')],
    ['unknown table', legacy(60, "Table default.nope doesn't exist.")],
    ['unknown database', legacy(81, "Database nope doesn't exist")],
    ['wrong password', legacy(193, 'Wrong password for user default')],
    ['bad input (modern format)', modern(27, 'Cannot parse input', 'CANNOT_PARSE_INPUT_ASSERTION_FAILED')],
    ['unknown enum element', legacy(36, "Unknown element 'x' for type Enum8")],
  ])('marks request errors as not retriable: %s', (_label, err) => {
    const wrapped = toClickHouseError(err, 'query');
    expect(wrapped.retriable).toBe(false);
    expect(wrapped.serverCode).toBe(parseClickHouseCode(err.message));
  });

  it('marks network failures and client timeouts as retriable', () => {
    const refused = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:8123'), { code: 'ECONNREFUSED' });
    expect(toClickHouseError(refused, 'ping').retriable).toBe(true);
    expect(toClickHouseError(new Error('Timeout error.'), 'query').retriable).toBe(true);
    expect(toClickHouseError(new Error('socket hang up'), 'insert').retriable).toBe(true);
  });

  it('keeps the cause, the first line of the message and the statement', () => {
    const cause = legacy(60, "Table db.nope doesn't exist.");
    const wrapped = toClickHouseError(cause, 'command', 'SELECT *\n  FROM db.nope');
    expect(wrapped.cause).toBe(cause);
    expect(wrapped.operation).toBe('command');
    expect(wrapped.code).toBe('CLICKHOUSE');
    expect(wrapped.message).toBe(
      "ClickHouse command failed: Code: 60, e.displayText() = DB::Exception: Table db.nope doesn't exist., e.what() = DB::Exception [SELECT * FROM db.nope]",
    );
  });

  it('does not wrap twice', () => {
    const once = toClickHouseError(new Error('x'), 'query');
    expect(toClickHouseError(once, 'insert')).toBe(once);
  });
});
