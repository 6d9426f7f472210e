-- One row per utterance of a game's transcript, written by the sink with the game.
-- Idempotence as in games: ReplacingMergeTree on (game_id, turn_index), highest row_version wins;
-- partitioned by the game's request month so a game's turns and its games row are dropped together.
CREATE TABLE IF NOT EXISTS {{database}}.turns
(
    game_id String,
    run_id String,
    iteration Int32,
    turn_index UInt16,
    speaker Enum8('questioner' = 1, 'answerer' = 2),
    kind Enum8('question' = 1, 'answer' = 2, 'description' = 3),
    text String COMMENT 'parsed utterance as it entered the dialog',
    raw_output String COMMENT 'the model''s raw completion',
    model String COMMENT 'model of the speaking role',
    latency_ms UInt32,
    prompt_tokens UInt32,
    completion_tokens UInt32,
    cost_usd Float64,
    created_at_ms UInt64,
    created_at DateTime('UTC') DEFAULT toDateTime(intDiv(created_at_ms, 1000), 'UTC'),
    game_requested_at_ms UInt64,
    inserted_at DateTime('UTC') DEFAULT now(),

    source_topic String,
    source_partition Int32,
    source_offset Int64,
    row_version UInt64 COMMENT 'curated_at_ms of the source event; the highest wins'
)
ENGINE = ReplacingMergeTree(row_version)
PARTITION BY toYYYYMM(toDateTime(intDiv(game_requested_at_ms, 1000), 'UTC'))
ORDER BY (game_id, turn_index);
