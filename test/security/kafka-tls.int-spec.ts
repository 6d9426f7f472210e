import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { topicName } from '../../schemas/topics';
import { busConfigFrom } from '../../services/core/bus';
import type { KafkaConnectionConfig } from '../../services/core/bus/bus-config';
import { createKafkaClient, type InboundMessage } from '../../services/core/bus/kafka-client';
import { ensureTopics } from '../../services/core/bus/topic-admin';
import { loadConfig, type ConfigOverrides, type DgConfig } from '../../services/core/config';
import { configureLogging, createLogger } from '../../services/core/logging';
import { adminLagSource } from '../../services/core/metrics/role-metrics';
import { kafkaTlsCaFile, makeCertificateAuthority } from '../../services/local-stack';
import { pollUntil } from '../../services/local-stack/processes';
import { startScratchKafka, type ScratchKafka } from '../helpers/scratch-stack';

/**
 * Kafka over TLS end to end: a scratch broker (never the shared stack) with the local stack's opt-in
 * SSL and SASL_SSL listeners, whose CA and broker keystore the stack made with keytool. The project's
 * own config (KAFKA_SSL, KAFKA_SSL_CA_FILE, KAFKA_SASL_*) and Kafka client create topics, produce and
 * consume through them, and so does the /metrics consumer-lag reader; clients without TLS, without
 * the CA or with another CA are refused.
 */
jest.setTimeout(300_000);

const username = 'dg-tls-test';
const password = `pw-${randomBytes(8).toString('hex')}`;
let broker: ScratchKafka;
let otherCaDir: string;
let otherCaPem: string;

beforeAll(async () => {
  configureLogging({ level: 'silent' });
  broker = await startScratchKafka('tls', { sasl: { username, password }, tls: true });
  otherCaDir = mkdtempSync(join(tmpdir(), 'dg-other-ca-'));
  otherCaPem = await makeCertificateAuthority(broker.settings.javaHome, otherCaDir, 'other-ca-password', 'some other CA');
});

afterAll(async () => {
  await broker?.stop();
  if (otherCaDir) rmSync(otherCaDir, { recursive: true, force: true });
});

function tlsConfig(overrides: ConfigOverrides): DgConfig {
  return loadConfig(
    {},
    { KAFKA_BROKERS: `127.0.0.1:${broker.settings.kafkaTls!.port}`, KAFKA_SSL: 'true', KAFKA_SSL_CA_FILE: kafkaTlsCaFile(broker.settings), ...overrides },
  );
}

function saslSslConfig(overrides: ConfigOverrides): DgConfig {
  return tlsConfig({
    KAFKA_BROKERS: `127.0.0.1:${broker.settings.kafkaTls!.saslPort}`,
    KAFKA_SASL_MECHANISM: 'scram-sha-512',
    KAFKA_SASL_USERNAME: username,
    KAFKA_SASL_PASSWORD: password,
    ...overrides,
  });
}

function kafkaOf(config: DgConfig, timeoutMs = 10_000): KafkaConnectionConfig {
  return { ...busConfigFrom(config).kafka, connectionTimeoutMs: timeoutMs, requestTimeoutMs: Math.max(timeoutMs, 5_000) };
}

async function roundTrip(kafka: KafkaConnectionConfig, prefix: string): Promise<void> {
  const report = await ensureTopics(kafka, prefix, { partitions: 1 });
  expect(report.created.length + report.existing.length).toBeGreaterThan(0);
  const topic = topicName('gameRequested', prefix);
  const client = createKafkaClient(kafka, createLogger('test.tls'));
  const producer = client.producer();
  await producer.connect();
  const payload = `hello over TLS (${prefix})`;
  await producer.send([{ topic, key: 'k', value: Buffer.from(payload) }]);
  await producer.disconnect();

  const seen: InboundMessage[] = [];
  const consumer = client.consumer({
    groupId: `${prefix}reader`,
    sessionTimeoutMs: 10_000,
    rebalanceTimeoutMs: 10_000,
    heartbeatIntervalMs: 1_000,
    maxWaitTimeMs: 200,
    maxBytesPerPartition: 1_048_576,
    partitionsConcurrently: 1,
  });
  try {
    await consumer.start(
      [topic],
      { fromBeginning: true },
      {
        onBatch: async (batch) => {
          seen.push(...batch.messages);
        },
        onAssigned: () => undefined,
        onRebalancing: () => undefined,
        onCrash: () => undefined,
      },
    );
    expect(await pollUntil(() => seen.length > 0, 90_000, 100)).toBe(true);
    expect(seen[0].value?.toString()).toBe(payload);
  } finally {
    await consumer.disconnect();
  }
}

/** The first error of listing topics, or a timeout error when the broker never answers. */
async function refusal(kafka: KafkaConnectionConfig, deadlineMs = 45_000): Promise<Error> {
  const admin = createKafkaClient(kafka, createLogger('test.tls')).admin();
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      admin.connect().then(() => admin.listTopics()),
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no answer within ${deadlineMs} ms`)), deadlineMs);
      }),
    ]);
  } catch (err) {
    return err as Error;
  } finally {
    clearTimeout(timer);
    await admin.disconnect().catch(() => undefined);
  }
  throw new Error('the broker accepted the client');
}

/** The message of an error and of its causes (kafkajs wraps the TLS error). */
function messages(err: unknown): string {
  const parts: string[] = [];
  for (
    let e = err as { message?: string; cause?: unknown; originalError?: unknown } | undefined;
    e && parts.length < 6;
    e = (e.cause ?? e.originalError) as typeof e
  )
    parts.push(String(e.message));
  return parts.join(' <- ');
}

it('the stack wrote its CA as PEM where KAFKA_SSL_CA_FILE can point', () => {
  const config = tlsConfig({});
  expect(config.kafka.ssl).toEqual({ caFile: kafkaTlsCaFile(broker.settings), certFile: null, keyFile: null, rejectUnauthorized: true });
});

it('creates topics, produces and consumes over TLS (SSL listener) trusting the stack CA', async () => {
  const kafka = kafkaOf(tlsConfig({}));
  expect(kafka.ssl?.caFile).toBe(kafkaTlsCaFile(broker.settings));
  expect(kafka.sasl).toBeNull();
  await roundTrip(kafka, 'tls-ssl.');
});

it('creates topics, produces and consumes over SASL_SSL (SCRAM-SHA-512 inside TLS)', async () => {
  const kafka = kafkaOf(saslSslConfig({}));
  expect(kafka.sasl).toEqual({ mechanism: 'scram-sha-512', username, password });
  expect(kafka.ssl).not.toBeNull();
  await roundTrip(kafka, 'tls-sasl-ssl.');
});

it('refuses a TLS client that does not trust the stack CA (system CAs only) with a certificate error', async () => {
  const err = await refusal(kafkaOf(tlsConfig({ KAFKA_SSL_CA_FILE: '' }), 5_000));
  expect(messages(err)).toMatch(/self[- ]signed certificate|unable to (get|verify).*certificate/i);
});

it('refuses a TLS client that trusts another CA with a certificate error', async () => {
  const err = await refusal(kafkaOf(tlsConfig({ KAFKA_SSL_CA_FILE: otherCaPem }), 5_000));
  expect(messages(err)).toMatch(/self[- ]signed certificate|unable to (get|verify).*certificate/i);
});

it('a plaintext client cannot use the TLS listener', async () => {
  const err = await refusal(kafkaOf(loadConfig({}, { KAFKA_BROKERS: `127.0.0.1:${broker.settings.kafkaTls!.port}` }), 3_000), 30_000);
  expect(messages(err)).not.toBe('');
});

it('refuses a wrong SCRAM password on the SASL_SSL listener with an authentication error', async () => {
  const err = await refusal(kafkaOf(saslSslConfig({ KAFKA_SASL_PASSWORD: 'not-the-password' }), 5_000));
  expect(messages(err)).toMatch(/SASL|[Aa]uthentication/);
});

it('the /metrics consumer-lag reader connects with the bus TLS options', async () => {
  const prefix = 'tls-lag.';
  const config = saslSslConfig({ DG_TOPIC_PREFIX: prefix });
  const kafka = kafkaOf(config);
  await ensureTopics(kafka, prefix, { partitions: 1 });
  const topic = topicName('guessMade', prefix);
  const producer = createKafkaClient(kafka, createLogger('test.tls')).producer();
  await producer.connect();
  await producer.send([
    { topic, key: 'g', value: Buffer.from('one') },
    { topic, key: 'g', value: Buffer.from('two') },
  ]);
  await producer.disconnect();

  const lag = adminLagSource(config, ['referee'], createLogger('test.tls'), 0);
  try {
    expect(await lag.lag()).toEqual([{ group: `${prefix}referee`, topic, partition: 0, lag: 2 }]);
  } finally {
    await lag.close();
  }
  // The same reader without the TLS options reads nothing from that listener (it reports no lag rather than failing the scrape).
  const plain = adminLagSource({ ...config, kafka: { ...config.kafka, ssl: null, sasl: null } }, ['referee'], createLogger('test.tls'), 0);
  try {
    expect(await plain.lag()).toEqual([]);
  } finally {
    await plain.close();
  }
});
