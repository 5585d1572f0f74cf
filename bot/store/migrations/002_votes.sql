-- Reactions as an append-only log, the votes derived from it, blind mode and the install salt.

CREATE TABLE install (
    key    TEXT PRIMARY KEY,
    value  TEXT NOT NULL
);

-- Blind comparisons show the sides as A and B; shown_first says which role is A.
ALTER TABLE comparisons ADD COLUMN blind INTEGER NOT NULL DEFAULT 0;
ALTER TABLE comparisons ADD COLUMN shown_first TEXT NOT NULL DEFAULT 'base'
    CHECK (shown_first IN ('base', 'instruct'));
ALTER TABLE comparisons ADD COLUMN revealed_at TEXT;

CREATE TABLE reactions (
    id             INTEGER PRIMARY KEY,
    platform       TEXT    NOT NULL,
    comparison_id  INTEGER NOT NULL REFERENCES comparisons (id),
    channel_id     TEXT    NOT NULL,
    message_id     TEXT    NOT NULL,
    role           TEXT    CHECK (role IN ('base', 'instruct')),
    user_key       TEXT    NOT NULL,
    emoji          TEXT    NOT NULL,
    action         TEXT    NOT NULL CHECK (action IN ('added', 'removed')),
    -- twinbot's own seeded reactions and other bots': logged, never counted.
    by_bot         INTEGER NOT NULL DEFAULT 0,
    occurred_at    TEXT    NOT NULL,
    recorded_at    TEXT    NOT NULL
);

CREATE INDEX reactions_by_comparison_user ON reactions (comparison_id, user_key);

-- Derived from `reactions` by bot.votes; rebuilt at will with `twinbot votes --recompute`.
CREATE TABLE votes (
    comparison_id  INTEGER NOT NULL REFERENCES comparisons (id),
    user_key       TEXT    NOT NULL,
    choice         TEXT    NOT NULL
                   CHECK (choice IN ('base_better', 'instruct_better', 'tie', 'both_bad')),
    blind          INTEGER NOT NULL,
    reaction_id    INTEGER NOT NULL REFERENCES reactions (id),
    voted_at       TEXT    NOT NULL,
    PRIMARY KEY (comparison_id, user_key)
);
