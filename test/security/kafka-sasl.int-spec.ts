import { randomBytes } from 'node:crypto';
import { busConfigFrom } from '../../services/core/bus';
import { createKafkaClient, type InboundMessage } from '../../services/core/bus/kafka-client';
import { ensureTopics } from '../../services/core/bus/topic-admin';
import { loadConfig, type ConfigOverrides } from '../../services/core/config';
import { configureLogging, createLogger } from '../../services/core/logging';
import { pollUntil } from '../../services/local-stack/processes';
import { startScratchKafka, type ScratchKafka } from '../helpers/scratch-stack';

/**
 * Kafka SASL/SCRAM end to end: a scratch broker (never the shared stack) with the local stack's
 * opt-in SASL_PLAINTEXT listener and a SCRAM user; the project's own config (KAFKA_SASL_*) and Kafka
 * client create topics, produce and consume through it; a wrong password and a client without SASL
 * are refused.
 */
jest.setTimeout(240_000);

const username = 'dg-sasl-test';
const password = `pw-${randomBytes(8).toString('hex')}`;
let broker: ScratchKafka;

beforeAll(async () => {
  configureLogging({ level: 'silent' });
  broker = await startScratchKafka('sasl', { sasl: { username, password } });
});

afterAll(async () => {
  await broker?.stop();
});

function saslConfig(overrides: ConfigOverrides) {
  const sasl = broker.settings.kafkaSasl!;
  return busConfigFrom(
    loadConfig(
      {},
      {
        KAFKA_BROKERS: `127.0.0.1:${sasl.port}`,
        KAFKA_SASL_MECHANISM: 'scram-sha-256',
        KAFKA_SASL_USERNAME: username,
        KAFKA_SASL_PASSWORD: password,
        ...overrides,
      },
    ),
  ).kafka;
}

it.each(['scram-sha-256', 'scram-sha-512'])('creates topics, produces and consumes through the SASL/SCRAM listener with %s', async (mechanism) => {
  const kafka = { ...saslConfig({ KAFKA_SASL_MECHANISM: mechanism }), connectionTimeoutMs: 10_000 };
  expect(kafka.sasl).toEqual({ mechanism, username, password });
  const prefix = `sasl-${mechanism}.`;
  const report = await ensureTopics(kafka, prefix, { partitions: 1 });
  expect(report.created.length + report.existing.length).toBeGreaterThan(0);
  const topic = `${prefix}game-requested`;

  const client = createKafkaClient(kafka, createLogger('test.sasl'));
  const producer = client.producer();
  await producer.connect();
  const payload = `hello over ${mechanism}`;
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
    expect(await pollUntil(() => seen.length > 0, 60_000, 100)).toBe(true);
    expect(seen[0].value?.toString()).toBe(payload);
  } finally {
    await consumer.disconnect();
  }
});

it('refuses a wrong SCRAM password with an authentication error', async () => {
  const kafka = { ...saslConfig({ KAFKA_SASL_PASSWORD: 'not-the-password' }), connectionTimeoutMs: 5_000, requestTimeoutMs: 5_000 };
  const admin = createKafkaClient(kafka, createLogger('test.sasl')).admin();
  await expect(admin.connect().then(() => admin.listTopics())).rejects.toThrow(/SASL|[Aa]uthentication/);
  await admin.disconnect().catch(() => undefined);
});

it('a client without SASL cannot use the SASL listener', async () => {
  const sasl = broker.settings.kafkaSasl!;
  const kafka = { ...busConfigFrom(loadConfig({}, { KAFKA_BROKERS: `127.0.0.1:${sasl.port}` })).kafka, connectionTimeoutMs: 3_000, requestTimeoutMs: 3_000 };
  expect(kafka.sasl).toBeNull();
  const admin = createKafkaClient(kafka, createLogger('test.sasl')).admin();
  const attempt = admin.connect().then(() => admin.listTopics());
  await expect(Promise.race([attempt, new Promise((_, reject) => setTimeout(() => reject(new Error('no answer without SASL')), 30_000))])).rejects.toThrow();
  await admin.disconnect().catch(() => undefined);
});
