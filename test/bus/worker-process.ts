import type { ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import type { HandlerRecord } from './workers/recording-consumer';
import { waitFor } from '../helpers/wait-for';

/** Records written so far by recording consumers to `file`. */
export function readRecords(file: string): HandlerRecord[] {
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => JSON.parse(line) as HandlerRecord);
}

/** Resolves once the worker printed READY (joined its group); fails early if it exits. */
export async function workerReady(child: ChildProcess, timeoutMs: number): Promise<void> {
  let output = '';
  let exited: number | null | undefined;
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.once('exit', (code) => (exited = code));
  await waitFor(
    () => {
      if (exited !== undefined) throw new Error(`worker exited with ${exited} before READY: ${output}`);
      return output.includes('READY');
    },
    { timeoutMs, what: 'worker READY' },
  );
}

export function workerExit(child: ChildProcess, timeoutMs: number): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve({ code: child.exitCode, signal: child.signalCode });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`worker ${child.pid} did not exit within ${timeoutMs} ms`)), timeoutMs);
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal });
    });
  });
}

/** "partition:offset" */
export function coordinate(record: { partition?: number; offset?: string }): string {
  return `${record.partition}:${record.offset}`;
}
