import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { kafkaSecurityOptions } from '../bus/kafka-client';
import { ConfigError } from '../errors/errors';
import { loadConfig } from './config';

function issuesOf(env: NodeJS.ProcessEnv): string[] {
  try {
    loadConfig(env);
  } catch (err) {
    if (err instanceof ConfigError) return err.issues.map((i) => `${i.variable}: ${i.message}`);
    throw err;
  }
  return [];
}

describe('Kafka SASL and TLS settings', () => {
  it('defaults to no SASL and no TLS', () => {
    const config = loadConfig({});
    expect(config.kafka.sasl).toBeNull();
    expect(config.kafka.ssl).toBeNull();
  });

  it('parses SCRAM credentials', () => {
    const config = loadConfig({ KAFKA_SASL_MECHANISM: 'SCRAM-SHA-512', KAFKA_SASL_USERNAME: 'dg', KAFKA_SASL_PASSWORD: 's3cret' });
    expect(config.kafka.sasl).toEqual({ mechanism: 'scram-sha-512', username: 'dg', password: 's3cret' });
  });

  it('names every missing or contradictory variable at boot', () => {
    expect(issuesOf({ KAFKA_SASL_MECHANISM: 'scram-sha-256' })).toEqual([
      'KAFKA_SASL_USERNAME: required with KAFKA_SASL_MECHANISM=scram-sha-256',
      'KAFKA_SASL_PASSWORD: required with KAFKA_SASL_MECHANISM=scram-sha-256',
    ]);
    expect(issuesOf({ KAFKA_SASL_USERNAME: 'dg' })[0]).toMatch(/^KAFKA_SASL_MECHANISM: must be plain, scram-sha-256 or scram-sha-512/);
    expect(issuesOf({ KAFKA_SASL_MECHANISM: 'gssapi' })[0]).toMatch(/^KAFKA_SASL_MECHANISM: expected one of none, plain, scram-sha-256, scram-sha-512/);
    expect(issuesOf({ KAFKA_SSL: 'maybe' })[0]).toMatch(/^KAFKA_SSL: expected one of/);
    expect(issuesOf({ KAFKA_SSL: 'true', KAFKA_SSL_CA_FILE: '/nonexistent/ca.pem' })[0]).toMatch(
      /^KAFKA_SSL_CA_FILE: file \/nonexistent\/ca.pem is not readable/,
    );
  });

  it('rejects TLS files without KAFKA_SSL and a certificate without its key', () => {
    const dir = mkdtempSync(join(tmpdir(), 'dg-ssl-'));
    const pem = join(dir, 'ca.pem');
    writeFileSync(pem, '-----BEGIN CERTIFICATE-----\nMA==\n-----END CERTIFICATE-----\n');
    expect(issuesOf({ KAFKA_SSL_CA_FILE: pem })).toEqual(['KAFKA_SSL_CA_FILE: set but KAFKA_SSL is false (set KAFKA_SSL=true to use it)']);
    expect(issuesOf({ KAFKA_SSL: 'true', KAFKA_SSL_CERT_FILE: pem })).toEqual([
      'KAFKA_SSL_KEY_FILE: KAFKA_SSL_CERT_FILE and KAFKA_SSL_KEY_FILE go together (client certificate)',
    ]);
  });

  it('maps to the Kafka client options: plain TLS, a CA file, SASL', () => {
    const dir = mkdtempSync(join(tmpdir(), 'dg-ssl-'));
    const ca = join(dir, 'ca.pem');
    writeFileSync(ca, 'CA-PEM');
    expect(kafkaSecurityOptions(loadConfig({ KAFKA_SSL: 'true' }).kafka)).toEqual({ ssl: true });
    expect(kafkaSecurityOptions(loadConfig({ KAFKA_SSL: '1', KAFKA_SSL_CA_FILE: ca, KAFKA_SSL_REJECT_UNAUTHORIZED: 'false' }).kafka)).toEqual({
      ssl: { rejectUnauthorized: false, ca: ['CA-PEM'] },
    });
    expect(kafkaSecurityOptions(loadConfig({ KAFKA_SASL_MECHANISM: 'plain', KAFKA_SASL_USERNAME: 'u', KAFKA_SASL_PASSWORD: 'p' }).kafka)).toEqual({
      sasl: { mechanism: 'plain', username: 'u', password: 'p' },
    });
    expect(kafkaSecurityOptions(loadConfig({}).kafka)).toEqual({});
  });
});
