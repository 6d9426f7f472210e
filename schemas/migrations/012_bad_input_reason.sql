-- The bad_input ending and failure reason (issue 6 defect 9): bad images and requests that cannot be
-- built are no longer judged model_error. Enum8 values are only added (old rows keep theirs); the
-- statement states the full type, so running it twice changes nothing.
ALTER TABLE {{database}}.games
    MODIFY COLUMN ending_kind Enum8('guess' = 1, 'no_guess' = 2, 'turn_limit' = 3, 'unparseable_output' = 4, 'model_error' = 5, 'bad_image' = 6, 'timeout' = 7, 'rule_violation' = 8, 'bad_input' = 9),
    MODIFY COLUMN failure_reason Enum8('' = 0, 'wrong_guess' = 1, 'no_guess' = 2, 'turn_limit' = 3, 'unparseable_output' = 4, 'model_error' = 5, 'timeout' = 6, 'rule_violation' = 7, 'bad_input' = 8)
