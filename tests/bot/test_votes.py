"""Reactions become votes: the mapping, the log, and the store's live and recomputed votes."""

from __future__ import annotations

import asyncio
import dataclasses
import random
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.domain import Requester, Role
from bot.store.sqlite import Store
from bot.votes.mapping import (
    Choice,
    ReactionEvent,
    Signal,
    choice_for,
    derive_vote,
    normalize_emoji,
    signal_of,
)
from tests.vocabularies import VOCABULARIES

WORDS = VOCABULARIES["test"]  # both platforms' spellings

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def event(id: int, emoji: str, added: bool = True, role: Role | None = None, by_bot: bool = False):
    return ReactionEvent(id, role, emoji, added, by_bot, f"2026-01-01T00:00:{id:02d}.000+00:00")


@pytest.mark.parametrize(
    ("emoji", "signal"),
    [
        ("🅰️", Signal.A), ("🅰", Signal.A), ("a", Signal.A), (":a:", Signal.A),
        ("🅱️", Signal.B), ("b", Signal.B),
        ("🤝", Signal.TIE), ("handshake", Signal.TIE),
        ("👎", Signal.DOWN), ("👎🏽", Signal.DOWN),
        ("-1", Signal.DOWN), ("thumbsdown", Signal.DOWN),
        ("👍", Signal.UP), ("+1::skin-tone-3", Signal.UP), ("thumbsup", Signal.UP),
        ("🎉", None), ("tada", None),
    ],
)  # fmt: skip
def test_platform_spellings_map_to_one_signal(emoji: str, signal: Signal | None):
    assert signal_of(emoji, WORDS) is signal


def test_normalize_strips_variation_selectors_and_skin_tones():
    assert normalize_emoji("👍🏿") == normalize_emoji("👍") == "👍"
    assert normalize_emoji("🅰️") == "🅰"


@pytest.mark.parametrize(
    ("signal", "on_role", "shown_first", "choice"),
    [
        (Signal.A, None, Role.BASE, Choice.BASE_BETTER),
        (Signal.B, None, Role.BASE, Choice.INSTRUCT_BETTER),
        (Signal.A, None, Role.INSTRUCT, Choice.INSTRUCT_BETTER),  # blind: A was the instruct side
        (Signal.B, None, Role.INSTRUCT, Choice.BASE_BETTER),
        (Signal.TIE, None, Role.BASE, Choice.TIE),
        (Signal.DOWN, None, Role.BASE, Choice.BOTH_BAD),
        (Signal.DOWN, Role.BASE, Role.BASE, Choice.INSTRUCT_BETTER),
        (Signal.UP, Role.INSTRUCT, Role.BASE, Choice.INSTRUCT_BETTER),
        (Signal.UP, None, Role.BASE, None),
    ],
)
def test_the_mapping(signal, on_role, shown_first, choice):
    assert choice_for(signal, on_role, shown_first) is choice


def test_latest_present_reaction_wins_and_removal_retracts():
    events = [event(1, "🅰️"), event(2, "🅱️")]
    assert derive_vote(events, Role.BASE, WORDS).choice is Choice.INSTRUCT_BETTER
    events.append(event(3, "🅱️", added=False))
    assert (
        derive_vote(events, Role.BASE, WORDS).choice is Choice.BASE_BETTER
    )  # the 🅰️ is still there
    events.append(event(4, "🅰️", added=False))
    assert derive_vote(events, Role.BASE, WORDS) is None


def test_add_remove_add_counts_once_and_duplicates_change_nothing():
    events = [event(1, "🤝"), event(2, "🤝", added=False), event(3, "🤝"), event(4, "🤝")]
    vote = derive_vote(events, Role.BASE, WORDS)
    assert vote is not None and vote.choice is Choice.TIE and vote.reaction.id == 3


def test_arrival_order_does_not_matter():
    events = [event(1, "🅰️"), event(2, "🅱️"), event(3, "🅰️", added=False), event(4, "👎")]
    expected = derive_vote(events, Role.BASE, WORDS)
    rng = random.Random(7)
    for _ in range(20):
        shuffled = events[:]
        rng.shuffle(shuffled)
        assert derive_vote(shuffled, Role.BASE, WORDS) == expected


def test_bot_reactions_never_count():
    assert derive_vote([event(1, "🅰️", by_bot=True)], Role.BASE, WORDS) is None


# --- through the store, on a real SQLite file ------------------------------------------------


async def comparison_with_messages(
    store: Store, make_request, *, blind=False, shown_first=Role.BASE
) -> int:
    request = dataclasses.replace(
        make_request("hi"),
        requester=Requester("discord", "u1"),
        blind=blind,
        shown_first=shown_first,
    )
    comparison_id = await store.create_comparison(request)
    await store.add_message(comparison_id, "discord", "t1", f"both-{comparison_id}")
    await store.add_message(comparison_id, "discord", "t1", f"base-{comparison_id}", role=Role.BASE)
    return comparison_id


async def react(
    store: Store,
    comparison_id: int,
    user: str,
    emoji: str,
    added=True,
    seconds=0,
    message="both",
    by_bot=False,
):
    return await store.record_reaction(
        platform="discord",
        channel_id="t1",
        message_id=f"{message}-{comparison_id}",
        user_id=user,
        emoji=emoji,
        added=added,
        by_bot=by_bot,
        occurred_at=None if seconds is None else T0 + timedelta(seconds=seconds),
    )


async def test_a_reaction_on_a_twinbot_message_becomes_a_vote(store: Store, make_request):
    cid = await comparison_with_messages(store, make_request)
    outcome = await react(store, cid, "alice", "🅱️")
    assert outcome is not None and outcome.changed and outcome.vote.choice is Choice.INSTRUCT_BETTER
    assert outcome.by_requester is False
    [vote] = await store.votes()
    assert (vote.comparison_id, vote.choice, vote.blind) == (cid, Choice.INSTRUCT_BETTER, False)
    assert vote.user_key.startswith("h:") and "alice" not in vote.user_key


async def test_reactions_elsewhere_are_ignored(store: Store, make_request):
    await comparison_with_messages(store, make_request)
    outcome = await store.record_reaction(
        platform="discord",
        channel_id="t1",
        message_id="someone-else",
        user_id="u",
        emoji="🅰️",
        added=True,
    )
    assert outcome is None


async def test_the_requester_is_recognised(store: Store, make_request):
    cid = await comparison_with_messages(store, make_request)
    outcome = await react(store, cid, "u1", "🅰️")  # make_request's requester is u1
    assert outcome is not None and outcome.by_requester


async def test_thumbs_on_one_sides_message(store: Store, make_request):
    cid = await comparison_with_messages(store, make_request)
    await react(store, cid, "bob", "👎", message="base")
    [vote] = await store.votes()
    assert vote.choice is Choice.INSTRUCT_BETTER


async def test_bots_are_logged_but_never_counted(store: Store, make_request):
    cid = await comparison_with_messages(store, make_request)
    await react(store, cid, "twinbot", "🅰️", by_bot=True)
    assert await store.votes() == []
    [logged] = await store.reactions(cid)
    assert logged["by_bot"] == 1


async def test_votes_survive_a_restart_and_reactions_after_it_still_map(
    tmp_path: Path, make_request
):
    path = tmp_path / "votes.sqlite3"
    async with await Store.open(path, vocabularies=VOCABULARIES) as store:
        cid = await comparison_with_messages(store, make_request)
        await react(store, cid, "alice", "🅰️")
    async with await Store.open(path, vocabularies=VOCABULARIES) as store:
        await react(store, cid, "bob", "🅱️", seconds=5)
        choices = sorted(v.choice for v in await store.votes())
    assert choices == [Choice.BASE_BETTER, Choice.INSTRUCT_BETTER]


async def test_two_hundred_concurrent_reactions_lose_nothing_and_recompute_agrees(
    store: Store, make_request
):

    cid = await comparison_with_messages(store, make_request)
    rng = random.Random(1)
    emojis = ["🅰️", "🅱️", "🤝", "👎", "🎉"]
    calls = []
    for index in range(200):
        user = f"user{index % 60}"
        calls.append(
            react(store, cid, user, rng.choice(emojis), added=rng.random() > 0.25, seconds=index)
        )
    await asyncio.gather(*calls)

    assert len(await store.reactions(cid)) == 200
    live = {(v.user_key, v.choice) for v in await store.votes()}
    assert live, "some votes were derived"
    count = await store.recompute_votes()
    assert {(v.user_key, v.choice) for v in await store.votes()} == live
    assert count == len(live)


async def test_blind_votes_are_marked_until_the_reveal(store: Store, make_request):
    cid = await comparison_with_messages(store, make_request, blind=True, shown_first=Role.INSTRUCT)
    outcome = await react(store, cid, "alice", "🅰️")  # A is the instruct side here
    assert outcome is not None and outcome.vote.choice is Choice.INSTRUCT_BETTER
    assert await store.mark_revealed(cid) is True
    assert await store.mark_revealed(cid) is False
    await react(store, cid, "bob", "🅰️", seconds=None)  # now: after the reveal
    blind = {v.blind for v in await store.votes()}
    assert blind == {True, False}


async def test_user_ids_are_hashed_per_install(tmp_path: Path, make_request):
    async with (
        await Store.open(tmp_path / "one.sqlite3", vocabularies=VOCABULARIES) as one,
        await Store.open(tmp_path / "two.sqlite3", vocabularies=VOCABULARIES) as two,
    ):
        assert one.user_key("discord", "42") != two.user_key("discord", "42")
        assert one.user_key("discord", "42") == one.user_key("discord", "42")
    async with await Store.open(
        tmp_path / "raw.sqlite3", store_user_ids=True, vocabularies=VOCABULARIES
    ) as raw:
        assert raw.user_key("discord", "42") == "discord:42"
        assert raw.anonymous_key("discord:42").startswith("h:")
