import { mkdtempSync, rmSync } from 'node:fs';
import * as net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stackDown, stackSettingsFromEnv, stackUp, type StackSettings } from '../local-stack';
import type { ProgressLog } from '../local-stack/component';

/**
 * A second, throw-away local stack on free loopback ports in a temp folder: where destructive runs
 * (broker restarts, ClickHouse stops) happen, never on a stack other people use.
 */

/** `count` distinct free loopback ports (bound then released). */
export async function freePorts(count: number): Promise<number[]> {
  const servers = await Promise.all(
    Array.from(
      { length: count },
      () =>
        new Promise<net.Server>((resolve, reject) => {
          const server = net.createServer();
          server.once('error', reject);
          server.listen(0, '127.0.0.1', () => resolve(server));
        }),
    ),
  );
  const ports = servers.map((s) => (s.address() as net.AddressInfo).port);
  await Promise.all(servers.map((s) => new Promise((resolve) => s.close(resolve))));
  return ports;
}

export interface ScratchStack {
  settings: StackSettings;
  /** Stops every component and deletes the folder. */
  stop(): Promise<void>;
}

export async function startScratchStack(label: string, log: ProgressLog = () => undefined, env: NodeJS.ProcessEnv = process.env): Promise<ScratchStack> {
  const [kafka, controller, registry, chHttp, chTcp] = await freePorts(5);
  const stackDir = mkdtempSync(join(tmpdir(), `dg-scratch-${label}-`));
  const settings = stackSettingsFromEnv({
    DG_STACK_DIR: stackDir,
    DG_CACHE_DIR: env.DG_CACHE_DIR,
    DG_STACK_JAVA_HOME: env.DG_STACK_JAVA_HOME,
    DG_STACK_START_TIMEOUT_S: env.DG_STACK_START_TIMEOUT_S || '240',
    KAFKA_PORT: String(kafka),
    KAFKA_CONTROLLER_PORT: String(controller),
    SCHEMA_REGISTRY_PORT: String(registry),
    CLICKHOUSE_HTTP_PORT: String(chHttp),
    CLICKHOUSE_TCP_PORT: String(chTcp),
  });
  const stop = async (): Promise<void> => {
    await stackDown(settings).catch(() => undefined);
    rmSync(settings.stackDir, { recursive: true, force: true });
  };
  try {
    // Nothing to provision yet: the chaos run migrates, creates topics and registers subjects under its own names.
    await stackUp(settings, { log, provisioners: [] });
  } catch (err) {
    await stop();
    throw err;
  }
  return { settings, stop };
}
