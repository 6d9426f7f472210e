import { randomBytes } from 'node:crypto';
import { Kafka, logLevel } from 'kafkajs';
import { kafkaSecurityOptions } from '../core/bus/kafka-client';
import { subjectFor, TOPIC_KEYS, topicName } from '../../schemas/topics';
import { ClickHouseConnection, identifier, sql } from '../core/clickhouse';
import type { DgConfig } from '../core/config';
import type { BenchContext } from './context';

/**
 * Every bench works in its own corner of the shared stack: a unique topic prefix (its topics,
 * subjects and consumer groups all start with it), a unique ClickHouse database, a temp directory.
 * These helpers name those corners and delete them afterwards.
 */

/** Lowercase letters and digits, unique per call: fits topic prefixes and database names. */
export function uniqueSuffix(): string {
  return `${Date.now().toString(36)}${randomBytes(3).toString('hex')}`;
}

export function benchTopicPrefix(label: string, suffix: string): string {
  return `bench-${label}-${suffix}.`;
}

export function benchDatabase(label: string, suffix: string): string {
  return `dg_bench_${label}_${suffix}`;
}

/** A kafkajs client for admin work and raw baselines, silent (the bench prints its own figures). */
export function rawKafka(config: DgConfig, clientId: string): Kafka {
  return new Kafka({ clientId, brokers: [...config.kafka.brokers], logLevel: logLevel.NOTHING, ...kafkaSecurityOptions(config.kafka) });
}

/** Deletes the consumer groups and topics whose names start with `prefix`. */
export async function deleteKafkaLeftovers(config: DgConfig, prefix: string): Promise<{ groups: number; topics: number }> {
  const admin = rawKafka(config, 'dg-bench-cleanup').admin();
  await admin.connect();
  try {
    const groups = (await admin.listGroups()).groups.map((g) => g.groupId).filter((id) => id.startsWith(prefix));
    if (groups.length > 0) await admin.deleteGroups(groups);
    const topics = (await admin.listTopics()).filter((t) => t.startsWith(prefix));
    if (topics.length > 0) await admin.deleteTopics({ topics, timeout: 10_000 });
    return { groups: groups.length, topics: topics.length };
  } finally {
    await admin.disconnect();
  }
}

/**
 * Deletes the `<topic>-value` subjects of `prefix` through the Confluent-compatible API (only the
 * subjects a bench used exist; the others answer 404). `kept` counts refusals, e.g. a registry
 * with deletion disabled.
 */
export async function deleteSubjects(config: DgConfig, prefix: string): Promise<{ deleted: number; kept: number }> {
  const counts = { deleted: 0, kept: 0 };
  for (const key of TOPIC_KEYS) {
    const subject = encodeURIComponent(subjectFor(topicName(key, prefix)));
    const response = await fetch(`${config.schemaRegistry.url}/subjects/${subject}`, { method: 'DELETE', signal: AbortSignal.timeout(5_000) }).catch(
      () => undefined,
    );
    if (response?.ok) counts.deleted++;
    else if (response?.status !== 404) counts.kept++;
  }
  return counts;
}

export async function dropDatabase(config: DgConfig, database: string): Promise<void> {
  const ch = new ClickHouseConnection({ ...config.clickhouse, database });
  try {
    await ch.command(sql`DROP DATABASE IF EXISTS ${identifier(database)}`);
  } finally {
    await ch.close();
  }
}

/** Registers the deletion of a prefix's topics, groups and subjects (run after the bench's clients close). */
export function deferIsolationCleanup(ctx: BenchContext, prefix: string): void {
  ctx.defer(`kafka topics and groups ${prefix}*`, async () => {
    const deleted = await deleteKafkaLeftovers(ctx.config, prefix);
    return `deleted ${deleted.topics} topics, ${deleted.groups} groups`;
  });
  ctx.defer(`registry subjects ${prefix}*`, async () => {
    const { deleted, kept } = await deleteSubjects(ctx.config, prefix);
    return `deleted ${deleted}${kept > 0 ? `, ${kept} could not be deleted` : ''}`;
  });
}
