import * as fs from 'node:fs';
import * as path from 'node:path';
import type { ProgressLog, StackComponent } from './component';
import { clickhouseComponent } from './components/clickhouse';
import { ensureScramUser, kafkaComponent } from './components/kafka';
import { kafkaTlsCaFile } from './components/kafka-tls';
import { schemaRegistryComponent } from './components/schema-registry';
import {
  isPortOpen,
  isRecordedProcessAlive,
  launchDetached,
  logTail,
  markStartInLogs,
  pollUntil,
  processStartTicks,
  readPidRecord,
  stopRecordedProcess,
  writePidRecord,
  type PidRecord,
  type StopOutcome,
} from './processes';
import { provisionProjectResources, seconds, type ProjectProvisioner } from './provision';
import { stackAddresses, type StackSettings } from './settings';
import { StackError } from './stack-error';
import { withStackLock } from './stack-lock';

/** How long `up`/`down` wait for another `dg stack` command on the same folder (a cold install takes minutes). */
const LOCK_WAIT_MS = 10 * 60_000;

export function stackComponents(settings: StackSettings): StackComponent[] {
  return [kafkaComponent(settings), schemaRegistryComponent(settings), clickhouseComponent(settings)];
}

function pidFileOf(component: StackComponent): string {
  return path.join(component.homeDir, 'pid.json');
}

/** A component that did not come up, with the log lines that show why. */
export class ComponentFailure extends StackError {
  constructor(
    readonly component: StackComponent,
    reason: string,
  ) {
    super(`${component.name}: ${reason}\n${component.logFiles.map((f) => `--- last lines of ${f}\n${logTail(f)}`).join('\n')}`);
  }
}

export type UpOutcome = 'started' | 'already-running';

export interface UpResult {
  name: string;
  address: string;
  pid: number;
  outcome: UpOutcome;
  elapsedMs: number;
}

export interface UpOptions {
  log?: ProgressLog;
  /** Defaults to the project's provisioners (see provision.ts). */
  provisioners?: readonly ProjectProvisioner[];
}

/**
 * Installs what is missing, starts every component that is not running (in parallel), waits until
 * each answers a real request, then provisions the project's resources. Throws a StackError naming
 * every failing component with its log tail; components that came up keep running.
 */
export async function stackUp(settings: StackSettings, options: UpOptions = {}): Promise<UpResult[]> {
  const log = options.log ?? (() => undefined);
  const components = stackComponents(settings);
  return withStackLock(settings.stackDir, LOCK_WAIT_MS, async () => {
    const settled = await Promise.allSettled(components.map((c) => bringUp(c, settings, log)));
    const failures = settled.flatMap((s) => (s.status === 'rejected' ? [s.reason as unknown] : []));
    if (failures.length > 0) {
      const text = failures.map((f) => (f instanceof Error ? f.message : String(f))).join('\n\n');
      throw new StackError(`stack is not up:\n${text}`, { cause: failures[0] });
    }
    await ensureScramUser(settings, log);
    if (settings.kafkaTls) {
      const { port, saslPort } = settings.kafkaTls;
      log(
        `kafka: TLS on SSL 127.0.0.1:${port}${saslPort ? ` and SASL_SSL 127.0.0.1:${saslPort}` : ''}; clients: KAFKA_SSL=true KAFKA_SSL_CA_FILE=${kafkaTlsCaFile(settings)}`,
      );
    }
    await provisionProjectResources(stackAddresses(settings), log, options.provisioners);
    return settled.map((s) => (s as PromiseFulfilledResult<UpResult>).value);
  });
}

async function bringUp(component: StackComponent, settings: StackSettings, log: ProgressLog): Promise<UpResult> {
  const started = Date.now();
  const pidFile = pidFileOf(component);
  const existing = readPidRecord(pidFile);
  if (existing && isRecordedProcessAlive(existing)) {
    if (existing.address !== component.address) {
      throw new StackError(
        `${component.name} is already running at ${existing.address} (pid ${existing.pid}); run \`dg stack down\` before changing its address`,
      );
    }
    // A concurrent `up` may still be starting it: give it the same deadline.
    await awaitReady(component, existing, settings.startTimeoutMs);
    const elapsedMs = Date.now() - started;
    log(`${component.name}: already running (pid ${existing.pid}) at ${component.address}`);
    return { name: component.name, address: component.address, pid: existing.pid, outcome: 'already-running', elapsedMs };
  }
  if (existing) fs.rmSync(pidFile, { force: true });

  for (const port of component.ports) {
    if (await isPortOpen(port)) {
      throw new StackError(
        `${component.name}: port ${port} on 127.0.0.1 is held by a process \`dg stack up\` did not start; stop it or choose other ports (see \`dg stack --help\`)`,
      );
    }
  }

  await component.install(log);
  const spec = await component.prepareLaunch(log);
  markStartInLogs(component.logFiles.filter((f) => f !== spec.outFile));
  const launchedAt = Date.now();
  const pid = launchDetached(spec);
  const startTicks = processStartTicks(pid);
  if (startTicks === undefined) throw new ComponentFailure(component, `exited immediately after start`);
  const record: PidRecord = { pid, startTicks, address: component.address, command: spec.command, startedAt: new Date(launchedAt).toISOString() };
  writePidRecord(pidFile, record);
  log(`${component.name}: started pid ${pid}, waiting for ${component.address}`);
  await awaitReady(component, record, settings.startTimeoutMs);
  const elapsedMs = Date.now() - started;
  log(`${component.name}: ready in ${seconds(Date.now() - launchedAt)} (${seconds(elapsedMs)} with install and setup)`);
  return { name: component.name, address: component.address, pid, outcome: 'started', elapsedMs };
}

async function awaitReady(component: StackComponent, record: PidRecord, timeoutMs: number): Promise<void> {
  let died = false;
  const ready = await pollUntil(
    async () => {
      if (!isRecordedProcessAlive(record)) {
        died = true;
        return true;
      }
      return component.isReady();
    },
    timeoutMs,
    250,
  );
  if (died) {
    fs.rmSync(pidFileOf(component), { force: true });
    throw new ComponentFailure(component, `process ${record.pid} exited before it answered at ${component.address}`);
  }
  if (!ready) {
    throw new ComponentFailure(
      component,
      `process ${record.pid} does not answer at ${component.address} after ${seconds(timeoutMs)}; it is left running for inspection (\`dg stack down\` stops it)`,
    );
  }
}

export type ComponentState = 'up' | 'not-answering' | 'down' | 'foreign';

export interface ComponentStatus {
  name: string;
  address: string;
  pid: number | null;
  /** up: our process answers; not-answering: our process runs but does not answer; foreign: something else answers. */
  state: ComponentState;
  logFiles: string[];
}

export async function stackStatus(settings: StackSettings): Promise<ComponentStatus[]> {
  return Promise.all(
    stackComponents(settings).map(async (component) => {
      const record = readPidRecord(pidFileOf(component));
      const alive = record !== undefined && isRecordedProcessAlive(record);
      const answers = await component.isReady();
      const state: ComponentState = alive ? (answers ? 'up' : 'not-answering') : answers ? 'foreign' : 'down';
      return {
        name: component.name,
        address: alive ? record.address : component.address,
        pid: alive ? record.pid : null,
        state,
        logFiles: component.logFiles,
      };
    }),
  );
}

export interface DownResult {
  name: string;
  pid: number | null;
  outcome: StopOutcome;
}

export interface DownOptions {
  log?: ProgressLog;
  /** Also delete every component's data, config and logs. */
  purge?: boolean;
}

/** Stops exactly the processes `up` recorded (SIGTERM, then SIGKILL after the grace period). */
export async function stackDown(settings: StackSettings, options: DownOptions = {}): Promise<DownResult[]> {
  const log = options.log ?? (() => undefined);
  if (!fs.existsSync(settings.stackDir)) {
    log(`nothing to stop: ${settings.stackDir} does not exist`);
    return [];
  }
  return withStackLock(settings.stackDir, LOCK_WAIT_MS, () => stopAll(settings, log, options.purge === true));
}

async function stopAll(settings: StackSettings, log: ProgressLog, purge: boolean): Promise<DownResult[]> {
  return Promise.all(
    stackComponents(settings).map(async (component): Promise<DownResult> => {
      const pidFile = pidFileOf(component);
      const record = readPidRecord(pidFile);
      const started = Date.now();
      const outcome: StopOutcome = record ? await stopRecordedProcess(record, settings.stopTimeoutMs) : 'not-running';
      fs.rmSync(pidFile, { force: true });
      if (outcome === 'not-running') log(`${component.name}: not running`);
      else
        log(
          `${component.name}: stopped pid ${record?.pid} (${outcome === 'killed' ? 'SIGKILL after grace period' : 'SIGTERM'}) in ${seconds(Date.now() - started)}`,
        );
      if (purge) {
        fs.rmSync(component.homeDir, { recursive: true, force: true });
        log(`${component.name}: deleted ${component.homeDir}`);
      }
      return { name: component.name, pid: outcome === 'not-running' ? null : (record?.pid ?? null), outcome };
    }),
  );
}
