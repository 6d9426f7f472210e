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

/**
 * HOOK POINT: the project's provisioners, run in this order once every component answers.
 * Wire here `runMigrations` (services/core/clickhouse/migrations.ts) and topic + subject
 * provisioning (services/core/bus).
 */
export const projectProvisioners: ProjectProvisioner[] = [];

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
