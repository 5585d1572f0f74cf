-- The alignment lens's views of a comparison (issue 17), one row each. Every view is a kind and
-- a JSON payload carrying its own format version: the next-token distributions now; sampled
-- answers and token shift fit the same row, so a new view needs no new table.

CREATE TABLE lens_views (
    id             INTEGER PRIMARY KEY,
    comparison_id  INTEGER NOT NULL REFERENCES comparisons (id),
    kind           TEXT    NOT NULL,  -- 'next_token'; later e.g. 'samples', 'token_shift'
    payload_json   TEXT    NOT NULL,
    requests       INTEGER NOT NULL DEFAULT 0,  -- model requests the view cost
    seconds        REAL,                        -- and the wall time it took
    created_at     TEXT    NOT NULL
);

CREATE INDEX lens_views_by_comparison ON lens_views (comparison_id);
