import { loadConfig } from '../config/config';
import { configureLogging, createLogger, resetLogging } from './logger';
import { clearRegisteredSecrets, redactConfig, REDACTED, registerSecrets } from './redact';

describe('secret redaction', () => {
  let lines: string[];
  beforeEach(() => {
    lines = [];
    clearRegisteredSecrets();
    configureLogging({ level: 'trace', write: (line) => lines.push(line) });
  });
  afterEach(() => {
    resetLogging();
    clearRegisteredSecrets();
  });

  it('replaces values under secret keys at any depth, in json and pretty lines', () => {
    const log = createLogger('t');
    log.info('connecting', {
      apiKey: 'sk-visible-1',
      nested: { password: 'pw-visible-2', list: [{ sasl_password: 'x-visible-3' }] },
      Authorization: 'Bearer tok-4',
      user: 'dg',
    });
    configureLogging({ format: 'pretty' });
    log.info('again', { api_key: 'sk-visible-5' });
    const text = lines.join('');
    for (const secret of ['sk-visible-1', 'pw-visible-2', 'x-visible-3', 'tok-4', 'sk-visible-5']) expect(text).not.toContain(secret);
    expect(text).toContain(REDACTED);
    expect(text).toContain('"user":"dg"');
  });

  it('replaces registered secret values wherever they appear: messages, error messages, causes, stacks, JSON-escaped', () => {
    registerSecrets(['hunter2-secret', 'quo"te\\secret']);
    const log = createLogger('t');
    const err = new Error('401 for key hunter2-secret', { cause: new Error('url http://u:hunter2-secret@h/') });
    log.error('failed with hunter2-secret', { err, text: 'quo"te\\secret' });
    const text = lines.join('');
    expect(text).not.toContain('hunter2-secret');
    expect(text).not.toContain('quo\\"te\\\\secret');
    expect(text.match(/\[redacted\]/g)?.length).toBeGreaterThanOrEqual(4);
  });

  it('registers every secret of a loaded config: API keys, ClickHouse password, SASL password', () => {
    loadConfig({
      QUESTIONER_API_KEY: 'q-key-123456',
      ANSWERER_API_KEY: 'a-key-123456',
      CLICKHOUSE_PASSWORD: 'ch-pass-123456',
      KAFKA_SASL_MECHANISM: 'scram-sha-256',
      KAFKA_SASL_USERNAME: 'dg',
      KAFKA_SASL_PASSWORD: 'sasl-pass-123456',
    });
    createLogger('t').warn('leak? q-key-123456 a-key-123456 ch-pass-123456 sasl-pass-123456');
    expect(lines.join('')).toBe(lines.join('').replace(/q-key|a-key|ch-pass|sasl-pass/g, 'LEAK'));
    expect(lines.join('')).not.toMatch(/q-key-123456|a-key-123456|ch-pass-123456|sasl-pass-123456/);
  });

  it('redactConfig hides the secrets of a config dump and keeps everything else', () => {
    const config = loadConfig({
      QUESTIONER_API_KEY: 'q-key-abcdef',
      CLICKHOUSE_PASSWORD: 'ch-pass-abcdef',
      KAFKA_SASL_MECHANISM: 'plain',
      KAFKA_SASL_USERNAME: 'u',
      KAFKA_SASL_PASSWORD: 'sasl-abcdef',
    });
    const dump = JSON.stringify(redactConfig(config));
    expect(dump).not.toMatch(/q-key-abcdef|ch-pass-abcdef|sasl-abcdef/);
    expect(redactConfig(config).models.questioner.model).toBe('sim-vlm');
    expect(redactConfig(config).kafka.sasl?.username).toBe('u');
    expect(config.models.questioner.apiKey).toBe('q-key-abcdef');
  });
});
