"""The store on a real SQLite file: migrations, WAL, and rows that survive a reopen."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from bot.domain import Role, SideSnapshot, SideStats, SideStatus
from bot.store.sqlite import Migration, Store, StoreError, load_migrations
from tests.vocabularies import VOCABULARIES


def done_side(role: Role, text: str) -> SideSnapshot:
    return SideSnapshot(
        role, f"m-{role}", text, SideStatus.DONE, SideStats(eval_count=3), None, None
    )


async def test_open_applies_every_migration_and_uses_wal(tmp_path: Path):
    path = tmp_path / "db.sqlite3"
    async with await Store.open(path, vocabularies=VOCABULARIES) as store:
        assert await store.schema_version() == len(load_migrations())
    with sqlite3.connect(path) as raw:
        assert raw.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        tables = {r[0] for r in raw.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert {"comparisons", "outputs", "messages"} <= tables


async def test_reopening_migrates_nothing_twice(tmp_path: Path):
    path = tmp_path / "db.sqlite3"
    async with await Store.open(path, vocabularies=VOCABULARIES) as store:
        version = await store.schema_version()
    async with await Store.open(path, vocabularies=VOCABULARIES) as store:
        assert await store.schema_version() == version
        assert await store.migrate() == version


async def test_a_failing_migration_leaves_nothing_behind(tmp_path: Path):
    path = tmp_path / "db.sqlite3"
    async with await Store.open(path, vocabularies=VOCABULARIES) as store:
        before = await store.schema_version()
        broken = [
            *load_migrations(),
            Migration(before + 1, "good", "CREATE TABLE extra (x INTEGER);"),
            Migration(before + 2, "bad", "CREATE TABLE extra (x INTEGER);"),
        ]
        with pytest.raises(StoreError, match="already exists"):
            await store.migrate(broken)
        assert await store.schema_version() == before
    with sqlite3.connect(path) as raw:
        names = {r[0] for r in raw.execute("SELECT name FROM sqlite_master")}
    assert "extra" not in names


async def test_comparison_outputs_and_messages_survive_a_reopen(tmp_path: Path, make_request):
    path = tmp_path / "db.sqlite3"
    async with await Store.open(path, vocabularies=VOCABULARIES) as store:
        comparison_id = await store.create_comparison(make_request("hi"))
        await store.save_output(comparison_id, done_side(Role.BASE, "base text"))
        await store.add_message(comparison_id, "discord", "c1", "m1", role=Role.BASE)
        await store.add_message(comparison_id, "discord", "c1", "m0", kind="parent")
        await store.set_thread(comparison_id, "t1")
        await store.finish_comparison(comparison_id, "done")

    async with await Store.open(path, vocabularies=VOCABULARIES) as store:
        row = await store.comparison(comparison_id)
        assert row is not None
        assert (row["prompt"], row["status"], row["thread_id"]) == ("hi", "done", "t1")
        assert row["base_model"] == "llama3.2:1b-text-q4_K_M"
        assert (await store.outputs(comparison_id))[Role.BASE]["text"] == "base text"
        ref = await store.message_ref("discord", "c1", "m1")
        assert ref is not None and (ref.comparison_id, ref.role) == (comparison_id, Role.BASE)
        parent = await store.message_ref("discord", "c1", "m0")
        assert parent is not None and parent.role is None and parent.kind == "parent"
        assert await store.message_ref("slack", "c1", "m1") is None


async def test_only_finished_sides_are_stored(store: Store, make_request):
    comparison_id = await store.create_comparison(make_request())
    streaming = SideSnapshot(Role.BASE, "m", "x", SideStatus.STREAMING, SideStats(), None, None)
    with pytest.raises(ValueError):
        await store.save_output(comparison_id, streaming)


async def test_prompts_are_stored_verbatim(store: Store, make_request):
    hostile = "'; DROP TABLE comparisons; -- \u202e\u200b```"
    comparison_id = await store.create_comparison(make_request(hostile))
    row = await store.comparison(comparison_id)
    assert row is not None and row["prompt"] == hostile


def test_migrations_are_numbered_without_gaps(tmp_path: Path):
    (tmp_path / "001_a.sql").write_text("SELECT 1;")
    (tmp_path / "003_c.sql").write_text("SELECT 1;")
    with pytest.raises(StoreError, match="without gaps"):
        load_migrations(tmp_path)
