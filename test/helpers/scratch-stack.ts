import { mkdtempSync, rmSync } from 'node:fs';
import { freePorts } from '../../services/chaos/scratch-stack';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stackSettingsFromEnv, stackDown, stackUp, type StackSettings } from '../../services/local-stack';
import { ensureScramUser, kafkaComponent } from '../../services/local-stack/components/kafka';
import { launchDetached, pollUntil, stopRecordedProcess, processStartTicks, type PidRecord } from '../../services/local-stack/processes';

/**
 * A second, throw-away stack for destructive tests (broker restarts, ClickHouse stops, a SASL
 * listener): its own folder under the temp dir and free loopback ports, so the shared local stack on
 * the default ports is never touched. Stopped (and its folder deleted) by stop().
 */

export { freePorts };

export interface ScratchSettingsOptions {
  sasl?: { username: string; password: string };
  /** The opt-in SSL listener (and SASL_SSL too when `sasl` is given). */
  tls?: boolean;
}

export async function scratchStackSettings(label: string, options: ScratchSettingsOptions = {}): Promise<StackSettings> {
  const [kafka, controller, registry, chHttp, chTcp, sasl, ssl, saslSsl] = await freePorts(8);
  const stackDir = mkdtempSync(join(tmpdir(), `dg-scratch-${label}-`));
  return stackSettingsFromEnv({
    DG_STACK_DIR: stackDir,
    DG_CACHE_DIR: process.env.DG_CACHE_DIR,
    KAFKA_PORT: String(kafka),
    KAFKA_CONTROLLER_PORT: String(controller),
    SCHEMA_REGISTRY_PORT: String(registry),
    CLICKHOUSE_HTTP_PORT: String(chHttp),
    CLICKHOUSE_TCP_PORT: String(chTcp),
    ...(options.sasl
      ? { DG_STACK_KAFKA_SASL_PORT: String(sasl), DG_STACK_KAFKA_SASL_USERNAME: options.sasl.username, DG_STACK_KAFKA_SASL_PASSWORD: options.sasl.password }
      : {}),
    ...(options.tls ? { DG_STACK_KAFKA_SSL_PORT: String(ssl), ...(options.sasl ? { DG_STACK_KAFKA_SASL_SSL_PORT: String(saslSsl) } : {}) } : {}),
  });
}

export interface ScratchKafka {
  settings: StackSettings;
  stop(): Promise<void>;
}

/** Only a Kafka broker (with the opt-in SASL listener when asked): cheaper than a whole stack. */
export async function startScratchKafka(label: string, options: ScratchSettingsOptions = {}): Promise<ScratchKafka> {
  const settings = await scratchStackSettings(label, options);
  const component = kafkaComponent(settings);
  await component.install(() => undefined);
  // A failed set-up (storage format, TLS material) leaves no temp folder behind.
  const spec = await component
    .prepareLaunch(() => undefined)
    .catch((err: unknown) => {
      rmSync(settings.stackDir, { recursive: true, force: true });
      throw err;
    });
  const pid = launchDetached(spec);
  const record: PidRecord = {
    pid,
    startTicks: processStartTicks(pid) ?? 0,
    address: component.address,
    command: spec.command,
    startedAt: new Date().toISOString(),
  };
  const stop = async (): Promise<void> => {
    await stopRecordedProcess(record, 15_000).catch(() => undefined);
    rmSync(settings.stackDir, { recursive: true, force: true });
  };
  try {
    if (!(await pollUntil(() => component.isReady(), 120_000, 250))) throw new Error(`scratch kafka ${label} did not answer at ${component.address}`);
    await ensureScramUser(settings, () => undefined);
  } catch (err) {
    await stop();
    throw err;
  }
  return { settings, stop };
}

export interface ScratchStack {
  settings: StackSettings;
  stop(): Promise<void>;
}

/** A whole second stack (Kafka, registry, ClickHouse), provisioned with the environment's prefix and database. */
export async function startScratchStack(label: string, options: ScratchSettingsOptions = {}): Promise<ScratchStack> {
  const settings = await scratchStackSettings(label, options);
  const stop = async (): Promise<void> => {
    await stackDown(settings).catch(() => undefined);
    rmSync(settings.stackDir, { recursive: true, force: true });
  };
  try {
    await stackUp(settings);
  } catch (err) {
    await stop();
    throw err;
  }
  return { settings, stop };
}
