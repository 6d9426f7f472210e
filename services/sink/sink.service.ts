import { Inject, Injectable, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { DG_CONFIG, type DgConfig } from '../core/config';
import { EventBus, type MessageContext } from '../core/bus';
import { NonRetriableError } from '../core/errors';
import { BatchWriter, ClickHouseConnection } from '../core/clickhouse';
import { FILTER_DECISIONS_TABLE, GAMES_TABLE, TURNS_TABLE } from './tables';
import { rowsFromCurated } from './game-rows';
import { roleGroupId, ROLE_INPUTS } from '../core/bus';
import { toFineTuningExample, loadPrompts } from '../game';
import type { GameCurated } from '../../schemas/generated/events';
import { DatasetWriter, exampleLine } from './dataset-writer';

export const SINK_CLICKHOUSE = Symbol('SINK_CLICKHOUSE');

/** Messages the sink handles at once, at least: many in flight is what lets the batch writer fill batches. */
export const SINK_MIN_IN_FLIGHT = 256;

/** Messages the sink handles at once. */
export function sinkInFlight(config: DgConfig): number {
  return Math.max(config.kafka.maxInFlight, SINK_MIN_IN_FLIGHT);
}

/**
 * How the sink batches its inserts (also what `dg bench` measures): a table's rows go when the batch
 * is full, when the oldest has waited the flush interval, or when half the messages in flight wait
 * for that table (few more can arrive before the interval, so a backlog is not slowed by it).
 * Behind a backlog, two full batches of a table are inserted at once.
 */
export function sinkWriterOptions(config: DgConfig): { maxBatchRows: number; flushIntervalMs: number; maxBatchCalls: number; maxInsertsInFlight: number } {
  return {
    maxBatchRows: config.sink.batchSize,
    flushIntervalMs: config.sink.flushIntervalMs,
    maxBatchCalls: Math.ceil(sinkInFlight(config) / 2),
    maxInsertsInFlight: SINK_INSERTS_IN_FLIGHT,
  };
}

/** Full batches of one table inserted at once: a backlog drains with ClickHouse parsing one while it writes another. */
export const SINK_INSERTS_IN_FLIGHT = 2;

/**
 * Writes every curated game to ClickHouse (games, turns, filter_decisions) and every kept game to
 * the dataset shards. A message is finished (its offset committable) only once its rows are inserted
 * and its example fsynced. Idempotent: rows collapse under ReplacingMergeTree keys, examples are
 * written once per game id.
 */
@Injectable()
export class SinkService implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly writer: BatchWriter;
  private readonly dataset: DatasetWriter;

  constructor(
    @Inject(DG_CONFIG) private readonly config: DgConfig,
    private readonly bus: EventBus,
    @Inject(SINK_CLICKHOUSE) private readonly clickhouse: ClickHouseConnection,
  ) {
    this.writer = new BatchWriter((table, rows, columns) => this.clickhouse.insert(table, rows, columns), sinkWriterOptions(config));
    this.dataset = new DatasetWriter(config.paths.dataDir);
  }

  async onApplicationBootstrap(): Promise<void> {
    await this.clickhouse.waitUntilReady({ timeoutMs: 30_000 });
    await this.bus.subscribe({
      groupId: roleGroupId(this.config.topics.prefix, 'sink'),
      topics: ROLE_INPUTS.sink,
      maxInFlight: sinkInFlight(this.config),
      handler: (event, ctx) => this.handle(event, ctx),
    });
  }

  async onApplicationShutdown(): Promise<void> {
    // The bus drains handlers first (it is shut down before this provider's dependants finish).
    await this.writer.close();
    await this.dataset.close();
    await this.clickhouse.close();
  }

  /**
   * Order of effects: every row and the fine-tuning example are built first, so a game that cannot
   * be built writes nothing (the message is dead-lettered with the cause) instead of landing in
   * ClickHouse as kept with no dataset line. Then every write is started and every one is awaited,
   * failures included, so none rejects unobserved.
   */
  async handle(event: GameCurated, ctx: MessageContext<'gameCurated'>): Promise<void> {
    const gameId = event.game.header.gameId;
    let built: { rows: ReturnType<typeof rowsFromCurated>; line: string | undefined };
    try {
      built = {
        rows: rowsFromCurated(event, { topic: ctx.topic, partition: ctx.partition, offset: ctx.offset }),
        // Evaluation games (header.evalSet) are measured, never trained on.
        line:
          event.curation.kept && event.game.header.evalSet === null
            ? exampleLine(gameId, toFineTuningExample(event, loadPrompts(event.game.setup.questioner.promptVersion)))
            : undefined,
      };
    } catch (err) {
      throw new NonRetriableError(`sink: cannot build the rows or the fine-tuning example of game ${gameId}, nothing written: ${errorMessage(err)}`, {
        cause: err,
      });
    }
    const { rows, line } = built;
    const writes: Array<Promise<unknown>> = [
      this.writer.add(GAMES_TABLE, [rows.game]),
      this.writer.add(TURNS_TABLE, rows.turns),
      this.writer.add(FILTER_DECISIONS_TABLE, [rows.filterDecision]),
    ];
    if (line !== undefined) writes.push(this.dataset.append(event.game.header.iteration, ctx.partition, gameId, line));
    const failed = (await Promise.allSettled(writes)).find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) throw failed.reason;
  }
}

function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
