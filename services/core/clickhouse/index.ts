/**
 * ClickHouse for dialog-games: the connection (pinned settings, retriable errors), SQL literals,
 * migrations and the batching writer. The sink's tables and row mapping live in services/sink, the
 * analytics queries in services/analytics.
 */
export * from './batch-writer';
export * from './client';
export * from './errors';
export * from './migrate';
export * from './migrations';
export * from './split-statements';
export * from './sql';
export * from './table-spec';
