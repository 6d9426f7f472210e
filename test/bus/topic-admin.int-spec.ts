import { ConfigResourceTypes, Kafka, logLevel } from 'kafkajs';
import { TOPIC_KEYS, TOPICS, topicName } from '../../schemas/topics';
import { ensureTopics } from '../../services/core/bus';
import { configureLogging } from '../../services/core/logging';
import { testBusConfig, uniqueTopicPrefix } from '../helpers/bus-kit';

describe('ensureTopics (real Kafka)', () => {
  const prefix = uniqueTopicPrefix('admin');
  const config = testBusConfig(prefix);
  const kafka = new Kafka({ clientId: 'it-bus-admin', brokers: config.kafka.brokers, logLevel: logLevel.NOTHING });
  const admin = kafka.admin();

  beforeAll(async () => {
    // The losing side of the creation race logs the broker's TOPIC_ALREADY_EXISTS answer.
    configureLogging({ level: process.env.DG_LOG_LEVEL ? 'info' : 'silent' });
    await admin.connect();
  });
  afterAll(async () => {
    const topics = (await admin.listTopics()).filter((t) => t.startsWith(prefix));
    if (topics.length > 0) await admin.deleteTopics({ topics, timeout: 10_000 }).catch(() => undefined);
    await admin.disconnect();
  });

  it('creates every topic of the map with its partitions and retention, idempotently, also when run concurrently', async () => {
    const [a, b] = await Promise.all([ensureTopics(config.kafka, prefix), ensureTopics(config.kafka, prefix)]);
    const names = TOPIC_KEYS.map((key) => topicName(key, prefix)).sort();
    expect([...a.created, ...a.existing].sort()).toEqual(names);
    expect([...b.created, ...b.existing].sort()).toEqual(names);

    const again = await ensureTopics(config.kafka, prefix);
    expect(again.created).toEqual([]);
    expect(again.existing.sort()).toEqual(names);

    const metadata = await admin.fetchTopicMetadata({ topics: names });
    for (const key of TOPIC_KEYS) {
      const topic = metadata.topics.find((t) => t.name === topicName(key, prefix))!;
      expect(topic.partitions).toHaveLength(TOPICS[key].partitions);
      expect(topic.partitions.every((p) => p.leader >= 0)).toBe(true);
    }
    const configs = await admin.describeConfigs({
      includeSynonyms: false,
      resources: [{ type: ConfigResourceTypes.TOPIC, name: topicName('deadLetter', prefix), configNames: ['retention.ms', 'cleanup.policy'] }],
    });
    const entries = Object.fromEntries(configs.resources[0]!.configEntries.map((e) => [e.configName, e.configValue]));
    expect(entries).toEqual({ 'retention.ms': String(TOPICS.deadLetter.retentionMs), 'cleanup.policy': 'delete' });
  });
});
