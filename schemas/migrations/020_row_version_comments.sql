-- Documentation only: row_version is not the bare curated_at_ms the first migrations' comments say.
-- It is curated_at_ms, plus 2^42 when the game's ending came from play (not a launcher's timeout
-- fallback), so a played ending replaces a fallback whatever the order the two arrive in
-- (services/core/clickhouse/game-rows.ts, rowVersion). Comments only; runs twice harmlessly.
ALTER TABLE {{database}}.games COMMENT COLUMN row_version 'curated_at_ms of the source event, + 2^42 when the ending came from play (not a launcher timeout fallback); the highest wins';
ALTER TABLE {{database}}.turns COMMENT COLUMN row_version 'curated_at_ms of the source event, + 2^42 when the ending came from play (not a launcher timeout fallback); the highest wins';
ALTER TABLE {{database}}.filter_decisions COMMENT COLUMN row_version 'curated_at_ms of the source event, + 2^42 when the ending came from play (not a launcher timeout fallback); the highest wins';
