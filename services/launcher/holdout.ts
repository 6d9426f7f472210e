import { ClickHouseConnection, sql, table, type SqlExecutor } from '../core/clickhouse';
import type { DgConfig } from '../core/config';
import type { DatasetImage } from '../datasets/dataset';

/**
 * The training pool of a dataset: its images minus every image recorded in the eval split of an
 * eval set of that dataset (eval_sets.eval_image_ids), so games played for training never show an
 * evaluation image. A database without the eval_sets table (migration 030 not applied) has no
 * eval sets: the pool is the whole dataset.
 */
export async function trainingImages(
  ch: SqlExecutor,
  database: string,
  datasetName: string,
  images: readonly DatasetImage[],
): Promise<{ images: DatasetImage[]; heldOut: number }> {
  let rows: Array<{ id: string }>;
  try {
    rows = await ch.query<{ id: string }>(
      sql`SELECT DISTINCT arrayJoin(eval_image_ids) AS id FROM ${table(database, 'eval_sets')} FINAL WHERE dataset = ${datasetName}`,
    );
  } catch (err) {
    if (/Code: (60|81)\b|UNKNOWN_TABLE|UNKNOWN_DATABASE|doesn't exist/i.test((err as Error).message)) return { images: [...images], heldOut: 0 };
    throw err;
  }
  const held = new Set(rows.map((r) => r.id));
  const pool = images.filter((image) => !held.has(image.id));
  return { images: pool, heldOut: images.length - pool.length };
}

/** The dataset as training launches see it (dg play, dg start, dg iterate): eval images held out. */
export async function trainingDataset<D extends { name: string; images: DatasetImage[] }>(
  config: DgConfig,
  dataset: D,
  say?: (line: string) => void,
): Promise<D> {
  const ch = new ClickHouseConnection({ ...config.clickhouse });
  try {
    const pool = await trainingImages(ch, config.clickhouse.database, dataset.name, dataset.images);
    if (pool.heldOut > 0) say?.(`dataset ${dataset.name}: ${pool.heldOut} images held out for evaluation (eval split)`);
    return { ...dataset, images: pool.images };
  } finally {
    await ch.close();
  }
}
