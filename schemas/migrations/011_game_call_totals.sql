-- Per game, totals over every model call of both roles, the ending's call included (a guess, or a
-- late, unparseable or failed call: issue 6 defect 10): cached tokens, model calls, retries by cause,
-- and each role's prices per 1M tokens, so cost per kept game per iteration is one query.
-- (The bad_input enum values are in 012.)
-- One ALTER (18.16 has no ADD COLUMN IF NOT EXISTS): its actions apply together or not at all, so
-- a failed run leaves nothing behind and the file runs again from the top.
ALTER TABLE {{database}}.games
    ADD COLUMN questioner_cached_tokens UInt32,
    ADD COLUMN answerer_cached_tokens UInt32,
    ADD COLUMN questioner_model_calls UInt32,
    ADD COLUMN answerer_model_calls UInt32,
    ADD COLUMN questioner_price_prompt_per_mtok Float64,
    ADD COLUMN questioner_price_completion_per_mtok Float64,
    ADD COLUMN answerer_price_prompt_per_mtok Float64,
    ADD COLUMN answerer_price_completion_per_mtok Float64,
    ADD COLUMN retries_rate_limited UInt32,
    ADD COLUMN retries_unavailable UInt32,
    ADD COLUMN retries_server_error UInt32,
    ADD COLUMN retries_connection UInt32,
    ADD COLUMN retries_timeout UInt32,
    ADD COLUMN retries_other UInt32
