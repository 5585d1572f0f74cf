"""`twinbot backup` and `twinbot restore`: copy the SQLite database while the bot runs, and back.

Both go through SQLite's online backup API rather than a file copy: a copy of a live WAL
database can miss the transactions still in the `-wal` file or catch a page half-written, and
a restored file sitting next to a stale `-wal` can be silently corrupted.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from bot.config import Settings
from bot.errors import TwinbotError


class BackupError(TwinbotError):
    kind = "backup"


@dataclass(frozen=True, slots=True)
class BackupInfo:
    path: Path
    size_bytes: int
    schema_version: int
    previous: Path | None = None  # restore only: where the replaced database was saved


def backup_database(source: Path, target: Path) -> BackupInfo:
    """Copy `source` to `target` (a file, or a folder to put a dated file in), consistently.

    Safe while twinbot writes: the copy is one snapshot, taken in one step. A step-wise backup
    restarts whenever another connection writes between steps, so on a busy bot it might never
    end; one step holds a read snapshot instead, which in WAL mode blocks no writer.
    """
    if not source.is_file():
        raise BackupError(f"There is no database at {source} (TWINBOT_DATABASE_PATH).")
    if target.is_dir():
        target = target / f"twinbot-{datetime.now(UTC):%Y%m%d-%H%M%S}.sqlite3"
    if target.exists() and target.resolve() == source.resolve():
        raise BackupError(f"Refusing to back up {source} onto itself.")
    target.parent.mkdir(parents=True, exist_ok=True)
    # Written beside the target and renamed at the end: a failed backup never leaves a
    # half-written file under the name an operator will restore from.
    partial = target.with_name(f".{target.name}.partial")
    partial.unlink(missing_ok=True)
    try:
        with _connect(source) as live, _connect(partial) as copy:
            live.backup(copy)
            # A self-contained file: no -wal beside it, readable with any sqlite3 tool.
            copy.execute("PRAGMA journal_mode = DELETE")
            version = _verify(copy, partial)
        with partial.open("rb") as written:
            os.fsync(written.fileno())
        os.replace(partial, target)
    except sqlite3.Error as exc:
        raise BackupError(f"Backing up {source} to {target} failed: {exc}") from None
    finally:
        partial.unlink(missing_ok=True)
    return BackupInfo(target, target.stat().st_size, version)


def restore_database(backup: Path, target: Path) -> BackupInfo:
    """Replace the database at `target` with `backup`. Stop twinbot first.

    The current file, if any, is first saved as `<target>.before-restore`. The backup is written
    through SQLite, so a `-wal` file left beside `target` is replaced along with the data
    instead of being replayed over it.
    """
    if not backup.is_file():
        raise BackupError(f"There is no backup file at {backup}.")
    try:
        with _connect(backup) as source:
            version = _verify(source, backup)
    except sqlite3.DatabaseError as exc:  # "file is not a database", among others
        raise BackupError(f"{backup} is not a usable twinbot backup: {exc}") from None
    previous = None
    if target.exists():
        previous = backup_database(target, target.with_name(f"{target.name}.before-restore")).path
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        with _connect(backup) as source, _connect(target) as live:
            source.backup(live)
    except sqlite3.Error as exc:
        raise BackupError(f"Restoring {backup} to {target} failed: {exc}") from None
    return BackupInfo(target, target.stat().st_size, version, previous)


@contextlib.contextmanager
def _connect(path: Path) -> Iterator[sqlite3.Connection]:
    connection = sqlite3.connect(path, isolation_level=None)
    try:
        connection.execute("PRAGMA busy_timeout = 5000")
        yield connection
    finally:
        connection.close()


def _verify(connection: sqlite3.Connection, path: Path) -> int:
    """The schema version, after SQLite's own integrity check passes."""
    [result] = connection.execute("PRAGMA integrity_check").fetchone()
    if result != "ok":
        raise BackupError(f"{path} failed SQLite's integrity check: {result}")
    [version] = connection.execute("PRAGMA user_version").fetchone()
    return int(version)


# --- the command line: the CLI calls these two ---------------------------------------------------


def add_backup_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    backup = commands.add_parser(
        "backup", help="copy the database to FILE (or a dated file in a folder) while twinbot runs"
    )
    backup.add_argument("file", type=Path, help="where to write the copy")
    restore = commands.add_parser(
        "restore", help="replace the database with a backup FILE (stop twinbot first)"
    )
    restore.add_argument("file", type=Path, help="the backup to restore")


def run_backup_command(settings: Settings, args: argparse.Namespace) -> int:
    """Run `backup` or `restore`; a failure raises BackupError (one line for the user)."""
    database = settings.database_path
    if args.command == "backup":
        info = backup_database(database, args.file)
        print(f"twinbot: backed up {database} to {info.path} ({_size(info)})")
    else:
        info = restore_database(args.file, database)
        print(f"twinbot: restored {args.file} to {database} ({_size(info)})")
        if info.previous is not None:
            print(f"twinbot: the database it replaced is kept as {info.previous}")
    return 0


def _size(info: BackupInfo) -> str:
    return f"{info.size_bytes / 1e6:.1f} MB, schema v{info.schema_version}"
