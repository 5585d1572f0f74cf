"""Reactions into votes, once for every platform: retried through a locked database, and the
first vote on a blind comparison reveals the names."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

from bot.chat.reveal import AFTER_VOTE, Revealer
from bot.chat.vote_service import ReactionEvent, VoteService
from bot.domain import Role
from bot.store.sqlite import Store
from tests.bot.chat.recording import RecordingAnnouncer
from tests.vocabularies import VOCABULARIES

PLATFORM = "test"


async def blind_comparison(store: Store, make_request: Callable[..., Any]) -> str:
    """A stored blind comparison with one output message; its id as the platform names it."""
    comparison_id = await store.create_comparison(replace(make_request("hi"), blind=True))
    await store.add_message(comparison_id, PLATFORM, "C1", "M1", role=None, part=0, kind="output")
    return "M1"


def vote(message_id: str, emoji: str = "🅰️", *, by_bot: bool = False) -> ReactionEvent:
    return ReactionEvent(PLATFORM, "C1", message_id, "U1", emoji, added=True, by_bot=by_bot)


async def test_a_reaction_through_a_locked_database_is_retried_and_counts(
    tmp_path: Path, make_request: Callable[..., Any]
):
    path = tmp_path / "votes.sqlite3"
    async with await Store.open(path, busy_timeout_ms=100, vocabularies=VOCABULARIES) as store:
        message = await blind_comparison(store, make_request)
        announcer = RecordingAnnouncer()
        votes = VoteService(store, Revealer(store, announcer, PLATFORM, 3600))
        locker = sqlite3.connect(path, isolation_level=None)
        locker.execute("BEGIN EXCLUSIVE")  # another program holds the database for a while
        try:
            recording = asyncio.create_task(votes.on_reaction(vote(message)))
            await asyncio.sleep(0.8)
            assert not recording.done()  # still trying, not given up
        finally:
            locker.execute("ROLLBACK")
            locker.close()
        outcome = await recording
        assert outcome is not None and outcome.vote is not None
        [row] = await store.reactions(1)
        assert row["emoji"] == "🅰️" and row["by_bot"] == 0


async def test_the_first_vote_reveals_a_blind_comparison_once_and_bots_never_do(
    tmp_path: Path, make_request: Callable[..., Any]
):
    async with await Store.open(tmp_path / "votes.sqlite3", vocabularies=VOCABULARIES) as store:
        message = await blind_comparison(store, make_request)
        announcer = RecordingAnnouncer()
        votes = VoteService(store, Revealer(store, announcer, PLATFORM, 3600))
        await votes.on_reaction(vote(message, by_bot=True))  # twinbot's own seeded choice
        assert announcer.said == []
        await votes.on_reaction(vote(message))
        await votes.on_reaction(vote(message, "🅱️"))
        [said] = announcer.said
        assert said.why == AFTER_VOTE and said.shown_first is Role.BASE


async def test_a_reaction_on_a_message_that_is_not_a_comparisons_is_ignored(
    tmp_path: Path, make_request: Callable[..., Any]
):
    async with await Store.open(tmp_path / "votes.sqlite3", vocabularies=VOCABULARIES) as store:
        await blind_comparison(store, make_request)
        votes = VoteService(store, Revealer(store, RecordingAnnouncer(), PLATFORM, 3600))
        assert not await votes.is_ours(vote("OTHER"))
        assert await votes.on_reaction(vote("OTHER")) is None
        assert await store.reactions(1) == []
