import { spawn } from 'node:child_process';
import { join } from 'node:path';

export interface DgResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs `bin/dg <args>` as a user would, in a child process, to its end; rejects (after killing it)
 * at the deadline. bin/dg may rebuild dist/ first when sources changed, so deadlines are generous.
 */
export function runDg(args: readonly string[], childEnv: NodeJS.ProcessEnv, timeoutMs: number): Promise<DgResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [join(__dirname, '..', '..', 'bin', 'dg'), ...args], { env: childEnv, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
    const timer = setTimeout(() => {
      child.kill('SIGTERM');
      reject(new Error(`dg ${args.join(' ')} did not finish within ${timeoutMs} ms; stderr: ${stderr.slice(-2000)}`));
    }, timeoutMs);
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}
