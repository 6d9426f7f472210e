/**
 * ClickHouse for dialog-games: the connection (pinned settings, retriable errors), SQL literals,
 * migrations, the batching writer, the sink's row mapping and the analytics queries.
 */
export * from './analytics';
export * from './batch-writer';
export * from './call-analytics';
export * from './client';
export * from './errors';
export * from './game-rows';
export * from './migrate';
export * from './migrations';
export * from './split-statements';
export * from './sql';
export * from './tables';
