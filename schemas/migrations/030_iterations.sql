-- The self-improvement loop's durable records (dg eval, dg models, dg iterate, dg replay --version).
-- Every table is a ReplacingMergeTree keyed by its natural id with an increasing row_version, so a
-- record is upserted by inserting it again and read with FINAL; all statements are re-runnable.

-- Frozen evaluation sets: the game setups (candidates in display order, target) fixed at creation,
-- plus the recorded split of the dataset (eval images) that training launches leave out.
CREATE TABLE IF NOT EXISTS {{database}}.eval_sets
(
    name String,
    dataset String,
    seed Int64,
    games UInt32,
    num_candidates UInt8,
    max_turns UInt16,
    question_mode String,
    split_rule String COMMENT 'how eval images were chosen from the dataset',
    eval_image_ids Array(String) COMMENT 'the eval split: training launches never draw these',
    setups String COMMENT 'JSON array of the game setups, in order',
    setups_hash String COMMENT 'sha256 of setups',
    created_at_ms UInt64,
    row_version UInt64
)
ENGINE = ReplacingMergeTree(row_version)
ORDER BY name;

-- One row per play of an eval set (dg eval run): its run id, the models, and the result once known.
CREATE TABLE IF NOT EXISTS {{database}}.eval_runs
(
    eval_set String,
    run_id String,
    iteration Int32,
    questioner_model String,
    answerer_model String,
    games UInt32,
    judged UInt32,
    succeeded UInt32,
    success_rate Float64,
    ci_low Float64 COMMENT 'Wilson 95% interval',
    ci_high Float64,
    started_at_ms UInt64,
    finished_at_ms UInt64 COMMENT '0 while running',
    row_version UInt64
)
ENGINE = ReplacingMergeTree(row_version)
ORDER BY (eval_set, run_id);

-- The model registry: one row per model name, with its lineage and training data.
CREATE TABLE IF NOT EXISTS {{database}}.models
(
    name String,
    endpoint String,
    role String COMMENT 'questioner or answerer: the role it was trained for',
    parent String COMMENT 'empty for a base model',
    base_model String,
    iteration Int32 COMMENT 'k of M_k',
    train_iterations Array(Int32),
    train_view String,
    train_games UInt32,
    train_hash String COMMENT 'content hash of the exported training set',
    train_dir String,
    hook String COMMENT 'the fine-tune command that produced it',
    hook_output String COMMENT 'the JSON line the hook printed',
    created_at_ms UInt64,
    row_version UInt64
)
ENGINE = ReplacingMergeTree(row_version)
ORDER BY name;

-- dg iterate: where each loop is (iteration and step), so a killed loop resumes where it was.
CREATE TABLE IF NOT EXISTS {{database}}.iterate_loops
(
    loop_id String,
    spec String COMMENT 'JSON of the loop''s arguments',
    state String COMMENT 'JSON of its progress',
    updated_at_ms UInt64,
    row_version UInt64
)
ENGINE = ReplacingMergeTree(row_version)
ORDER BY loop_id;

-- dg replay referee --version V: verdicts of a re-judging under another rules version, next to the
-- live ones (key includes referee_version).
CREATE TABLE IF NOT EXISTS {{database}}.referee_decisions
(
    game_id String,
    run_id String,
    iteration Int32,
    referee_version String,
    verdict Enum8('success' = 1, 'failure' = 2),
    failure_reason String,
    judgement_detail String,
    judged_at_ms UInt64,
    game_requested_at_ms UInt64,
    source_topic String,
    source_partition Int32,
    source_offset Int64,
    row_version UInt64
)
ENGINE = ReplacingMergeTree(row_version)
PARTITION BY toYYYYMM(toDateTime(intDiv(game_requested_at_ms, 1000), 'UTC'))
ORDER BY (game_id, referee_version);
