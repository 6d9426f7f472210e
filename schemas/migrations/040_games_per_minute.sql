-- Per-minute series for the dashboard and Grafana: games finished, succeeded, kept, model calls,
-- tokens and cost per minute of ended_at, by run, iteration, models, dataset, candidates and failure
-- reason ('' on success). Fed by a materialized view on every insert into games, so reading a
-- minute costs a few rows instead of a scan of games FINAL.
-- Idempotence: the sink may insert a game twice (redelivery, replay). Game counts are uniqExact
-- states of game_id, so a redelivered game still counts once; the sums (model calls, tokens, cost)
-- would count it twice and are meant for charts, not accounting (the API's totals read games FINAL).
-- The view sees only rows inserted after it exists (no POPULATE: it would double-count if re-run).
-- Runs on ClickHouse 18.16 and current releases: AggregatingMergeTree with -State/-Merge, no TTL.
CREATE TABLE IF NOT EXISTS {{database}}.games_per_minute
(
    minute_start DateTime('UTC'),
    run_id String,
    iteration Int32,
    questioner_model String,
    answerer_model String,
    dataset String,
    num_candidates UInt8,
    failure_reason String COMMENT 'empty on success',
    games AggregateFunction(uniqExact, String),
    succeeded AggregateFunction(uniqExactIf, String, UInt8),
    kept AggregateFunction(uniqExactIf, String, UInt8),
    model_calls AggregateFunction(sum, UInt64) COMMENT 'questions, answers and descriptions, plus the guess',
    tokens AggregateFunction(sum, UInt64),
    cost_usd AggregateFunction(sum, Float64)
)
ENGINE = AggregatingMergeTree()
PARTITION BY toYYYYMM(minute_start)
ORDER BY (minute_start, run_id, iteration, questioner_model, answerer_model, dataset, num_candidates, failure_reason);

CREATE MATERIALIZED VIEW IF NOT EXISTS {{database}}.games_per_minute_mv TO {{database}}.games_per_minute
AS SELECT
    toStartOfMinute(toDateTime(intDiv(ended_at_ms, 1000), 'UTC')) AS minute_start,
    run_id,
    iteration,
    questioner_model,
    answerer_model,
    dataset,
    num_candidates,
    toString(failure_reason) AS failure_reason,
    uniqExactState(game_id) AS games,
    uniqExactIfState(game_id, toUInt8(verdict = 'success')) AS succeeded,
    uniqExactIfState(game_id, toUInt8(kept = 1)) AS kept,
    sumState(toUInt64(turns_used) + if(ending_kind = 'guess', 1, 0)) AS model_calls,
    sumState(toUInt64(questioner_prompt_tokens) + questioner_completion_tokens + answerer_prompt_tokens + answerer_completion_tokens) AS tokens,
    sumState(cost_usd) AS cost_usd
FROM {{database}}.games
GROUP BY minute_start, run_id, iteration, questioner_model, answerer_model, dataset, num_candidates, failure_reason;
