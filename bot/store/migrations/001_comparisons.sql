-- Comparisons, the two outputs of each, and every platform message that belongs to one.

CREATE TABLE comparisons (
    id              INTEGER PRIMARY KEY,
    created_at      TEXT    NOT NULL,
    finished_at     TEXT,
    status          TEXT    NOT NULL DEFAULT 'running'
                    CHECK (status IN ('running', 'done', 'interrupted')),
    platform        TEXT    NOT NULL,
    workspace_id    TEXT,
    channel_id      TEXT,
    thread_id       TEXT,
    requester_id    TEXT    NOT NULL,
    requester_name  TEXT    NOT NULL DEFAULT '',
    prompt          TEXT    NOT NULL,
    pair            TEXT    NOT NULL,
    base_model      TEXT    NOT NULL,
    instruct_model  TEXT    NOT NULL,
    framing         TEXT    NOT NULL,
    framed_prompt   TEXT    NOT NULL,
    stop_json       TEXT    NOT NULL,
    options_json    TEXT    NOT NULL
);

CREATE INDEX comparisons_by_created ON comparisons (created_at);

CREATE TABLE outputs (
    comparison_id      INTEGER NOT NULL REFERENCES comparisons (id),
    role               TEXT    NOT NULL CHECK (role IN ('base', 'instruct')),
    model              TEXT    NOT NULL,
    status             TEXT    NOT NULL CHECK (status IN ('done', 'failed', 'cancelled')),
    text               TEXT    NOT NULL,
    error_kind         TEXT,
    error              TEXT,
    done_reason        TEXT,
    eval_count         INTEGER,
    eval_duration_ns   INTEGER,
    prompt_eval_count  INTEGER,
    total_duration_ns  INTEGER,
    load_duration_ns   INTEGER,
    first_token_s      REAL,
    wall_s             REAL,
    finished_at        TEXT    NOT NULL,
    PRIMARY KEY (comparison_id, role)
);

-- role is NULL for a message that shows both sides (the parent, or a combined view).
CREATE TABLE messages (
    platform       TEXT    NOT NULL,
    channel_id     TEXT    NOT NULL,
    message_id     TEXT    NOT NULL,
    comparison_id  INTEGER NOT NULL REFERENCES comparisons (id),
    role           TEXT    CHECK (role IN ('base', 'instruct')),
    part           INTEGER NOT NULL DEFAULT 0,
    kind           TEXT    NOT NULL DEFAULT 'output',
    created_at     TEXT    NOT NULL,
    PRIMARY KEY (platform, channel_id, message_id)
);

CREATE INDEX messages_by_comparison ON messages (comparison_id);
