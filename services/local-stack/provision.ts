import { busConfigFrom, ensureTopics } from '../core/bus';
import { migrateClickHouse } from '../core/clickhouse';
import { EventCodec } from '../core/codec';
import { loadConfig, type DgConfig } from '../core/config';
import type { ProgressLog } from './component';
import type { StackAddresses } from './settings';

/**
 * Something `dg stack up` sets up inside the running stack for the project: ClickHouse migrations,
 * Kafka topics, registry subjects. Each must be idempotent: it runs on every `up`, so a stack that
 * keeps running picks up new migrations and topics.
 */
export interface ProjectProvisioner {
  name: string;
  run(addresses: StackAddresses, log: ProgressLog): Promise<void>;
}

/** The project's config pointed at this stack's addresses (database name, topic prefix from the environment). */
function configFor(addresses: StackAddresses): DgConfig {
  return loadConfig(process.env, {
    KAFKA_BROKERS: addresses.kafkaBrokers,
    SCHEMA_REGISTRY_URL: addresses.schemaRegistryUrl,
    CLICKHOUSE_URL: addresses.clickhouseUrl,
  });
}

/** The project's provisioners, run in this order once every component answers. */
export const projectProvisioners: ProjectProvisioner[] = [
  {
    name: 'ClickHouse migrations',
    run: async (addresses, log) => {
      const config = configFor(addresses);
      await migrateClickHouse({ ...config.clickhouse }, { log });
    },
  },
  {
    name: 'Kafka topics',
    run: async (addresses, log) => {
      const config = configFor(addresses);
      const report = await ensureTopics(busConfigFrom(config).kafka, config.topics.prefix);
      log(`Kafka topics: ${report.created.length} created, ${report.existing.length} already there`);
    },
  },
  {
    name: 'schema registry subjects',
    run: async (addresses, log) => {
      const config = configFor(addresses);
      const ids = await EventCodec.fromConfig(config).registerAll();
      log(`registry subjects (BACKWARD): ${Object.keys(ids).length} registered or current`);
    },
  },
];

export async function provisionProjectResources(
  addresses: StackAddresses,
  log: ProgressLog,
  provisioners: readonly ProjectProvisioner[] = projectProvisioners,
): Promise<void> {
  for (const provisioner of provisioners) {
    const started = Date.now();
    await provisioner.run(addresses, log);
    log(`provisioned ${provisioner.name} in ${seconds(Date.now() - started)}`);
  }
}

export function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)}s`;
}
