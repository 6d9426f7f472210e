/** The analytics queries over the sink's tables: dg stats, the live view, the dashboard and run summaries. */
export * from './call-analytics';
export * from './game-analytics';
