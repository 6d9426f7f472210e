import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';

/**
 * What `up` records about a process it started. The kernel start time guards against pid reuse:
 * `down` never signals a process that merely inherited a recorded pid.
 */
export interface PidRecord {
  pid: number;
  startTicks: number;
  address: string;
  command: string;
  startedAt: string;
}

export interface LaunchSpec {
  command: string;
  args: string[];
  cwd: string;
  env?: NodeJS.ProcessEnv;
  /** Receives the process's stdout and stderr. */
  outFile: string;
}

/** Field 22 of /proc/<pid>/stat (start time in clock ticks since boot); undefined when gone or a zombie. */
export function processStartTicks(pid: number): number | undefined {
  let stat: string;
  try {
    stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  // The command name (field 2) may contain spaces and parentheses: parse after the last ')'.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const state = fields[0];
  if (state === 'Z' || state === 'X') return undefined;
  return Number(fields[19]);
}

export function isRecordedProcessAlive(record: PidRecord): boolean {
  return processStartTicks(record.pid) === record.startTicks;
}

export function readPidRecord(file: string): PidRecord | undefined {
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8')) as PidRecord;
  } catch {
    return undefined;
  }
}

export function writePidRecord(file: string, record: PidRecord): void {
  const tmp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, JSON.stringify(record, null, 2) + '\n');
  fs.renameSync(tmp, file);
}

/** Opens every start in a log, so a tail shows the current start only. */
const START_MARKER = '--- dg stack start ';

export function markStartInLogs(files: string[]): void {
  for (const file of files) {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.appendFileSync(file, `${START_MARKER}${new Date().toISOString()}\n`);
  }
}

/** Starts a process in its own session that outlives the `dg` command; output goes to spec.outFile. */
export function launchDetached(spec: LaunchSpec): number {
  fs.mkdirSync(path.dirname(spec.outFile), { recursive: true });
  const out = fs.openSync(spec.outFile, 'a');
  fs.writeSync(out, `${START_MARKER}${new Date().toISOString()}: ${spec.command} ${spec.args.join(' ')}\n`);
  try {
    const child = spawn(spec.command, spec.args, {
      cwd: spec.cwd,
      env: spec.env ?? process.env,
      detached: true,
      stdio: ['ignore', out, out],
    });
    if (child.pid === undefined) throw new Error(`could not start ${spec.command}`);
    // Keep libuv reaping the child while `dg` runs, without keeping `dg` alive.
    child.on('error', () => undefined);
    child.unref();
    return child.pid;
  } finally {
    fs.closeSync(out);
  }
}

export async function pollUntil(condition: () => Promise<boolean> | boolean, timeoutMs: number, intervalMs = 200): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await condition()) return true;
    if (Date.now() >= deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

export type StopOutcome = 'not-running' | 'terminated' | 'killed';

/** SIGTERM, wait up to graceMs, then SIGKILL; only if the recorded process is still the same one. */
export async function stopRecordedProcess(record: PidRecord, graceMs: number): Promise<StopOutcome> {
  if (!isRecordedProcessAlive(record)) return 'not-running';
  signal(record.pid, 'SIGTERM');
  if (await pollUntil(() => !isRecordedProcessAlive(record), graceMs, 100)) return 'terminated';
  signal(record.pid, 'SIGKILL');
  if (await pollUntil(() => !isRecordedProcessAlive(record), 10_000, 100)) return 'killed';
  throw new Error(`process ${record.pid} (${record.command}) survived SIGKILL`);
}

function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ESRCH') throw err;
  }
}

/** True when something accepts TCP connections on 127.0.0.1:port. */
export function isPortOpen(port: number, timeoutMs = 1000): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    const done = (open: boolean) => {
      socket.destroy();
      resolve(open);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

/** The last lines of a log file, or a note that it does not exist. */
export function logTail(file: string, lines = 40): string {
  let text: string;
  try {
    const fd = fs.openSync(file, 'r');
    try {
      const size = fs.fstatSync(fd).size;
      const length = Math.min(size, 64 * 1024);
      const buffer = Buffer.alloc(length);
      fs.readSync(fd, buffer, 0, length, size - length);
      text = buffer.toString('utf8');
    } finally {
      fs.closeSync(fd);
    }
  } catch {
    return `(no log at ${file})`;
  }
  const marker = text.lastIndexOf(START_MARKER);
  if (marker >= 0) text = text.slice(marker);
  return text
    .split('\n')
    .slice(-lines - 1)
    .join('\n')
    .trimEnd();
}
