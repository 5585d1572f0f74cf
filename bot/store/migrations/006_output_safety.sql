-- The safety gate's verdict on each side of a comparison, as the channel showed it: a dataset
-- export flags (and by default leaves out) text that was withheld, which no voter saw.
-- A table of its own: `outputs` rows are replaced whole when a side is saved again.

CREATE TABLE output_safety (
    comparison_id  INTEGER NOT NULL REFERENCES comparisons (id),
    role           TEXT    NOT NULL CHECK (role IN ('base', 'instruct')),
    mode           TEXT    NOT NULL CHECK (mode IN ('label', 'spoiler', 'withhold')),
    status         TEXT    NOT NULL
                   CHECK (status IN ('pending', 'clear', 'unsafe', 'unavailable')),
    categories     TEXT    NOT NULL DEFAULT '',
    -- 1 when the channel showed none of this side's text (withhold mode, unsafe or unjudged).
    withheld       INTEGER NOT NULL,
    recorded_at    TEXT    NOT NULL,
    PRIMARY KEY (comparison_id, role)
);
