"""All of twinbot's SQL: the comparisons, their outputs and their platform messages."""

from __future__ import annotations

import asyncio
import json
import logging
import sqlite3
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import Any, Self

import aiosqlite

from bot.domain import CompareRequest, Role, SideSnapshot, SideStatus
from bot.errors import TwinbotError

log = logging.getLogger(__name__)

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"


class StoreError(TwinbotError):
    kind = "store"


def utc_now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


@dataclass(frozen=True, slots=True)
class Migration:
    version: int
    name: str
    sql: str


def load_migrations(directory: Path = MIGRATIONS_DIR) -> list[Migration]:
    migrations = []
    for path in sorted(directory.glob("*.sql")):
        number, _, name = path.stem.partition("_")
        if not number.isdigit():
            raise StoreError(f"{path}: migration files are named NNN_name.sql")
        migrations.append(Migration(int(number), name, path.read_text(encoding="utf-8")))
    versions = [m.version for m in migrations]
    if versions != list(range(1, len(versions) + 1)):
        raise StoreError(f"{directory}: migrations must be numbered 1, 2, 3… without gaps")
    return migrations


@dataclass(frozen=True, slots=True)
class MessageRef:
    comparison_id: int
    role: Role | None
    part: int
    kind: str


class Store:
    """One aiosqlite connection in WAL mode; a lock keeps multi-statement writes whole."""

    def __init__(self, db: aiosqlite.Connection, path: Path) -> None:
        self._db = db
        self.path = path
        self._write_lock = asyncio.Lock()

    @classmethod
    async def open(cls, path: Path) -> Self:
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            # isolation_level=None: we issue BEGIN/COMMIT ourselves, nothing implicit.
            db = await aiosqlite.connect(path, isolation_level=None)
        except sqlite3.Error as exc:
            raise StoreError(f"Cannot open the database {path}: {exc}") from None
        store = cls(db, path)
        try:
            db.row_factory = aiosqlite.Row
            await db.execute("PRAGMA journal_mode = WAL")
            await db.execute("PRAGMA synchronous = NORMAL")
            await db.execute("PRAGMA foreign_keys = ON")
            await db.execute("PRAGMA busy_timeout = 5000")
            await store.migrate()
        except BaseException:
            await db.close()
            raise
        return store

    async def close(self) -> None:
        await self._db.close()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    async def schema_version(self) -> int:
        async with self._db.execute("PRAGMA user_version") as cursor:
            row = await cursor.fetchone()
        return int(row[0]) if row else 0

    async def migrate(self, migrations: list[Migration] | None = None) -> int:
        """Apply every migration newer than `user_version`, all in one transaction."""
        pending_all = load_migrations() if migrations is None else migrations
        current = await self.schema_version()
        pending = [m for m in pending_all if m.version > current]
        if not pending:
            return current
        target = pending[-1].version
        script = "\n".join(m.sql for m in pending)
        try:
            # executescript runs the BEGIN..COMMIT as written: all migrations land or none.
            await self._db.executescript(
                f"BEGIN;\n{script}\nPRAGMA user_version = {int(target)};\nCOMMIT;"
            )
        except sqlite3.Error as exc:
            if self._db.in_transaction:
                await self._db.rollback()
            raise StoreError(f"Migrating {self.path} to version {target} failed: {exc}") from None
        log.info("database %s migrated from version %d to %d", self.path, current, target)
        return target

    @asynccontextmanager
    async def _transaction(self) -> AsyncIterator[aiosqlite.Connection]:
        async with self._write_lock:
            await self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                await self._db.rollback()
                raise
            else:
                await self._db.commit()

    async def check_writable(self) -> None:
        """Prove a write would land, without leaving one behind."""
        async with self._write_lock:
            await self._db.execute("BEGIN IMMEDIATE")
            await self._db.rollback()

    async def create_comparison(self, request: CompareRequest) -> int:
        who = request.requester
        async with self._transaction() as db:
            cursor = await db.execute(
                """INSERT INTO comparisons (created_at, platform, workspace_id, channel_id,
                       requester_id, requester_name, prompt, pair, base_model, instruct_model,
                       framing, framed_prompt, stop_json, options_json)
                   VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""",
                (
                    utc_now(),
                    who.platform,
                    who.workspace_id,
                    who.channel_id,
                    who.user_id,
                    who.user_name,
                    request.prompt,
                    request.pair.name,
                    request.pair.base,
                    request.pair.instruct,
                    request.framing.name,
                    request.framed_prompt,
                    json.dumps(list(request.framing.stop)),
                    json.dumps(request.options.as_dict()),
                ),
            )
            comparison_id = cursor.lastrowid
        if comparison_id is None:
            raise StoreError("SQLite returned no id for the new comparison")
        return comparison_id

    async def save_output(self, comparison_id: int, side: SideSnapshot) -> None:
        if side.status not in (SideStatus.DONE, SideStatus.FAILED, SideStatus.CANCELLED):
            raise ValueError(f"only finished sides are stored, not {side.status}")
        s = side.stats
        async with self._transaction() as db:
            await db.execute(
                """INSERT OR REPLACE INTO outputs (comparison_id, role, model, status, text,
                       error_kind, error, done_reason, eval_count, eval_duration_ns,
                       prompt_eval_count, total_duration_ns, load_duration_ns, first_token_s,
                       wall_s, finished_at)
                   VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""",
                (
                    comparison_id,
                    side.role.value,
                    side.model,
                    side.status.value,
                    side.text,
                    side.error_kind,
                    side.error,
                    s.done_reason,
                    s.eval_count,
                    s.eval_duration_ns,
                    s.prompt_eval_count,
                    s.total_duration_ns,
                    s.load_duration_ns,
                    s.first_token_s,
                    s.wall_s,
                    utc_now(),
                ),
            )

    async def finish_comparison(self, comparison_id: int, status: str) -> None:
        async with self._transaction() as db:
            await db.execute(
                "UPDATE comparisons SET status = ?, finished_at = ? WHERE id = ?",
                (status, utc_now(), comparison_id),
            )

    async def set_thread(self, comparison_id: int, thread_id: str) -> None:
        async with self._transaction() as db:
            await db.execute(
                "UPDATE comparisons SET thread_id = ? WHERE id = ?", (thread_id, comparison_id)
            )

    async def add_message(
        self,
        comparison_id: int,
        platform: str,
        channel_id: str,
        message_id: str,
        *,
        role: Role | None = None,
        part: int = 0,
        kind: str = "output",
    ) -> None:
        async with self._transaction() as db:
            await db.execute(
                """INSERT OR IGNORE INTO messages (platform, channel_id, message_id,
                       comparison_id, role, part, kind, created_at)
                   VALUES (?, ?, ?, ?, ?, ?, ?, ?)""",
                (
                    platform,
                    channel_id,
                    message_id,
                    comparison_id,
                    None if role is None else role.value,
                    part,
                    kind,
                    utc_now(),
                ),
            )

    async def message_ref(
        self, platform: str, channel_id: str, message_id: str
    ) -> MessageRef | None:
        async with self._db.execute(
            """SELECT comparison_id, role, part, kind FROM messages
               WHERE platform = ? AND channel_id = ? AND message_id = ?""",
            (platform, channel_id, message_id),
        ) as cursor:
            row = await cursor.fetchone()
        if row is None:
            return None
        role = None if row["role"] is None else Role(row["role"])
        return MessageRef(row["comparison_id"], role, row["part"], row["kind"])

    async def comparison(self, comparison_id: int) -> dict[str, Any] | None:
        async with self._db.execute(
            "SELECT * FROM comparisons WHERE id = ?", (comparison_id,)
        ) as cursor:
            row = await cursor.fetchone()
        return None if row is None else dict(row)

    async def outputs(self, comparison_id: int) -> dict[Role, dict[str, Any]]:
        async with self._db.execute(
            "SELECT * FROM outputs WHERE comparison_id = ?", (comparison_id,)
        ) as cursor:
            rows = await cursor.fetchall()
        return {Role(row["role"]): dict(row) for row in rows}
