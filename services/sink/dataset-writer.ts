import { mkdir, open, readFile, truncate, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { NonRetriableError } from '../core/errors';

/** Where the kept games of one iteration land: one JSONL shard per source partition. */
export function shardPath(dataDir: string, iteration: number, partition: number): string {
  return join(datasetDir(dataDir, iteration), `part-${String(partition).padStart(3, '0')}.jsonl`);
}

export function datasetDir(dataDir: string, iteration: number): string {
  return join(dataDir, 'dataset', `iteration-${iteration}`);
}

export type AppendOutcome = 'written' | 'duplicate';

interface Shard {
  gameIds: Set<string>;
  handle: FileHandle;
  /** Lines waiting for the next write, with their callers. */
  pending: Array<{ gameId: string; line: string; resolve: (o: AppendOutcome) => void; reject: (e: unknown) => void }>;
  writing: Promise<void> | undefined;
  /** A write failed part-way: reopen (cutting the torn line) before the next append. */
  broken: boolean;
}

/**
 * Appends fine-tuning examples to JSONL shards exactly once per game.
 *
 * A game's events all share one partition (keyed by game id), so each shard has one writer at a
 * time: the sink instance that owns that partition. On first use a shard's existing game ids are
 * read back (a torn last line from a crash is cut off), so a redelivered or replayed game is
 * recognised even after a restart or a rebalance. A line is fsynced before append() resolves, and the
 * sink commits the Kafka offset only after that: a crash can repeat work but never lose or double
 * an example.
 */
export class DatasetWriter {
  private readonly shards = new Map<string, Promise<Shard>>();

  constructor(private readonly dataDir: string) {}

  async append(iteration: number, partition: number, gameId: string, example: object): Promise<AppendOutcome> {
    const path = shardPath(this.dataDir, iteration, partition);
    let shardPromise = this.shards.get(path);
    if (shardPromise && (await shardPromise.catch(() => undefined))?.broken) {
      this.shards.delete(path);
      shardPromise = undefined;
    }
    if (!shardPromise) {
      shardPromise = openShard(path);
      this.shards.set(path, shardPromise);
      shardPromise.catch(() => this.shards.delete(path));
    }
    const shard = await shardPromise;
    if (shard.gameIds.has(gameId) || shard.pending.some((p) => p.gameId === gameId)) return 'duplicate';
    const line = JSON.stringify(example);
    if (line.includes('\n')) throw new NonRetriableError(`example for game ${gameId} serialised with a newline`);
    return new Promise<AppendOutcome>((resolve, reject) => {
      shard.pending.push({ gameId, line, resolve, reject });
      if (!shard.writing) shard.writing = writeLoop(shard);
    });
  }

  async close(): Promise<void> {
    const shards = await Promise.allSettled([...this.shards.values()]);
    this.shards.clear();
    for (const s of shards) {
      if (s.status !== 'fulfilled') continue;
      await s.value.writing;
      await s.value.handle.close();
    }
  }
}

async function openShard(path: string): Promise<Shard> {
  await mkdir(join(path, '..'), { recursive: true });
  const gameIds = new Set<string>();
  let text = '';
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  const complete = text.endsWith('\n') ? text : text.slice(0, text.lastIndexOf('\n') + 1);
  if (complete.length !== text.length) await truncate(path, Buffer.byteLength(complete));
  for (const line of complete.split('\n')) {
    if (line === '') continue;
    const gameId = (JSON.parse(line) as { metadata?: { game_id?: unknown } }).metadata?.game_id;
    if (typeof gameId === 'string') gameIds.add(gameId);
  }
  return { gameIds, handle: await open(path, 'a'), pending: [], writing: undefined, broken: false };
}

/** Group commit: every line queued while the previous write was in progress goes in the next one. */
async function writeLoop(shard: Shard): Promise<void> {
  while (shard.pending.length > 0) {
    const batch = shard.pending.splice(0, shard.pending.length);
    try {
      await shard.handle.appendFile(batch.map((p) => p.line + '\n').join(''), 'utf8');
      await shard.handle.datasync();
      for (const p of batch) {
        shard.gameIds.add(p.gameId);
        p.resolve('written');
      }
    } catch (err) {
      shard.broken = true;
      for (const p of [...batch, ...shard.pending.splice(0, shard.pending.length)]) p.reject(err);
      await shard.handle.close().catch(() => undefined);
    }
  }
  shard.writing = undefined;
}
