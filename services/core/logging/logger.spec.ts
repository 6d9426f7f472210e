import { RetriableError } from '../errors/errors';
import { configureLogging, createLogger, resetLogging } from './logger';
import { NestLoggerAdapter } from './nest-logger';

function capture(level: 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'silent' = 'trace', format: 'json' | 'pretty' = 'json') {
  const lines: string[] = [];
  configureLogging({ level, format, write: (line) => lines.push(line), now: () => new Date('2026-01-02T03:04:05.678Z') });
  return { lines, records: () => lines.map((l) => JSON.parse(l) as Record<string, unknown>) };
}

afterEach(() => resetLogging());

describe('logger', () => {
  it('writes one JSON line per call with time, level, namespace and message', () => {
    const out = capture();
    createLogger('bus').info('consumer started', { groupId: 'g1' });
    expect(out.lines).toHaveLength(1);
    expect(out.lines[0].endsWith('\n')).toBe(true);
    expect(out.records()[0]).toEqual({ time: '2026-01-02T03:04:05.678Z', level: 'info', ns: 'bus', msg: 'consumer started', groupId: 'g1' });
  });

  it('binds game id, topic, partition and offset in child loggers', () => {
    const out = capture();
    const log = createLogger('referee').child({ topic: 'dg.guess-made', partition: 2 }).child({ gameId: 'g-1', offset: '41' });
    log.warn('late game');
    expect(out.records()[0]).toMatchObject({ ns: 'referee', topic: 'dg.guess-made', partition: 2, gameId: 'g-1', offset: '41', msg: 'late game' });
  });

  it('drops lines below the configured level, and everything when silent', () => {
    const out = capture('warn');
    const log = createLogger('x');
    log.debug('no');
    log.info('no');
    log.warn('yes');
    log.error('yes');
    expect(out.records().map((r) => r.level)).toEqual(['warn', 'error']);
    expect(log.isLevelEnabled('info')).toBe(false);
    configureLogging({ level: 'silent' });
    log.error('no');
    expect(out.lines).toHaveLength(2);
  });

  it('serializes errors with name, message, stack, retry decision and cause', () => {
    const out = capture();
    createLogger('x').error('handler failed', { err: new RetriableError('broker down', { cause: new Error('ECONNREFUSED') }) });
    const err = out.records()[0].err as Record<string, unknown>;
    expect(err).toMatchObject({ name: 'RetriableError', message: 'broker down', code: 'RETRIABLE', retriable: true });
    expect(String(err.stack)).toContain('RetriableError: broker down');
    expect(err.cause).toMatchObject({ name: 'Error', message: 'ECONNREFUSED' });
  });

  it('never dumps buffers', () => {
    const out = capture();
    createLogger('x').info('raw', { value: Buffer.alloc(1000) });
    expect(out.records()[0].value).toBe('<1000 bytes>');
  });

  it('pretty format is one readable line plus indented stacks', () => {
    const out = capture('info', 'pretty');
    createLogger('sink').child({ gameId: 'g-7' }).info('wrote rows', { rows: 3 });
    expect(out.lines[0]).toBe('03:04:05.678 INFO  [sink] wrote rows gameId=g-7 rows=3\n');
    createLogger('sink').error('failed', { err: new Error('boom') });
    expect(out.lines[1]).toMatch(/^03:04:05.678 ERROR \[sink\] failed err=Error: boom\n {4}Error: boom\n +at /);
  });
});

describe('NestLoggerAdapter', () => {
  it('maps Nest levels and keeps the context', () => {
    const out = capture();
    const nest = new NestLoggerAdapter();
    nest.log('Nest application successfully started', 'NestApplication');
    nest.verbose('wiring', 'InstanceLoader');
    nest.error('Unhandled', 'Error: x\n    at y', 'ExceptionsHandler');
    expect(out.records()).toEqual([
      expect.objectContaining({ level: 'info', ns: 'nest', msg: 'Nest application successfully started', context: 'NestApplication' }),
      expect.objectContaining({ level: 'trace', msg: 'wiring', context: 'InstanceLoader' }),
      expect.objectContaining({ level: 'error', msg: 'Unhandled', context: 'ExceptionsHandler', stack: 'Error: x\n    at y' }),
    ]);
  });

  it('logs Error objects with their stack', () => {
    const out = capture();
    new NestLoggerAdapter().error(new Error('kaput'));
    expect(out.records()[0]).toMatchObject({ level: 'error', msg: 'kaput', err: { name: 'Error', message: 'kaput' } });
  });
});
