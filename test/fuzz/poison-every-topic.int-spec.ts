import { randomBytes } from 'node:crypto';
import { loadFixture } from '../../schemas/fixtures';
import type { DeadLetter } from '../../schemas/generated/events';
import { TOPICS, type TopicKey } from '../../schemas/topics';
import { seededRandom } from '../../services/chaos/schedule';
import { gameSummary } from '../../services/analytics';
import { EventCodec } from '../../services/core/codec';
import { ROLE_INPUTS, ROLE_NAMES } from '../../services/core/bus';
import { planFrom } from '../../services/launcher/launcher';
import { startSimVlm, type SimVlmServer } from '../../services/sim-vlm/server';
import { consumerLag, createE2eEnvironment, type E2eEnvironment } from '../helpers/e2e-env';
import { pollUntil } from '../helpers/e2e-wait';
import { launch, readTopic, syntheticImages, waitForRunRows } from '../helpers/e2e-games';

/**
 * Fuzzed records on every input topic of every role, on every partition, through the real roles:
 * random bytes, truncated Avro, an unknown schema id, valid Avro of another topic's schema, an
 * oversized record, a null and an empty value. Each must end as one dead letter naming its source;
 * no role stops; good games launched after the poison, on the same partitions, all finish.
 * Seeded (FUZZ_SEED) and bounded.
 */
jest.setTimeout(900_000);

const SEED = Number(process.env.FUZZ_SEED ?? 20_261_203);
const INPUT_TOPICS = [...new Set(ROLE_NAMES.flatMap((r) => ROLE_INPUTS[r]))] as TopicKey[];
const KINDS = ['random-bytes', 'truncated-avro', 'unknown-schema-id', 'wrong-schema', 'oversized', 'null-value', 'empty-value'] as const;
/** Far above any real event (a few KB), just under what one Kafka record may hold. */
const OVERSIZED_BYTES = Number(process.env.FUZZ_OVERSIZED_BYTES ?? 900 * 1024);

let sim: SimVlmServer;
let env: E2eEnvironment;

beforeAll(async () => {
  sim = await startSimVlm({ port: 0 });
  env = await createE2eEnvironment('fuzz-poison', { QUESTIONER_BASE_URL: sim.baseUrl, ANSWERER_BASE_URL: sim.baseUrl });
  await env.startRoles();
}, 120_000);

afterAll(async () => {
  await env?.cleanup();
  await sim?.close();
}, 120_000);

async function poisonValue(codec: EventCodec, topic: TopicKey, kind: (typeof KINDS)[number], random: () => number): Promise<Buffer | null> {
  const bytes = (n: number) => Buffer.from(Array.from({ length: n }, () => Math.floor(random() * 256)));
  const valid = await codec.encode(topic, loadFixture(TOPICS[topic].valueEvent) as never);
  switch (kind) {
    case 'random-bytes':
      return bytes(1 + Math.floor(random() * 256));
    case 'truncated-avro':
      return valid.subarray(0, 5 + Math.floor(random() * (valid.length - 6)));
    case 'unknown-schema-id': {
      const framed = Buffer.concat([Buffer.from([0, 0, 0, 0, 0]), bytes(32)]);
      framed.writeUInt32BE(0x7ffffff0 - Math.floor(random() * 1000), 1);
      return framed;
    }
    case 'wrong-schema': {
      const other = INPUT_TOPICS.filter((t) => TOPICS[t].valueEvent !== TOPICS[topic].valueEvent)[Math.floor(random() * (INPUT_TOPICS.length - 1))]!;
      return codec.encode(other, loadFixture(TOPICS[other].valueEvent) as never);
    }
    case 'oversized':
      return Buffer.concat([valid.subarray(0, 5), bytes(OVERSIZED_BYTES)]);
    case 'null-value':
      return null;
    case 'empty-value':
      return Buffer.alloc(0);
  }
}

it('dead-letters every poison record on every input topic and partition, and the games after them finish', async () => {
  const config = env.config();
  const codec = EventCodec.fromConfig(config);
  const random = seededRandom(SEED);
  const producer = env.kafka.producer();
  await producer.connect();
  const injected = new Map<string, { topic: TopicKey; kind: string }>();
  try {
    for (const topic of INPUT_TOPICS) {
      const partitions = (
        await pollUntil(
          `partitions of ${topic}`,
          () => env.admin.fetchTopicOffsets(env.topic(topic)).catch(() => []),
          (p) => p.length > 0,
          { timeoutMs: 60_000, intervalMs: 500 },
        )
      ).map((p) => p.partition);
      for (const partition of partitions) {
        const messages = [];
        for (const kind of KINDS) {
          const key = `poison-${topic}-${partition}-${kind}`;
          injected.set(key, { topic, kind });
          messages.push({ key, partition, value: await poisonValue(codec, topic, kind, random), headers: { fuzz: kind } });
        }
        // The oversized record goes alone: with the others it would exceed what one produce request may carry.
        for (const group of [messages.filter((m) => m.headers.fuzz !== 'oversized'), messages.filter((m) => m.headers.fuzz === 'oversized')]) {
          await producer.send({ topic: env.topic(topic), messages: group });
        }
      }
    }
  } finally {
    await producer.disconnect();
  }

  // Good games after the poison: keyed by game id, they spread over the same partitions.
  const runId = `${env.topicPrefix}after-poison`;
  const images = await syntheticImages(config);
  const startedAt = Date.now();
  const ids = await launch(config, planFrom(config, { datasetName: 'synthetic-v1', runId, seed: SEED % 100_000 }), images, 8);
  const summary = await waitForRunRows(env.clickhouse, env.database, runId, ids.length, startedAt, 600_000);
  expect(summary.games).toBe(ids.length);
  expect(await gameSummary(env.clickhouse, env.database, { runId })).toMatchObject({ games: ids.length, succeeded: ids.length });

  // One dead letter per poison record, naming its topic, partition and group; nothing else dead-lettered.
  const letters = await readTopic(env.kafka, env.topic('deadLetter'), env.topicPrefix, 120_000);
  const decoded: DeadLetter[] = await Promise.all(letters.map((l) => codec.decodeDeadLetter(l.value)));
  const byKey = new Map<string, DeadLetter[]>();
  for (const d of decoded) {
    const key = d.key ? Buffer.from(d.key).toString('utf8') : '<no key>';
    byKey.set(key, [...(byKey.get(key) ?? []), d]);
  }
  const missing = [...injected.keys()].filter((k) => !byKey.has(k));
  expect(missing).toEqual([]);
  // A topic read by two roles (gameRequested) gives one dead letter per reading group.
  for (const [key, { topic }] of injected) {
    const readers = ROLE_NAMES.filter((r) => (ROLE_INPUTS[r] as readonly TopicKey[]).includes(topic)).map((r) => `${env.topicPrefix}${r}`);
    const got = byKey.get(key)!;
    // At least once per reading group: a dead letter whose commit a rebalance overtook is written again (counted below).
    expect({ key, groups: [...new Set(got.map((d) => d.consumerGroup))].sort() }).toEqual({ key, groups: readers.sort() });
    for (const d of got) {
      expect(d.sourceTopic).toBe(env.topic(topic));
      expect(d.errorMessage.length).toBeGreaterThan(0);
      expect(['decode', 'unexpected-event', 'handler']).toContain(d.errorKind);
      if (injected.get(key)!.kind === 'oversized') expect(d.errorMessage).toMatch(/dead-letter value truncated to \d+ of \d+ bytes, sha256 [0-9a-f]{64}/);
    }
  }
  expect([...byKey.keys()].filter((k) => !injected.has(k))).toEqual([]);
  const repeated = decoded.length - [...byKey.values()].reduce((n, l) => n + new Set(l.map((d) => d.consumerGroup)).size, 0);
  process.stderr.write(`fuzz: ${injected.size} poison records, ${decoded.length} dead letters (${repeated} repeated after a rebalance)\n`);

  // Every partition of every role kept flowing: nothing left uncommitted.
  for (const role of ROLE_NAMES) {
    for (const topic of ROLE_INPUTS[role]) {
      const lag = await consumerLag(env.admin, `${env.topicPrefix}${role}`, env.topic(topic));
      expect({ role, topic, lag }).toEqual({ role, topic, lag: 0 });
    }
  }
  void randomBytes;
});
