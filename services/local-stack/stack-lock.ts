import * as fs from 'node:fs';
import * as path from 'node:path';
import { processStartTicks } from './processes';
import { StackError } from './stack-error';

interface LockOwner {
  pid: number;
  startTicks: number | undefined;
}

function ownerAlive(owner: LockOwner): boolean {
  return owner.startTicks !== undefined && processStartTicks(owner.pid) === owner.startTicks;
}

/**
 * Serialises `up` and `down` on one stack folder: two test runs starting the same stack at once
 * would otherwise both launch every component. A lock left by a dead process is taken over.
 */
export async function withStackLock<T>(stackDir: string, timeoutMs: number, task: () => Promise<T>): Promise<T> {
  fs.mkdirSync(stackDir, { recursive: true });
  const lockFile = path.join(stackDir, 'stack.lock');
  const me: LockOwner = { pid: process.pid, startTicks: processStartTicks(process.pid) };
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      fs.writeFileSync(lockFile, JSON.stringify(me), { flag: 'wx' });
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    let owner: LockOwner | undefined;
    try {
      owner = JSON.parse(fs.readFileSync(lockFile, 'utf8')) as LockOwner;
    } catch {
      owner = undefined; // being written right now, or gone
    }
    if (owner && !ownerAlive(owner)) {
      fs.rmSync(lockFile, { force: true });
      continue;
    }
    if (Date.now() >= deadline) {
      throw new StackError(`another dg stack command (pid ${owner?.pid ?? '?'}) is working on ${stackDir}; lock file ${lockFile}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  try {
    return await task();
  } finally {
    fs.rmSync(lockFile, { force: true });
  }
}
