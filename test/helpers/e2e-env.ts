import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { INestApplicationContext } from '@nestjs/common';
import { Kafka, logLevel, type Admin } from 'kafkajs';
import { topicName, type TopicKey } from '../../schemas/topics';
import { startRoles } from '../../services/role-runtime/role-app';
import { ClickHouseConnection, identifier, migrateClickHouse, sql } from '../../services/core/clickhouse';
import { loadConfig, type ConfigOverrides, type DgConfig } from '../../services/core/config';
import { configureLogging } from '../../services/core/logging';
import { ROLE_NAMES, type RoleName } from '../../services/core/bus';
import { pollUntil } from './e2e-wait';

/**
 * One isolated world per e2e test file on the shared local stack: a unique topic prefix (so its own
 * topics, subjects and consumer groups), a unique ClickHouse database (migrated at start), a temp
 * DG_DATA_DIR. Everything started through it (role apps, simulators, proxies) is closed by
 * cleanup(), which then deletes the topics, groups, subjects, database and directory.
 */
export interface E2eEnvironment {
  readonly label: string;
  readonly topicPrefix: string;
  readonly database: string;
  readonly dataDir: string;
  /** Connection to the test's database (analytics, row checks). */
  readonly clickhouse: ClickHouseConnection;
  readonly kafka: Kafka;
  readonly admin: Admin;
  /** The environment's config with `overrides` on top (prefix, database and data dir always the test's). */
  config(overrides?: ConfigOverrides): DgConfig;
  /** Starts roles in process with that config; closed by cleanup() unless stopped before. */
  startRoles(overrides?: ConfigOverrides, roles?: readonly RoleName[]): Promise<INestApplicationContext>;
  /** Closes a role app started here (e.g. to restart the sink) and forgets it. */
  stopRoles(app: INestApplicationContext): Promise<void>;
  /** Registers something to close at cleanup (simulators, proxies, clients), closed last-in first-out. */
  track(close: () => Promise<unknown>): void;
  /** The full topic name of a topic of the map. */
  topic(key: TopicKey): string;
  cleanup(): Promise<void>;
}

/** Lowercase letters and digits, unique per call: a topic-prefix and database-name friendly id. */
export function uniqueSuffix(): string {
  return `${Date.now().toString(36)}${randomBytes(3).toString('hex')}`;
}

export async function createE2eEnvironment(label: string, baseOverrides: ConfigOverrides = {}): Promise<E2eEnvironment> {
  const suffix = uniqueSuffix();
  const topicPrefix = `e2e-${label}-${suffix}.`;
  const database = `dg_e2e_${label.replace(/[^A-Za-z0-9_]/g, '_')}_${suffix}`;
  const dataDir = await mkdtemp(join(tmpdir(), `dg-e2e-${label}-`));
  const isolation: ConfigOverrides = { DG_TOPIC_PREFIX: topicPrefix, CLICKHOUSE_DATABASE: database, DG_DATA_DIR: dataDir };
  const config = (overrides: ConfigOverrides = {}): DgConfig => loadConfig(process.env, { ...baseOverrides, ...overrides, ...isolation });
  const base = config();
  // Role logs would drown jest's output; DG_LOG_LEVEL in the environment brings them back when debugging.
  configureLogging({ level: process.env.DG_LOG_LEVEL ? base.log.level : 'error' });

  const clickhouse = new ClickHouseConnection({ ...base.clickhouse });
  const kafka = new Kafka({ clientId: `dg-e2e-${label}`, brokers: [...base.kafka.brokers], logLevel: logLevel.NOTHING });
  const admin = kafka.admin();
  try {
    await migrateClickHouse({ ...base.clickhouse });
    await admin.connect();
  } catch (err) {
    // A stack that is not up: leave nothing behind, and say where to look.
    await clickhouse.command(sql`DROP DATABASE IF EXISTS ${identifier(database)}`).catch(() => undefined);
    await clickhouse.close().catch(() => undefined);
    await rm(dataDir, { recursive: true, force: true });
    throw new Error(`e2e environment ${label}: the local stack is not reachable (run \`dg stack up\`): ${String(err)}`, { cause: err });
  }

  const apps = new Set<INestApplicationContext>();
  const closers: Array<() => Promise<unknown>> = [];
  let cleaned = false;

  const env: E2eEnvironment = {
    label,
    topicPrefix,
    database,
    dataDir,
    clickhouse,
    kafka,
    admin,
    config,
    async startRoles(overrides = {}, roles = ROLE_NAMES) {
      const app = await startRoles(config(overrides), roles);
      apps.add(app);
      return app;
    },
    async stopRoles(app) {
      apps.delete(app);
      await app.close();
    },
    track(close) {
      closers.push(close);
    },
    topic(key) {
      return topicName(key, topicPrefix);
    },
    async cleanup() {
      if (cleaned) return;
      cleaned = true;
      const problems: unknown[] = [];
      const attempt = async (what: () => Promise<unknown>): Promise<void> => {
        try {
          await what();
        } catch (err) {
          problems.push(err);
        }
      };
      for (const app of apps) await attempt(() => app.close());
      apps.clear();
      for (const close of closers.reverse()) await attempt(close);
      // Best effort below: the stack is shared, leftovers must not pile up, but a slow broker must not fail the test.
      await attempt(() => deleteKafkaLeftovers(admin, topicPrefix));
      await attempt(() => admin.disconnect());
      await attempt(() => deleteSubjects(base.schemaRegistry.url, topicPrefix));
      await attempt(() => clickhouse.command(sql`DROP DATABASE IF EXISTS ${identifier(database)}`));
      await attempt(() => clickhouse.close());
      await attempt(() => rm(dataDir, { recursive: true, force: true }));
      if (problems.length > 0) throw new AggregateError(problems, `e2e cleanup of ${label} had ${problems.length} problem(s)`);
    },
  };
  return env;
}

async function deleteKafkaLeftovers(admin: Admin, topicPrefix: string): Promise<void> {
  // Role groups are named after the prefix too (roleGroupId), as are the kit's raw readers.
  const groups = (await admin.listGroups()).groups.map((g) => g.groupId).filter((id) => id.startsWith(topicPrefix));
  // A group that still has members cannot be deleted; its topics go anyway, and an empty group expires.
  if (groups.length > 0) await admin.deleteGroups(groups).catch(() => undefined);
  const topics = (await admin.listTopics()).filter((t) => t.startsWith(topicPrefix));
  if (topics.length > 0) await admin.deleteTopics({ topics, timeout: 10_000 });
}

async function deleteSubjects(registryUrl: string, topicPrefix: string): Promise<void> {
  const response = await fetch(`${registryUrl}/subjects`, { signal: AbortSignal.timeout(5_000) });
  const subjects = ((await response.json()) as string[]).filter((subject) => subject.startsWith(topicPrefix));
  for (const subject of subjects) {
    await fetch(`${registryUrl}/subjects/${encodeURIComponent(subject)}`, { method: 'DELETE', signal: AbortSignal.timeout(5_000) });
  }
}

/** Messages in `topic` not yet committed by `groupId` (the group has finished them once this is 0). */
export async function consumerLag(admin: Admin, groupId: string, topic: string): Promise<number> {
  const [high, committed] = await Promise.all([admin.fetchTopicOffsets(topic), admin.fetchOffsets({ groupId, topics: [topic] })]);
  const done = new Map((committed[0]?.partitions ?? []).map((p) => [p.partition, Number(p.offset)]));
  return high.reduce((lag, p) => lag + Math.max(0, Number(p.high) - Math.max(0, done.get(p.partition) ?? 0)), 0);
}

/** Total messages ever written to `topic` (sum of high watermarks; our topics are never compacted in a test). */
export async function topicMessageCount(admin: Admin, topic: string): Promise<number> {
  return (await admin.fetchTopicOffsets(topic)).reduce((sum, p) => sum + Number(p.high) - Number(p.low), 0);
}

/** Waits until `groupId` has committed everything in `topic`. */
export async function waitForGroupCaughtUp(admin: Admin, groupId: string, topic: string, timeoutMs: number): Promise<void> {
  await pollUntil(
    `${groupId} to catch up on ${topic}`,
    () => consumerLag(admin, groupId, topic),
    (lag) => lag === 0,
    { timeoutMs, intervalMs: 250 },
  );
}
