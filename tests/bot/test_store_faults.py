"""The database locked or its disk full: a short explanation, nothing stored is lost."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

import pytest

from bot.domain import Role, SideStatus
from bot.engine.backend import OllamaBackend, Timeouts
from bot.engine.compare import CompareService
from bot.store.sqlite import Store, StoreError
from tests.bot.test_compare import RecordingView
from tests.conftest import SMALL_PAIR
from tests.fakes.ollama_fake import OllamaFake, Script
from tests.vocabularies import VOCABULARIES
from tests.waiting import wait_until


async def test_a_locked_database_gives_a_clear_error_and_recovers(tmp_path: Path, make_request):
    path = tmp_path / "locked.sqlite3"
    async with await Store.open(path, busy_timeout_ms=100, vocabularies=VOCABULARIES) as store:
        first = await store.create_comparison(make_request("kept"))
        other = sqlite3.connect(path, isolation_level=None)
        other.execute("BEGIN EXCLUSIVE")
        try:
            with pytest.raises(StoreError, match="locked by another program"):
                await store.create_comparison(make_request("refused"))
        finally:
            other.execute("ROLLBACK")
            other.close()
        second = await store.create_comparison(make_request("after"))
        assert (await store.comparison(first))["prompt"] == "kept"
        assert (await store.comparison(second))["prompt"] == "after"


async def fill_the_disk(store: Store) -> None:
    """Emulate a full disk: SQLite refuses to grow the file past its current pages."""
    async with store._db.execute("PRAGMA page_count") as cursor:
        row = await cursor.fetchone()
    await store._db.execute(f"PRAGMA max_page_count = {row[0]}")


async def test_a_full_disk_mid_comparison_keeps_both_outputs_flowing_says_so_and_saves_later(
    ollama: OllamaFake, tmp_path: Path, make_request
):
    ollama.script(SMALL_PAIR[0], Script(tokens=["x" * 4000] * 3, delay=0.05))
    async with await Store.open(tmp_path / "full.sqlite3", vocabularies=VOCABULARIES) as store:
        backend = OllamaBackend(ollama.url, Timeouts(connect=2.0, first_token=5.0, total=10.0))
        service = CompareService(backend, store)
        view = RecordingView()
        try:
            task = asyncio.create_task(service.run(make_request(), view))
            await wait_until(lambda: view.started is not None)
            await fill_the_disk(store)
            final = await task
        finally:
            await backend.close()
        assert final.base.status is SideStatus.DONE and len(final.base.text) == 12000
        assert final.instruct.status is SideStatus.DONE
        assert view.final is not None and view.final.notice is not None
        assert "disk holding the database is full" in view.final.notice
        assert "not saved yet" in view.final.notice
        # What was stored before the disk filled is still there; the rest waits, in order.
        row = await store.comparison(final.comparison_id)
        assert row is not None and row["prompt"] == "こんにちは" and row["status"] == "running"
        assert Role.BASE not in await store.outputs(final.comparison_id)
        # An operator frees space: the journal lands every write, the status last.
        await store._db.execute("PRAGMA max_page_count = 1073741823")
        await service.settle_writes()
        row = await store.comparison(final.comparison_id)
        assert row is not None and row["status"] == "done"
        stored = await store.outputs(final.comparison_id)
        assert stored[Role.BASE]["text"] == final.base.text
        assert stored[Role.INSTRUCT]["text"] == final.instruct.text
