"""Where the database file goes, and the one folder twinbot may create for it."""

from __future__ import annotations

from pathlib import Path

from bot.config import Settings, default_database_path
from bot.store.sqlite import StoreError


def database_file(settings: Settings) -> Path:
    """The database path to open. Only twinbot's own default folder (the platform's user data
    folder) is created on demand, private to the user; a folder the operator named must exist,
    so a typo like /nonexistent/db is one clear error instead of a stray tree."""
    path = settings.database_path
    if path == default_database_path():
        try:
            path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        except OSError as exc:
            raise StoreError(
                f"Cannot create {path.parent} for the database: {exc.strerror or exc}; "
                "set TWINBOT_DATABASE_PATH to a writable file"
            ) from None
    return path
