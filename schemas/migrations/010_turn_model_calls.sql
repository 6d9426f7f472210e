-- Per turn, the model call as really sent and what it cost (issue 6 defect 4, issue 7 item 5):
-- the spec the role sent (its endpoint and sampling, the game's model and prompt version), cached
-- prompt tokens when the endpoint reports them, model calls (2 with a repair attempt), retries by
-- cause, and the prices per 1M tokens the cost was computed with. Plain columns (no DEFAULT): rows
-- written before this migration read 0 / '' / NULL.
-- One ALTER (18.16 has no ADD COLUMN IF NOT EXISTS): its actions apply together or not at all, so
-- a failed run leaves nothing behind and the file runs again from the top.
ALTER TABLE {{database}}.turns
    ADD COLUMN endpoint String,
    ADD COLUMN prompt_version String,
    ADD COLUMN temperature Float64,
    ADD COLUMN top_p Nullable(Float64),
    ADD COLUMN max_tokens UInt32,
    ADD COLUMN cached_tokens UInt32,
    ADD COLUMN model_calls UInt16,
    ADD COLUMN price_prompt_per_mtok Float64,
    ADD COLUMN price_completion_per_mtok Float64,
    ADD COLUMN retries_rate_limited UInt32,
    ADD COLUMN retries_unavailable UInt32,
    ADD COLUMN retries_server_error UInt32,
    ADD COLUMN retries_connection UInt32,
    ADD COLUMN retries_timeout UInt32,
    ADD COLUMN retries_other UInt32
