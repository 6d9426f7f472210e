import type { GameCurated } from '../../../schemas/generated/events';
import { BatchWriter, BatchWriterOptions, InsertRows } from './batch-writer';
import { rowsFromCurated, type EventSource } from './game-rows';
import { FILTER_DECISIONS_TABLE, GAMES_TABLE, TURNS_TABLE } from './tables';

/**
 * The ClickHouse side of the sink: one GameCurated event becomes its games, turns and
 * filter_decisions rows, batched with other events. `write` resolves once all of the event's rows
 * are inserted, so the caller may then commit the event's offset; it rejects with the insert error
 * (retriable or not) otherwise. Writing the same event again is harmless (ReplacingMergeTree keys).
 */
export class CuratedGameWriter {
  private readonly writer: BatchWriter;

  constructor(insert: InsertRows, options: Partial<BatchWriterOptions> = {}) {
    this.writer = new BatchWriter(insert, options);
  }

  async write(event: GameCurated, source: EventSource): Promise<void> {
    const rows = rowsFromCurated(event, source);
    await Promise.all([
      this.writer.add(GAMES_TABLE, [rows.game]),
      this.writer.add(TURNS_TABLE, rows.turns),
      this.writer.add(FILTER_DECISIONS_TABLE, [rows.filterDecision]),
    ]);
  }

  flush(): Promise<void> {
    return this.writer.flush();
  }

  /** Flushes what is buffered; later writes reject with a retriable error (the event is redelivered). */
  close(): Promise<void> {
    return this.writer.close();
  }

  stats(): ReturnType<BatchWriter['stats']> {
    return this.writer.stats();
  }
}
