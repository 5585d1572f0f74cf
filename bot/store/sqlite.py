"""All of twinbot's SQL: the comparisons, their outputs and their platform messages."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import logging
import secrets
import sqlite3
from collections import defaultdict
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import Any, Self

import aiosqlite

from bot.domain import CompareRequest, Role, SafetyMode, SafetyNote, SideSnapshot, SideStatus
from bot.errors import TwinbotError
from bot.votes.mapping import Choice, DerivedVote, ReactionEvent, Vocabulary, derive_vote

log = logging.getLogger(__name__)

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
_IN_CHUNK = 500  # user keys per IN (...) list, well under SQLite's bound-variable limit


class StoreError(TwinbotError):
    kind = "store"

    def __init__(self, message: str, reason: str = "the database failed") -> None:
        super().__init__(message)
        self.reason = reason  # short, for a sentence of our own


def utc_iso(moment: datetime) -> str:
    """One fixed format, so that comparing the strings compares the times."""
    return moment.astimezone(UTC).isoformat(timespec="milliseconds")


def utc_now() -> str:
    return utc_iso(datetime.now(UTC))


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


@dataclass(frozen=True, slots=True)
class ReactionInput:
    """One reaction event as the platform reported it, to be logged."""

    platform: str
    channel_id: str
    message_id: str
    user_id: str
    emoji: str
    added: bool
    by_bot: bool = False
    occurred_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class ReactionOutcome:
    """What one logged reaction did: the user's vote on that comparison afterwards."""

    comparison_id: int
    role: Role | None
    user_key: str
    by_requester: bool
    vote: DerivedVote | None
    changed: bool


# What one logged reaction did to its user's vote: changed?, the vote after it, the requester.
_Step = tuple[bool, DerivedVote | None, str]


@dataclass(frozen=True, slots=True)
class VoteRow:
    comparison_id: int
    platform: str
    channel_id: str | None
    pair: str
    base_model: str
    instruct_model: str
    framing: str
    options_json: str
    created_at: str
    user_key: str
    choice: Choice
    blind: bool
    voted_at: str


@dataclass(frozen=True, slots=True)
class VoteFilter:
    channel_id: str | None = None
    pair: str | None = None
    since: str | None = None  # ISO 8601, compared with the comparison's creation time
    until: str | None = None
    blind_only: bool = False

    def where(self) -> tuple[str, list[Any]]:
        clauses, params = ["1 = 1"], []
        for clause, value in (
            ("c.channel_id = ?", self.channel_id),
            ("c.pair = ?", self.pair),
            ("c.created_at >= ?", self.since),
            ("c.created_at < ?", self.until),
        ):
            if value is not None:
                clauses.append(clause)
                params.append(value)
        if self.blind_only:
            clauses.append("v.blind = 1")
        return " AND ".join(clauses), params


class Store:
    """One aiosqlite connection in WAL mode; a lock keeps multi-statement writes whole."""

    def __init__(
        self,
        db: aiosqlite.Connection,
        path: Path,
        store_user_ids: bool,
        vocabularies: Mapping[str, Vocabulary] | None = None,
    ) -> None:
        self._db = db
        self.path = path
        self._store_user_ids = store_user_ids
        # Per platform, what its reactions mean (its adapter's); without one, none is a vote.
        self._vocabularies = dict(vocabularies or {})
        self._salt = ""
        self._write_lock = asyncio.Lock()

    @classmethod
    async def open(
        cls,
        path: Path,
        *,
        store_user_ids: bool = False,
        busy_timeout_ms: int = 5000,
        vocabularies: Mapping[str, Vocabulary] | None = None,
    ) -> Self:
        if not path.parent.is_dir():
            raise StoreError(
                f"Cannot open the database {path}: the folder {path.parent} does not exist; "
                "create it, or set TWINBOT_DATABASE_PATH to a file in a folder that does"
            )
        try:
            # isolation_level=None: we issue BEGIN/COMMIT ourselves, nothing implicit.
            db = await aiosqlite.connect(path, isolation_level=None)
        except sqlite3.Error as exc:
            raise StoreError(f"Cannot open the database {path}: {exc}") from None
        store = cls(db, path, store_user_ids, vocabularies)
        try:
            db.row_factory = aiosqlite.Row
            await db.execute("PRAGMA journal_mode = WAL")
            await db.execute("PRAGMA synchronous = NORMAL")
            await db.execute("PRAGMA foreign_keys = ON")
            await db.execute(f"PRAGMA busy_timeout = {int(busy_timeout_ms)}")
            await store.migrate()
            store._salt = await store._install_salt()
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
        """One write transaction; SQLite's failures become a StoreError a user may read."""
        async with self._write_lock:
            try:
                # busy_timeout makes SQLite itself wait and retry while another writer holds it.
                await self._db.execute("BEGIN IMMEDIATE")
            except sqlite3.Error as exc:
                raise self._storage_error(exc) from exc
            try:
                yield self._db
                await self._db.commit()
            except BaseException as exc:
                if self._db.in_transaction:
                    with contextlib.suppress(sqlite3.Error):
                        await self._db.rollback()
                if isinstance(exc, sqlite3.Error):
                    raise self._storage_error(exc) from exc
                raise

    def _storage_error(self, exc: sqlite3.Error) -> StoreError:
        log.error("database %s: write failed: %s", self.path, exc)
        text = str(exc).lower()
        if "locked" in text or "busy" in text:
            return StoreError(
                "The database is locked by another program, so nothing was saved this time. "
                "Try again shortly.",
                "the database is locked by another program",
            )
        if "full" in text:
            return StoreError(
                "The disk holding the database is full, so nothing was saved. "
                "An operator needs to free some space.",
                "the disk holding the database is full",
            )
        return StoreError(
            "The database failed, so nothing was saved. The operator log has details."
        )

    async def _install_salt(self) -> str:
        """The per-install salt for user ids, made once and kept in the database."""
        async with self._transaction() as db:
            await db.execute(
                "INSERT OR IGNORE INTO install (key, value) VALUES ('user_salt', ?)",
                (secrets.token_hex(16),),
            )
        async with self._db.execute("SELECT value FROM install WHERE key = 'user_salt'") as cursor:
            row = await cursor.fetchone()
        assert row is not None
        return str(row[0])

    def user_key(self, platform: str, user_id: str) -> str:
        """How a user is stored: a salted hash, or the raw id if the operator chose that."""
        if self._store_user_ids:
            return f"{platform}:{user_id}"
        digest = hashlib.sha256(f"{self._salt}:{platform}:{user_id}".encode()).hexdigest()
        return f"h:{digest[:32]}"

    def anonymous_key(self, user_key: str) -> str:
        """A stored key as it may leave the database: raw ids are hashed the way they would be."""
        if user_key.startswith("h:"):
            return user_key
        digest = hashlib.sha256(f"{self._salt}:{user_key}".encode()).hexdigest()
        return f"h:{digest[:32]}"

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
                       framing, framed_prompt, stop_json, options_json, blind, shown_first)
                   VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""",
                (
                    utc_now(),
                    who.platform,
                    who.workspace_id,
                    who.channel_id,
                    self.user_key(who.platform, who.user_id),
                    who.user_name if self._store_user_ids else "",
                    request.prompt,
                    request.pair.name,
                    request.pair.base,
                    request.pair.instruct,
                    request.framing.name,
                    request.framed_prompt,
                    json.dumps(list(request.framing.stop)),
                    json.dumps(request.options.as_dict()),
                    int(request.blind),
                    request.shown_first.value,
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

    # --- reactions and votes -----------------------------------------------------------------

    async def record_reaction(
        self,
        *,
        platform: str,
        channel_id: str,
        message_id: str,
        user_id: str,
        emoji: str,
        added: bool,
        by_bot: bool = False,
        occurred_at: datetime | None = None,
    ) -> ReactionOutcome | None:
        """Log a reaction on a twinbot message and re-derive that user's vote; None if not ours."""
        reaction = ReactionInput(
            platform, channel_id, message_id, user_id, emoji, added, by_bot, occurred_at
        )
        [outcome] = await self.record_reactions([reaction])
        return outcome

    async def record_reactions(
        self, reactions: Sequence[ReactionInput]
    ) -> list[ReactionOutcome | None]:
        """Log a batch of reactions in one transaction; None for those not on a comparison's
        message. Each outcome is what that one reaction did, exactly as if the batch had been
        logged one reaction at a time: a user's vote after it is derived from the log up to it."""
        refs: dict[tuple[str, str, str], MessageRef | None] = {}
        for r in reactions:
            where = (r.platform, r.channel_id, r.message_id)
            if where not in refs:
                refs[where] = await self.message_ref(*where)
        outcomes: list[ReactionOutcome | None] = [None] * len(reactions)
        async with self._transaction() as db:
            async with db.execute("SELECT coalesce(max(id), 0) FROM reactions") as cursor:
                row = await cursor.fetchone()
            next_id = int(row[0]) + 1 if row else 1
            # Ids given explicitly: the write lock and BEGIN IMMEDIATE keep anyone else out.
            logged: dict[tuple[int, str], list[tuple[int, int]]] = defaultdict(list)
            rows = []
            now = utc_now()
            for index, r in enumerate(reactions):
                ref = refs[(r.platform, r.channel_id, r.message_id)]
                if ref is None:
                    continue
                user_key = self.user_key(r.platform, r.user_id)
                rows.append((
                    next_id, r.platform, ref.comparison_id, r.channel_id, r.message_id,
                    None if ref.role is None else ref.role.value, user_key, r.emoji,
                    "added" if r.added else "removed", int(r.by_bot),
                    utc_iso(r.occurred_at) if r.occurred_at else now, now,
                ))  # fmt: skip
                logged[(ref.comparison_id, user_key)].append((index, next_id))
                next_id += 1
            await db.executemany(
                """INSERT INTO reactions (id, platform, comparison_id, channel_id, message_id,
                       role, user_key, emoji, action, by_bot, occurred_at, recorded_at)
                   VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""",
                rows,
            )
            by_comparison: dict[int, dict[str, list[int]]] = defaultdict(dict)
            for (comparison_id, user_key), entries in logged.items():
                by_comparison[comparison_id][user_key] = [i for _, i in entries]
            steps: dict[tuple[int, str], list[_Step]] = {}
            for comparison_id, users in by_comparison.items():
                found = await self._rederive(db, comparison_id, users)
                steps.update(((comparison_id, u), found[u]) for u in users)
            for (comparison_id, user_key), entries in logged.items():
                found_steps = steps[(comparison_id, user_key)]
                for (index, _), (changed, vote, requester) in zip(
                    entries, found_steps, strict=True
                ):
                    r = reactions[index]
                    ref = refs[(r.platform, r.channel_id, r.message_id)]
                    assert ref is not None
                    outcomes[index] = ReactionOutcome(
                        comparison_id=comparison_id,
                        role=ref.role,
                        user_key=user_key,
                        by_requester=requester == user_key,
                        vote=vote,
                        changed=changed,
                    )
        return outcomes

    async def _rederive(
        self, db: aiosqlite.Connection, comparison_id: int, users: Mapping[str, Sequence[int]]
    ) -> dict[str, list[_Step]]:
        """Inside a transaction: derive these users' votes on one comparison from the log and
        store them, in a few statements whatever the number of users. For each reaction id in
        `users[user]` (just logged, in order): whether that user's vote changed with it, the
        vote after it (from the log up to that id), and the comparison's requester."""
        async with db.execute(
            """SELECT platform, shown_first, blind, revealed_after_reaction, requester_id
               FROM comparisons WHERE id = ?""",
            (comparison_id,),
        ) as cursor:
            comparison = await cursor.fetchone()
        assert comparison is not None
        shown_first = Role(comparison["shown_first"])
        words = self._vocabularies.get(comparison["platform"], {})
        requester = str(comparison["requester_id"])
        revealed_after = comparison["revealed_after_reaction"]
        keys = list(users)
        previous: dict[str, Choice] = {}
        events: dict[str, list[ReactionEvent]] = defaultdict(list)
        for start in range(0, len(keys), _IN_CHUNK):
            chunk = keys[start : start + _IN_CHUNK]
            marks = ", ".join("?" * len(chunk))
            # Only "?" marks are formatted in; every value is bound.
            async with db.execute(
                f"""SELECT user_key, choice FROM votes
                    WHERE comparison_id = ? AND user_key IN ({marks})""",
                (comparison_id, *chunk),
            ) as cursor:
                previous.update((row[0], Choice(row[1])) for row in await cursor.fetchall())
            async with db.execute(
                f"""SELECT id, user_key, channel_id, message_id, role, emoji, action, by_bot,
                        occurred_at
                    FROM reactions WHERE comparison_id = ? AND user_key IN ({marks})""",
                (comparison_id, *chunk),
            ) as cursor:
                for row in await cursor.fetchall():
                    events[row["user_key"]].append(
                        ReactionEvent(
                            id=row["id"],
                            role=None if row["role"] is None else Role(row["role"]),
                            emoji=row["emoji"],
                            added=row["action"] == "added",
                            by_bot=bool(row["by_bot"]),
                            occurred_at=row["occurred_at"],
                            message=f"{row['channel_id']}/{row['message_id']}",
                        )
                    )
        results: dict[str, list[_Step]] = {}
        gone, kept = [], []
        for user_key in keys:
            mine = events[user_key]
            choice = previous.get(user_key)
            steps = []
            for step in users[user_key]:
                after = derive_vote([e for e in mine if e.id <= step], shown_first, words)
                now = after.choice if after else None
                steps.append((choice != now, after, requester))
                choice = now
            results[user_key] = steps
            vote = derive_vote(mine, shown_first, words)
            if vote is None:
                gone.append((comparison_id, user_key))
                continue
            # By log order, not by clock: the live path and a recompute read the same ids.
            blind = bool(comparison["blind"]) and (
                revealed_after is None or vote.reaction.id <= revealed_after
            )
            kept.append((
                comparison_id, user_key, vote.choice.value, int(blind), vote.reaction.id,
                vote.reaction.occurred_at,
            ))  # fmt: skip
        await db.executemany("DELETE FROM votes WHERE comparison_id = ? AND user_key = ?", gone)
        await db.executemany(
            """INSERT OR REPLACE INTO votes (comparison_id, user_key, choice, blind,
                   reaction_id, voted_at) VALUES (?, ?, ?, ?, ?, ?)""",
            kept,
        )
        return results

    async def mark_bot(self, platform: str, user_id: str) -> int:
        """A reactor turned out to be a bot after its reactions were logged (the platform
        said so later): its reactions stop counting and the votes they made are derived
        again. Returns how many reactions were marked."""
        user_key = self.user_key(platform, user_id)
        async with self._transaction() as db:
            cursor = await db.execute(
                """UPDATE reactions SET by_bot = 1
                   WHERE platform = ? AND user_key = ? AND by_bot = 0""",
                (platform, user_key),
            )
            marked = cursor.rowcount
            async with db.execute(
                "SELECT DISTINCT comparison_id FROM reactions WHERE platform = ? AND user_key = ?",
                (platform, user_key),
            ) as found:
                comparisons = [int(row[0]) for row in await found.fetchall()]
            for comparison_id in comparisons if marked else []:
                await self._rederive(db, comparison_id, {user_key: ()})
        return marked

    async def recompute_votes(self) -> int:
        """Rebuild every vote from the reaction log (after a change of mapping, say)."""
        async with self._transaction() as db:
            await db.execute("DELETE FROM votes")
            async with db.execute(
                "SELECT DISTINCT comparison_id, user_key FROM reactions WHERE by_bot = 0"
            ) as cursor:
                voters: dict[int, dict[str, Sequence[int]]] = defaultdict(dict)
                for voter in await cursor.fetchall():
                    voters[int(voter[0])][str(voter[1])] = ()
            # The same derivation as the live path, a comparison at a time.
            for comparison_id, users in voters.items():
                await self._rederive(db, comparison_id, users)
        async with self._db.execute("SELECT count(*) FROM votes") as cursor:
            row = await cursor.fetchone()
        return int(row[0]) if row else 0

    async def mark_revealed(self, comparison_id: int) -> bool:
        """Reveal a blind comparison's names; False if it was not blind or already revealed."""
        async with self._transaction() as db:
            # The reveal's place in the reaction log (the write lock orders it against them).
            cursor = await db.execute(
                """UPDATE comparisons SET revealed_at = ?,
                       revealed_after_reaction = (SELECT coalesce(max(id), 0) FROM reactions)
                   WHERE id = ? AND blind = 1 AND revealed_at IS NULL""",
                (utc_now(), comparison_id),
            )
            return cursor.rowcount > 0

    async def unrevealed_blind(self, platform: str) -> list[tuple[int, datetime]]:
        """Blind comparisons of `platform` whose names are still hidden, with when each was
        created: their reveal timers, re-armed after a restart."""
        async with self._db.execute(
            """SELECT id, created_at FROM comparisons
               WHERE platform = ? AND blind = 1 AND revealed_at IS NULL
               ORDER BY id""",
            (platform,),
        ) as cursor:
            rows = await cursor.fetchall()
        return [(int(row["id"]), datetime.fromisoformat(row["created_at"])) for row in rows]

    async def votes(self, where: VoteFilter | None = None) -> list[VoteRow]:
        clause, params = (where or VoteFilter()).where()
        # The WHERE clause is assembled from fixed strings only; every value is bound.
        async with self._db.execute(
            f"""SELECT v.comparison_id, c.platform, c.channel_id, c.pair, c.base_model,
                       c.instruct_model, c.framing, c.options_json, c.created_at, v.user_key,
                       v.choice, v.blind, v.voted_at
                FROM votes v JOIN comparisons c ON c.id = v.comparison_id
                WHERE {clause} ORDER BY v.voted_at, v.comparison_id""",
            params,
        ) as cursor:
            rows = await cursor.fetchall()
        return [
            VoteRow(
                comparison_id=row["comparison_id"],
                platform=row["platform"],
                channel_id=row["channel_id"],
                pair=row["pair"],
                base_model=row["base_model"],
                instruct_model=row["instruct_model"],
                framing=row["framing"],
                options_json=row["options_json"],
                created_at=row["created_at"],
                user_key=row["user_key"],
                choice=Choice(row["choice"]),
                blind=bool(row["blind"]),
                voted_at=row["voted_at"],
            )
            for row in rows
        ]

    async def reactions(self, comparison_id: int) -> list[dict[str, Any]]:
        async with self._db.execute(
            "SELECT * FROM reactions WHERE comparison_id = ? ORDER BY id", (comparison_id,)
        ) as cursor:
            return [dict(row) for row in await cursor.fetchall()]

    # --- per-channel settings ----------------------------------------------------------------

    async def channel_safety_mode(self, platform: str, channel_id: str) -> SafetyMode | None:
        """The mode an admin chose for this channel, or None to use the configured default."""
        async with self._db.execute(
            "SELECT safety_mode FROM channel_settings WHERE platform = ? AND channel_id = ?",
            (platform, channel_id),
        ) as cursor:
            row = await cursor.fetchone()
        return None if row is None or row[0] is None else SafetyMode(row[0])

    async def set_channel_safety_mode(
        self, platform: str, channel_id: str, mode: SafetyMode, admin_id: str
    ) -> None:
        async with self._transaction() as db:
            await db.execute(
                """INSERT INTO channel_settings (platform, channel_id, safety_mode, updated_by,
                       updated_at) VALUES (?, ?, ?, ?, ?)
                   ON CONFLICT (platform, channel_id) DO UPDATE SET
                       safety_mode = excluded.safety_mode, updated_by = excluded.updated_by,
                       updated_at = excluded.updated_at""",
                (platform, channel_id, mode.value, self.user_key(platform, admin_id), utc_now()),
            )

    async def vote_tallies(self, prompt: str, pair: str, framing: str) -> dict[Choice, int]:
        """Votes so far on every comparison of this prompt, pair and framing (for the report)."""
        async with self._db.execute(
            """SELECT v.choice, count(*) FROM votes v JOIN comparisons c ON c.id = v.comparison_id
               WHERE c.prompt = ? AND c.pair = ? AND c.framing = ? GROUP BY v.choice""",
            (prompt, pair, framing),
        ) as cursor:
            rows = await cursor.fetchall()
        return {Choice(row[0]): int(row[1]) for row in rows}

    async def pair_names(self) -> set[str]:
        """Every pair a stored comparison used (a pair since removed from pairs.toml included)."""
        async with self._db.execute("SELECT DISTINCT pair FROM comparisons") as cursor:
            rows = await cursor.fetchall()
        return {str(row[0]) for row in rows}

    # --- the lens ----------------------------------------------------------------------------

    async def add_lens_view(
        self,
        comparison_id: int,
        kind: str,
        payload: Mapping[str, Any],
        *,
        requests: int = 0,
        seconds: float | None = None,
    ) -> None:
        """One lens view of a comparison (migration 005): its kind and its JSON payload."""
        async with self._transaction() as db:
            await db.execute(
                """INSERT INTO lens_views (comparison_id, kind, payload_json, requests, seconds,
                       created_at) VALUES (?, ?, ?, ?, ?, ?)""",
                (comparison_id, kind, json.dumps(payload), requests, seconds, utc_now()),
            )

    async def lens_views(self, comparison_id: int) -> list[dict[str, Any]]:
        """A comparison's lens views, oldest first, each with its payload parsed."""
        async with self._db.execute(
            "SELECT * FROM lens_views WHERE comparison_id = ? ORDER BY id", (comparison_id,)
        ) as cursor:
            rows = await cursor.fetchall()
        views = []
        for row in rows:
            view = dict(row)
            view["payload"] = json.loads(view.pop("payload_json"))
            views.append(view)
        return views

    async def lens_payloads(self, ids: Sequence[int]) -> dict[int, list[tuple[str, str]]]:
        """The stored lens views of these comparisons, oldest first: (kind, payload JSON)."""
        found: dict[int, list[tuple[str, str]]] = defaultdict(list)
        for start in range(0, len(ids), _IN_CHUNK):
            chunk = list(ids[start : start + _IN_CHUNK])
            marks = ", ".join("?" * len(chunk))
            # Only "?" marks are formatted in; every value is bound.
            async with self._db.execute(
                f"""SELECT comparison_id, kind, payload_json FROM lens_views
                    WHERE comparison_id IN ({marks}) ORDER BY id""",
                chunk,
            ) as cursor:
                for row in await cursor.fetchall():
                    found[int(row[0])].append((str(row[1]), str(row[2])))
        return dict(found)

    # --- dataset export ----------------------------------------------------------------------

    async def save_safety(self, comparison_id: int, role: Role, note: SafetyNote) -> None:
        """The gate's final verdict on one side, as the channel showed it."""
        withheld = note.mode is SafetyMode.WITHHOLD and note.concealed
        async with self._transaction() as db:
            await db.execute(
                """INSERT OR REPLACE INTO output_safety (comparison_id, role, mode, status,
                       categories, withheld, recorded_at) VALUES (?, ?, ?, ?, ?, ?, ?)""",
                (
                    comparison_id,
                    role.value,
                    note.mode.value,
                    note.status.value,
                    note.categories,
                    int(withheld),
                    utc_now(),
                ),
            )

    async def dataset_votes(self, where: VoteFilter | None = None) -> list[dict[str, Any]]:
        """Every vote the filter selects, with what a dataset row says of it: the order the
        sides were shown in and whether the voter is the one who asked for the comparison."""
        clause, params = (where or VoteFilter()).where()
        # The WHERE clause is assembled from fixed strings only; every value is bound.
        async with self._db.execute(
            f"""SELECT v.comparison_id, v.user_key, v.choice, v.blind, v.voted_at,
                       v.user_key = c.requester_id AS by_requester, c.shown_first, c.platform,
                       c.channel_id, c.pair, c.base_model, c.instruct_model, c.framing,
                       c.options_json, c.created_at
                FROM votes v JOIN comparisons c ON c.id = v.comparison_id
                WHERE {clause} ORDER BY v.comparison_id, v.voted_at, v.user_key""",
            params,
        ) as cursor:
            return [dict(row) for row in await cursor.fetchall()]

    async def dataset_comparisons(self, ids: Sequence[int]) -> list[dict[str, Any]]:
        """These comparisons with both sides flattened in (`base_text`, `instruct_done_reason`,
        `base_withheld`...; None where a side was never stored or had no safety gate)."""
        side_columns = (
            "status", "text", "done_reason", "eval_count", "prompt_eval_count",
        )  # fmt: skip
        picked = ", ".join(
            f"{alias}.{column} AS {role}_{column}"
            for role, alias in (("base", "b"), ("instruct", "i"))
            for column in side_columns
        ) + (
            ", sb.status AS base_safety, sb.withheld AS base_withheld"
            ", si.status AS instruct_safety, si.withheld AS instruct_withheld"
        )
        found: list[dict[str, Any]] = []
        for start in range(0, len(ids), _IN_CHUNK):
            chunk = list(ids[start : start + _IN_CHUNK])
            marks = ", ".join("?" * len(chunk))
            # Only fixed column names and "?" marks are formatted in; every value is bound.
            async with self._db.execute(
                f"""SELECT c.id, c.created_at, c.platform, c.prompt, c.pair, c.base_model,
                           c.instruct_model, c.framing, c.framed_prompt, c.stop_json,
                           c.options_json, c.blind, c.shown_first, {picked}
                    FROM comparisons c
                    LEFT JOIN outputs b ON b.comparison_id = c.id AND b.role = 'base'
                    LEFT JOIN outputs i ON i.comparison_id = c.id AND i.role = 'instruct'
                    LEFT JOIN output_safety sb
                        ON sb.comparison_id = c.id AND sb.role = 'base'
                    LEFT JOIN output_safety si
                        ON si.comparison_id = c.id AND si.role = 'instruct'
                    WHERE c.id IN ({marks}) ORDER BY c.id""",
                chunk,
            ) as cursor:
                found.extend(dict(row) for row in await cursor.fetchall())
        return found
