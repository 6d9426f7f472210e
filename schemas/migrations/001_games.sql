-- One row per finished game, written by the sink from GameCurated.
-- Idempotence: ReplacingMergeTree keeps one row per ORDER BY key (game_id) within a partition, the
-- one with the highest row_version (curated_at_ms of the event), so a redelivered or replayed event
-- collapses into the existing row and a later re-curation replaces it. The partition comes from
-- requested_at, fixed per game, so every copy of a game lands in the same partition. Merges are
-- eventual: read with FINAL (or argMax) to count each game once.
-- Runs on ClickHouse 18.16 and current releases: DateTime + UInt64 *_ms columns (no DateTime64),
-- Enum8 for the closed sets of the Avro contracts, plain String instead of LowCardinality.
CREATE TABLE IF NOT EXISTS {{database}}.games
(
    game_id String,
    run_id String,
    iteration Int32,
    dataset String,
    seed Int64,
    sampler String,
    num_candidates UInt8,
    candidate_ids Array(String) COMMENT 'candidate image ids in the questioner''s display order',
    target_index UInt8 COMMENT 'index of the target in candidate_ids',
    target_id String,
    max_turns UInt16 COMMENT 'questions allowed before the questioner must guess',
    question_mode Enum8('yesno' = 1, 'open' = 2),
    describe_first UInt8,

    questioner_endpoint String,
    questioner_model String,
    questioner_prompt_version String,
    questioner_temperature Float64,
    questioner_top_p Nullable(Float64),
    questioner_max_tokens UInt32,
    answerer_endpoint String,
    answerer_model String,
    answerer_prompt_version String,
    answerer_temperature Float64,
    answerer_top_p Nullable(Float64),
    answerer_max_tokens UInt32,

    turns_used UInt16 COMMENT 'transcript length: questions, answers and the opening description',
    questions_asked UInt16,
    ending_kind Enum8('guess' = 1, 'no_guess' = 2, 'turn_limit' = 3, 'unparseable_output' = 4, 'model_error' = 5, 'bad_image' = 6, 'timeout' = 7, 'rule_violation' = 8),
    ended_by Enum8('questioner' = 1, 'answerer' = 2, 'launcher' = 3, 'referee' = 4),
    raw_guess Nullable(String),
    guessed_index Nullable(Int32),
    guessed_image_id Nullable(String),
    error_message Nullable(String),

    verdict Enum8('success' = 1, 'failure' = 2),
    failure_reason Enum8('' = 0, 'wrong_guess' = 1, 'no_guess' = 2, 'turn_limit' = 3, 'unparseable_output' = 4, 'model_error' = 5, 'timeout' = 6, 'rule_violation' = 7) COMMENT 'empty on success',
    judgement_detail String,
    referee_version String,

    kept UInt8,
    filter_reasons Array(String),
    filter_version String,
    transcript_hash String,

    questioner_prompt_tokens UInt32,
    questioner_completion_tokens UInt32,
    answerer_prompt_tokens UInt32,
    answerer_completion_tokens UInt32,
    questioner_cost_usd Float64,
    answerer_cost_usd Float64,
    cost_usd Float64,
    questioner_latency_ms UInt64 COMMENT 'sum over the questioner''s model calls, guess included',
    answerer_latency_ms UInt64,

    requested_at_ms UInt64,
    requested_at DateTime('UTC') DEFAULT toDateTime(intDiv(requested_at_ms, 1000), 'UTC'),
    deadline_at_ms UInt64,
    ended_at_ms UInt64,
    ended_at DateTime('UTC') DEFAULT toDateTime(intDiv(ended_at_ms, 1000), 'UTC'),
    judged_at_ms UInt64,
    curated_at_ms UInt64,
    inserted_at DateTime('UTC') DEFAULT now(),

    source_topic String COMMENT 'Kafka coordinates of the event this row came from',
    source_partition Int32,
    source_offset Int64,
    row_version UInt64 COMMENT 'curated_at_ms of the source event; the highest wins'
)
ENGINE = ReplacingMergeTree(row_version)
PARTITION BY toYYYYMM(requested_at)
ORDER BY game_id;
