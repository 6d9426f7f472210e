-- Every filter decision, kept or not, with its reasons and filter version. A replay through a new
-- filter version adds rows (key includes filter_version); the same decision delivered again
-- collapses (ReplacingMergeTree, highest row_version wins).
CREATE TABLE IF NOT EXISTS {{database}}.filter_decisions
(
    game_id String,
    run_id String,
    iteration Int32,
    filter_version String,
    kept UInt8,
    reasons Array(String) COMMENT 'rule ids that rejected the game; empty when kept',
    verdict Enum8('success' = 1, 'failure' = 2),
    transcript_hash String,
    curated_at_ms UInt64,
    curated_at DateTime('UTC') DEFAULT toDateTime(intDiv(curated_at_ms, 1000), 'UTC'),
    game_requested_at_ms UInt64,
    inserted_at DateTime('UTC') DEFAULT now(),

    source_topic String,
    source_partition Int32,
    source_offset Int64,
    row_version UInt64 COMMENT 'curated_at_ms of the source event; the highest wins'
)
ENGINE = ReplacingMergeTree(row_version)
PARTITION BY toYYYYMM(toDateTime(intDiv(game_requested_at_ms, 1000), 'UTC'))
ORDER BY (game_id, filter_version);
