import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { StackError } from './stack-error';

export interface CommandResult {
  code: number;
  output: string;
}

/** Runs a command to completion, capturing combined output (kept for error messages). */
export function runCommand(command: string, args: string[], options: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): Promise<CommandResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: options.cwd, env: options.env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'] });
    const chunks: Buffer[] = [];
    child.stdout.on('data', (c: Buffer) => chunks.push(c));
    child.stderr.on('data', (c: Buffer) => chunks.push(c));
    child.once('error', (err) => reject(new StackError(`cannot run ${command}: ${err.message}`)));
    child.once('close', (code) => resolve({ code: code ?? 1, output: Buffer.concat(chunks).toString('utf8') }));
  });
}

async function runOrThrow(command: string, args: string[], options: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): Promise<void> {
  const result = await runCommand(command, args, options);
  if (result.code !== 0) {
    const tail = result.output.trimEnd().split('\n').slice(-30).join('\n');
    throw new StackError(`${command} ${args.join(' ')} exited with ${result.code}:\n${tail}`);
  }
}

/**
 * Maven (3.8) and apt do not lock their state against concurrent runs from one `up`:
 * installers queue here, one at a time, while components that are installed start right away.
 */
let installQueue: Promise<unknown> = Promise.resolve();
function serialized<T>(task: () => Promise<T>): Promise<T> {
  const run = installQueue.then(task, task);
  installQueue = run.catch(() => undefined);
  return run;
}

export function findOnPath(binary: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    const candidate = path.join(dir, binary);
    try {
      fs.accessSync(candidate, fs.constants.X_OK);
      return candidate;
    } catch {
      // not in this directory
    }
  }
  return undefined;
}

/** Installs Debian packages unless `present()` already holds; refreshes the package index once on failure. */
export function ensureAptPackages(packages: string[], present: () => boolean, log: (line: string) => void): Promise<void> {
  if (present()) return Promise.resolve();
  return serialized(async () => {
    if (present()) return;
    const asRoot = process.getuid?.() === 0;
    const [command, prefix] = asRoot ? ['apt-get', []] : ['sudo', ['-n', 'apt-get']];
    const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
    log(`installing Debian packages: ${packages.join(' ')}`);
    const first = await runCommand(command, [...prefix, 'install', '-y', '--no-install-recommends', ...packages], { env });
    if (first.code !== 0) {
      log('apt-get install failed; running apt-get update and retrying');
      await runOrThrow(command, [...prefix, 'update'], { env });
      await runOrThrow(command, [...prefix, 'install', '-y', '--no-install-recommends', ...packages], { env });
    }
    if (!present()) throw new StackError(`installed ${packages.join(' ')} but the expected files are still missing`);
  });
}

/**
 * Fills `targetDir` once: `fill` writes into a scratch sibling that is renamed into place when it
 * succeeds, so an interrupted install never looks complete and two stacks sharing the cache agree.
 */
export async function installDirectoryOnce(targetDir: string, fill: (scratchDir: string) => Promise<void>): Promise<boolean> {
  if (fs.existsSync(targetDir)) return false;
  return serialized(async () => {
    if (fs.existsSync(targetDir)) return false;
    fs.mkdirSync(path.dirname(targetDir), { recursive: true });
    const scratch = `${targetDir}.partial-${process.pid}`;
    fs.rmSync(scratch, { recursive: true, force: true });
    fs.mkdirSync(scratch, { recursive: true });
    try {
      await fill(scratch);
      fs.renameSync(scratch, targetDir);
    } catch (err) {
      fs.rmSync(scratch, { recursive: true, force: true });
      // Another stack finished the same install first: its copy is as good as ours.
      if (fs.existsSync(targetDir)) return false;
      throw err;
    }
    return true;
  });
}

export interface MavenCoordinates {
  groupId: string;
  artifactId: string;
  version: string;
}

function dependencyXml(d: MavenCoordinates): string {
  return `    <dependency><groupId>${d.groupId}</groupId><artifactId>${d.artifactId}</artifactId><version>${d.version}</version></dependency>`;
}

/** Copies the runtime classpath of `dependencies` into `outputDir` through a generated pom. */
export async function mavenCopyDependencies(workDir: string, dependencies: MavenCoordinates[], outputDir: string): Promise<void> {
  const pom = `<?xml version="1.0" encoding="UTF-8"?>
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>local.dialog-games</groupId>
  <artifactId>local-stack-runtime</artifactId>
  <version>1</version>
  <packaging>pom</packaging>
  <dependencies>
${dependencies.map(dependencyXml).join('\n')}
  </dependencies>
</project>
`;
  fs.writeFileSync(path.join(workDir, 'pom.xml'), pom);
  await runOrThrow(mavenBinary(), ['-q', '-B', 'dependency:copy-dependencies', '-DincludeScope=runtime', `-DoutputDirectory=${outputDir}`], { cwd: workDir });
}

/** Copies one artifact (`group:artifact:version[:type[:classifier]]`) into `outputDir`. */
export async function mavenCopyArtifact(workDir: string, artifact: string, outputDir: string): Promise<void> {
  await runOrThrow(mavenBinary(), ['-q', '-B', 'dependency:copy', `-Dartifact=${artifact}`, `-DoutputDirectory=${outputDir}`], { cwd: workDir });
}

export async function extractTarGz(archive: string, intoDir: string): Promise<void> {
  await runOrThrow('tar', ['-xzf', archive, '-C', intoDir]);
}

function mavenBinary(): string {
  const mvn = findOnPath('mvn');
  if (!mvn) throw new StackError('mvn is not on PATH (install the Debian package "maven")');
  return mvn;
}

/** Maven and Java 17 are what every JVM component needs before it can install itself. */
export async function ensureJavaAndMaven(javaHome: string, log: (line: string) => void): Promise<void> {
  await ensureAptPackages(['openjdk-17-jre-headless'], () => fs.existsSync(path.join(javaHome, 'bin', 'java')), log);
  await ensureAptPackages(['maven'], () => findOnPath('mvn') !== undefined, log);
}
