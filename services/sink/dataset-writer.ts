import { randomBytes } from 'node:crypto';
import { mkdir, open, rename, stat, unlink, type FileHandle } from 'node:fs/promises';
import { hostname } from 'node:os';
import { dirname, join } from 'node:path';
import { NonRetriableError, RetriableError, sleep } from '../core/errors';

/** Where the kept games of one iteration land: one JSONL shard per source partition. */
export function shardPath(dataDir: string, iteration: number, partition: number): string {
  return join(datasetDir(dataDir, iteration), `part-${String(partition).padStart(3, '0')}.jsonl`);
}

export function datasetDir(dataDir: string, iteration: number): string {
  return join(dataDir, 'dataset', `iteration-${iteration}`);
}

/** The JSONL line of one example; throws (nothing written yet) when it cannot be one line. */
export function exampleLine(gameId: string, example: object): string {
  const line = JSON.stringify(example);
  if (line.includes('\n')) throw new NonRetriableError(`example for game ${gameId} serialised with a newline`);
  return line;
}

export type AppendOutcome = 'written' | 'duplicate';

export interface DatasetWriterOptions {
  /** A shard lock older than this is taken to belong to a writer that died holding it. */
  staleLockMs?: number;
  /** How long an append waits for a shard lock before failing (retriably). */
  lockTimeoutMs?: number;
}

interface Shard {
  path: string;
  /** Game ids of every complete line in the file up to `scanned` bytes. */
  gameIds: Set<string>;
  scanned: number;
  /** Lines waiting for the next write, with their callers. */
  pending: Array<{ gameId: string; line: string; resolve: (o: AppendOutcome) => void; reject: (e: unknown) => void }>;
  writing: Promise<void> | undefined;
}

/**
 * Appends fine-tuning examples to JSONL shards exactly once per game, safe with several sink
 * instances (processes or pods) sharing one data directory.
 *
 * The shard file is the only source of truth, never a cache: every write takes the shard's lock
 * file (`part-NNN.jsonl.lock`, created exclusively), reads whatever other instances appended since
 * this one last looked (file growth past the bytes already scanned), cuts a torn last line left by
 * a writer that crashed, appends only the games the file does not hold yet, fsyncs, and releases the
 * lock. So a partition that moves A→B→A, a redelivery, a replay or a republished event can never
 * double an example, and a zombie instance still finishing messages after a rebalance is serialised
 * with the new owner. The sink commits a Kafka offset only after append() resolved: a crash can
 * repeat work but never lose or double an example. Several instances need one shared directory
 * (ReadWriteMany in the Helm chart); instances on separate disks would each hold a part.
 */
export class DatasetWriter {
  private readonly shards = new Map<string, Shard>();
  /** Directories this writer created or found: opened into without a mkdir per write. */
  private readonly knownDirs = new Set<string>();
  private readonly staleLockMs: number;
  private readonly lockTimeoutMs: number;
  private readonly owner = `${hostname()}:${process.pid}:${randomBytes(4).toString('hex')}`;

  constructor(
    private readonly dataDir: string,
    options: DatasetWriterOptions = {},
  ) {
    this.staleLockMs = options.staleLockMs ?? 30_000;
    this.lockTimeoutMs = options.lockTimeoutMs ?? this.staleLockMs * 2;
  }

  /** Appends `line` (from exampleLine) unless the shard already holds a line of `gameId`. */
  append(iteration: number, partition: number, gameId: string, line: string): Promise<AppendOutcome> {
    const path = shardPath(this.dataDir, iteration, partition);
    let shard = this.shards.get(path);
    if (!shard) {
      shard = { path, gameIds: new Set(), scanned: 0, pending: [], writing: undefined };
      this.shards.set(path, shard);
    }
    const target = shard;
    return new Promise<AppendOutcome>((resolve, reject) => {
      target.pending.push({ gameId, line, resolve, reject });
      if (!target.writing) target.writing = this.writeLoop(target);
    });
  }

  async close(): Promise<void> {
    await Promise.all([...this.shards.values()].map((s) => s.writing));
    this.shards.clear();
  }

  /** Group commit: every line queued while the previous write was in progress goes in the next one. */
  private async writeLoop(shard: Shard): Promise<void> {
    while (shard.pending.length > 0) {
      const batch = shard.pending.splice(0, shard.pending.length);
      try {
        const outcomes = await this.withLock(shard.path, () => this.writeBatch(shard, batch));
        batch.forEach((p, i) => p.resolve(outcomes[i]!));
      } catch (err) {
        for (const p of batch) p.reject(err);
      }
    }
    shard.writing = undefined;
  }

  private async writeBatch(shard: Shard, batch: Shard['pending']): Promise<AppendOutcome[]> {
    const handle = await this.openInDir(shard.path, 'a+');
    try {
      await catchUp(shard, handle);
      const outcomes: AppendOutcome[] = [];
      const fresh: string[] = [];
      for (const p of batch) {
        if (shard.gameIds.has(p.gameId)) {
          outcomes.push('duplicate');
          continue;
        }
        shard.gameIds.add(p.gameId);
        fresh.push(p.line);
        outcomes.push('written');
      }
      if (fresh.length > 0) {
        const text = fresh.map((l) => `${l}\n`).join('');
        try {
          await handle.appendFile(text, 'utf8');
          await handle.datasync();
        } catch (err) {
          // Whatever reached the file is read back (or cut, if torn) under the next lock.
          for (const p of batch) shard.gameIds.delete(p.gameId);
          shard.scanned = 0;
          throw err;
        }
        shard.scanned += Buffer.byteLength(text);
      }
      return outcomes;
    } finally {
      await handle.close().catch(() => undefined);
    }
  }

  /**
   * open(), creating the directory the first time (and again when it vanished: ENOENT), instead of a
   * mkdir before every write.
   */
  private async openInDir(path: string, flags: string): Promise<FileHandle> {
    const dir = dirname(path);
    if (this.knownDirs.has(dir)) {
      try {
        return await open(path, flags);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
        this.knownDirs.delete(dir);
      }
    }
    await mkdir(dir, { recursive: true });
    this.knownDirs.add(dir);
    return open(path, flags);
  }

  /** Runs `work` holding the shard's lock file; waits for a live holder, takes over a stale one. */
  private async withLock<T>(path: string, work: () => Promise<T>): Promise<T> {
    const lockPath = `${path}.lock`;
    const deadline = Date.now() + this.lockTimeoutMs;
    let delay = 2;
    for (;;) {
      try {
        const lock = await this.openInDir(lockPath, 'wx');
        await lock.writeFile(this.owner).finally(() => lock.close());
        break;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      }
      const age = await stat(lockPath).then(
        (s) => Date.now() - s.mtimeMs,
        () => 0,
      );
      if (age > this.staleLockMs) {
        // Renaming first means only one of several waiters removes the stale lock.
        const aside = `${lockPath}.stale-${randomBytes(4).toString('hex')}`;
        if (
          await rename(lockPath, aside).then(
            () => true,
            () => false,
          )
        )
          await unlink(aside).catch(() => undefined);
        continue;
      }
      if (Date.now() > deadline) throw new RetriableError(`dataset shard ${path} stayed locked by another writer for ${this.lockTimeoutMs} ms (${lockPath})`);
      await sleep(delay);
      delay = Math.min(delay * 2, 50);
    }
    try {
      return await work();
    } finally {
      await unlink(lockPath).catch(() => undefined);
    }
  }
}

/**
 * Reads the complete lines appended since `shard.scanned` (by any writer) into `shard.gameIds`, and
 * cuts a torn last line: under the lock no live writer is mid-append, so it is a crashed one's.
 */
async function catchUp(shard: Shard, handle: FileHandle): Promise<void> {
  const { size } = await handle.stat();
  if (size < shard.scanned) {
    shard.gameIds.clear();
    shard.scanned = 0;
  }
  if (size === shard.scanned) return;
  const buffer = Buffer.alloc(size - shard.scanned);
  let read = 0;
  while (read < buffer.length) {
    const { bytesRead } = await handle.read(buffer, read, buffer.length - read, shard.scanned + read);
    if (bytesRead === 0) break;
    read += bytesRead;
  }
  const end = read === 0 ? 0 : buffer.lastIndexOf(0x0a, read - 1) + 1;
  for (const line of buffer.subarray(0, end).toString('utf8').split('\n')) {
    if (line === '') continue;
    const gameId = (JSON.parse(line) as { metadata?: { game_id?: unknown } }).metadata?.game_id;
    if (typeof gameId === 'string') shard.gameIds.add(gameId);
  }
  shard.scanned += end;
  // Bytes after the last newline: a torn line.
  if (shard.scanned < size) await handle.truncate(shard.scanned);
}
