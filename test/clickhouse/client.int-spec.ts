import { ClickHouseConnection, ClickHouseRequestError, identifier, quoteString, sql } from '../../services/core/clickhouse';
import { loadConfig } from '../../services/core/config';
import { connectTestDatabase } from './helpers';

/** The connection wrapper against the real server at CLICKHOUSE_URL. */
describe('ClickHouseConnection on the real server', () => {
  let connection: ClickHouseConnection;
  let database: string;
  let drop: () => Promise<void>;

  beforeAll(async () => {
    ({ connection, database, drop } = await connectTestDatabase('client'));
  });
  afterAll(async () => {
    await drop();
  });

  it('creates its database when missing', async () => {
    const exists = async () => (await connection.query<{ n: number }>(sql`SELECT count() AS n FROM system.databases WHERE name = ${database}`))[0]!.n;
    expect(await exists()).toBe(0);
    await connection.ensureDatabase();
    await connection.ensureDatabase();
    expect(await exists()).toBe(1);
  });

  const hostile = [
    "'; DROP DATABASE system; --",
    "\\'; SELECT 1; --",
    'trailing backslash \\',
    "it''s",
    'line\nbreak\r\n-- not a comment */ /*',
    'nul\0byte, tab\t, backspace\b, form feed\f',
    '`backtick` "double" {curly} $1 ? :name',
    'unicode ✓ 😀 ü ß 中文',
    '',
  ];

  it('round-trips hostile strings through quoted literals unchanged', async () => {
    for (const value of hostile) {
      const rows = await connection.query<{ v: string; n: number }>(sql`SELECT ${value} AS v, length(${value}) AS n`);
      expect(rows).toEqual([{ v: value, n: Buffer.byteLength(value, 'utf8') }]);
    }
  });

  it('round-trips arrays, negative numbers and NULL', async () => {
    const rows = await connection.query<{ arr: string[]; diff: number; nothing: null; big: number }>(
      sql`SELECT ${hostile} AS arr, 10 -${-5} AS diff, ${null} AS nothing, ${1_764_255_000_123} * 1000 AS big`,
    );
    expect(rows).toEqual([{ arr: hostile, diff: 15, nothing: null, big: 1_764_255_000_123_000 }]);
  });

  it('inserts with explicit columns; DEFAULT columns are computed from the ms columns in UTC', async () => {
    await connection.ensureDatabase();
    await connection.command(sql`CREATE TABLE ${connection.table('probe')} (
      id String,
      at_ms UInt64,
      at DateTime('UTC') DEFAULT toDateTime(intDiv(at_ms, 1000), 'UTC'),
      offset Int64,
      tags Array(String)
    ) ENGINE = MergeTree ORDER BY id`);
    await connection.insert('probe', [{ id: "x'1", at_ms: 1_764_255_000_999, offset: '12345678901', tags: hostile }], ['id', 'at_ms', 'offset', 'tags']);
    const rows = await connection.query<{ id: string; at_ms: number; at: string; offset: number; tags: string[] }>(
      sql`SELECT * FROM ${connection.table('probe')}`,
    );
    expect(rows).toEqual([{ id: "x'1", at_ms: 1_764_255_000_999, at: '2025-11-27 14:50:00', offset: 12345678901, tags: hostile }]);
  });

  it('refuses an insert row with a column that is not named', async () => {
    const failure = await connection
      .insert('probe', [{ id: 'y', at_ms: 1, offset: '1', tags: [], extra: 1 }], ['id', 'at_ms', 'offset', 'tags'])
      .catch((e: unknown) => e);
    expect(failure).toBeInstanceOf(ClickHouseRequestError);
    expect((failure as ClickHouseRequestError).retriable).toBe(false);
  });

  it('turns an unknown table and a syntax error into non-retriable errors with the server code', async () => {
    const unknown = await connection.query(sql`SELECT * FROM ${connection.table('no_such_table')}`).catch((e: unknown) => e);
    expect(unknown).toMatchObject({ serverCode: 60, retriable: false, operation: 'query' });
    const syntax = await connection.command('SELEC 1').catch((e: unknown) => e);
    expect(syntax).toMatchObject({ serverCode: 62, retriable: false, operation: 'command' });
  });

  it('fails ping on a wrong password (not retriable) and on an unreachable port (retriable)', async () => {
    const config = loadConfig();
    const wrongPassword = new ClickHouseConnection({ ...config.clickhouse, database, password: 'definitely-wrong' });
    const unreachable = new ClickHouseConnection({ url: 'http://127.0.0.1:1', database, requestTimeoutMs: 2000 });
    try {
      const denied = await wrongPassword.ping().catch((e: unknown) => e);
      expect(denied).toBeInstanceOf(ClickHouseRequestError);
      expect(denied).toMatchObject({ retriable: false, operation: 'ping' });
      expect((denied as ClickHouseRequestError).serverCode).toBeGreaterThan(0);
      const refused = await unreachable.ping().catch((e: unknown) => e);
      expect(refused).toMatchObject({ retriable: true, serverCode: undefined, operation: 'ping' });
    } finally {
      await wrongPassword.close();
      await unreachable.close();
    }
  });

  it('keeps identifiers and literals apart: a hostile table name is refused before any request', () => {
    expect(() => connection.table('games`; DROP DATABASE system; --')).toThrow(/invalid SQL identifier/);
    expect(() => identifier('a.b')).toThrow(/invalid SQL identifier/);
    expect(quoteString("'")).toBe("'\\''");
  });
});
