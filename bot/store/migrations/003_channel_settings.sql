-- Per-channel choices an admin makes on the platform (the safety gate's mode, for now).

CREATE TABLE channel_settings (
    platform     TEXT NOT NULL,
    channel_id   TEXT NOT NULL,
    safety_mode  TEXT CHECK (safety_mode IN ('off', 'label', 'spoiler', 'withhold')),
    updated_by   TEXT NOT NULL,
    updated_at   TEXT NOT NULL,
    PRIMARY KEY (platform, channel_id)
);
