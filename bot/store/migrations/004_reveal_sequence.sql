-- Where the blind reveal falls in the reaction log: the last reaction id logged before it.
-- A vote is blind when the reaction deciding it has an id at most this; log order cannot tie,
-- where two timestamps in the same millisecond could.
ALTER TABLE comparisons ADD COLUMN revealed_after_reaction INTEGER;

-- Comparisons revealed before this column existed: every reaction recorded up to the reveal.
UPDATE comparisons
SET revealed_after_reaction = (
    SELECT coalesce(max(r.id), 0) FROM reactions r WHERE r.recorded_at <= comparisons.revealed_at
)
WHERE revealed_at IS NOT NULL;
