"""Backups of the live database through SQLite's online backup API, proven by restoring them."""

from __future__ import annotations

import argparse
import asyncio
import sqlite3
from pathlib import Path

import pytest

from bot.domain import Role, SideSnapshot, SideStats, SideStatus
from bot.store.backup import (
    BackupError,
    add_backup_commands,
    backup_database,
    restore_database,
    run_backup_command,
)
from bot.store.sqlite import Store
from tests.vocabularies import VOCABULARIES


async def add_comparison(store: Store, make_request, text: str) -> int:
    comparison_id = await store.create_comparison(make_request(f"prompt {text}"))
    for role in Role:
        side = SideSnapshot(role, "m", f"{role} {text}", SideStatus.DONE, SideStats(), None, None)
        await store.save_output(comparison_id, side)
    await store.finish_comparison(comparison_id, "done")
    return comparison_id


def count(path: Path, table: str = "comparisons") -> int:
    with sqlite3.connect(path) as connection:
        return int(connection.execute(f"SELECT count(*) FROM {table}").fetchone()[0])


@pytest.fixture
async def live(tmp_path: Path):
    """A database twinbot has open right now, with its latest writes still in the -wal file."""
    path = tmp_path / "live" / "twinbot.sqlite3"
    path.parent.mkdir()
    store = await Store.open(path, vocabularies=VOCABULARIES)
    yield path, store
    await store.close()


async def test_a_backup_of_the_running_database_restores_every_comparison(
    live, make_request, tmp_path: Path
):
    path, store = live
    ids = [await add_comparison(store, make_request, str(n)) for n in range(3)]
    wal = path.with_name(path.name + "-wal")
    assert wal.stat().st_size > 0, "the premise: recent writes are only in the WAL"

    info = backup_database(path, tmp_path / "backups" / "copy.sqlite3")

    assert info.schema_version == await store.schema_version() > 0
    assert not info.path.with_name(info.path.name + "-wal").exists()  # one self-contained file
    restored = tmp_path / "restored" / "twinbot.sqlite3"
    restore_database(info.path, restored)
    reopened = await Store.open(restored, vocabularies=VOCABULARIES)
    try:
        for n, comparison_id in enumerate(ids):
            row = await reopened.comparison(comparison_id)
            assert row is not None and row["prompt"] == f"prompt {n}"
            outputs = await reopened.outputs(comparison_id)
            assert outputs[Role.INSTRUCT]["text"] == f"instruct {n}"
        assert await reopened.schema_version() == info.schema_version
    finally:
        await reopened.close()


async def test_writes_go_on_during_a_backup_and_the_copy_is_one_snapshot(
    live, make_request, tmp_path: Path
):
    path, store = live
    for n in range(5):
        await add_comparison(store, make_request, str(n))
    writing = asyncio.gather(*(add_comparison(store, make_request, f"w{n}") for n in range(40)))
    info = await asyncio.to_thread(backup_database, path, tmp_path / "during.sqlite3")
    await writing

    backed_up = count(info.path)
    assert 5 <= backed_up <= 45
    assert count(path) == 45  # the bot lost nothing to the backup
    with sqlite3.connect(info.path) as copy:
        ids = [row[0] for row in copy.execute("SELECT id FROM comparisons ORDER BY id")]
    assert ids == list(range(1, backed_up + 1))  # a prefix of the history, no holes


async def test_a_folder_target_gets_a_dated_file(live, tmp_path: Path):
    path, _ = live
    folder = tmp_path / "backups"
    folder.mkdir()
    info = backup_database(path, folder)
    assert info.path.parent == folder
    assert info.path.name.startswith("twinbot-") and info.path.suffix == ".sqlite3"
    assert [p.name for p in folder.iterdir()] == [info.path.name]  # no partial file left


def test_backing_up_a_missing_database_says_which_setting(tmp_path: Path):
    with pytest.raises(BackupError, match="TWINBOT_DATABASE_PATH"):
        backup_database(tmp_path / "nope.sqlite3", tmp_path / "out.sqlite3")


async def test_a_database_is_never_backed_up_onto_itself(live):
    path, _ = live
    with pytest.raises(BackupError, match="onto itself"):
        backup_database(path, path)


async def test_restoring_keeps_the_replaced_database(live, make_request, tmp_path: Path):
    path, store = live
    await add_comparison(store, make_request, "old")
    snapshot = backup_database(path, tmp_path / "snap.sqlite3")
    await add_comparison(store, make_request, "newer")
    await store.close()

    info = restore_database(snapshot.path, path)

    assert count(path) == 1
    assert info.previous is not None and count(info.previous) == 2


async def test_a_file_that_is_not_a_database_is_refused_and_nothing_changes(
    live, make_request, tmp_path: Path
):
    path, store = live
    await add_comparison(store, make_request, "keep me")
    junk = tmp_path / "junk.sqlite3"
    junk.write_bytes(b"this is not sqlite" * 100)

    with pytest.raises(BackupError, match="not a usable twinbot backup"):
        restore_database(junk, path)
    assert count(path) == 1
    assert not path.with_name(path.name + ".before-restore").exists()


async def test_the_commands_the_cli_wires(live, make_request, make_settings, tmp_path, capsys):
    path, store = live
    await add_comparison(store, make_request, "x")
    settings = make_settings(database_path=path)
    parser = argparse.ArgumentParser(prog="twinbot")
    add_backup_commands(parser.add_subparsers(dest="command", required=True))

    target = tmp_path / "cli-copy.sqlite3"
    assert run_backup_command(settings, parser.parse_args(["backup", str(target)])) == 0
    assert f"backed up {path} to {target}" in capsys.readouterr().out
    await store.close()

    restored = make_settings(database_path=tmp_path / "fresh.sqlite3")
    assert run_backup_command(restored, parser.parse_args(["restore", str(target)])) == 0
    assert count(tmp_path / "fresh.sqlite3") == 1
