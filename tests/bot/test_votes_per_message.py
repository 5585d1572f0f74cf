"""A vote follows the reactions people see: per message, both sides' 👎, blind by log order."""

from __future__ import annotations

import dataclasses
import sqlite3
from datetime import UTC, datetime, timedelta

from bot.domain import Requester, Role
from bot.store.sqlite import Store, utc_iso
from bot.votes.mapping import Choice, ReactionEvent, derive_vote
from tests.vocabularies import VOCABULARIES

WORDS = VOCABULARIES["test"]  # both platforms' spellings

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def on(message: str, id: int, emoji: str, added: bool = True, role: Role | None = None):
    stamp = utc_iso(T0 + timedelta(seconds=id))
    return ReactionEvent(id, role, emoji, added, False, stamp, message)


def test_a_removal_takes_the_reaction_off_that_message_only():
    events = [on("reply", 1, "🤝"), on("thread", 2, "🤝"), on("reply", 3, "🤝", added=False)]
    vote = derive_vote(events, Role.BASE, WORDS)
    assert vote is not None and vote.choice is Choice.TIE and vote.reaction.message == "thread"


def test_removing_it_from_every_message_retracts():
    events = [
        on("reply", 1, "🤝"),
        on("thread", 2, "🤝"),
        on("reply", 3, "🤝", added=False),
        on("thread", 4, "🤝", added=False),
    ]
    assert derive_vote(events, Role.BASE, WORDS) is None


def test_thumbs_down_on_each_sides_own_message_is_both_bad_in_either_order():
    for first, second in ((Role.BASE, Role.INSTRUCT), (Role.INSTRUCT, Role.BASE)):
        events = [
            on(first.value, 1, "👎", role=first),
            on(second.value, 2, "👎", role=second),
        ]
        vote = derive_vote(events, Role.BASE, WORDS)
        assert vote is not None and vote.choice is Choice.BOTH_BAD


def test_thumbs_down_on_two_parts_of_one_side_still_favours_the_other():
    events = [on("base-1", 1, "👎", role=Role.BASE), on("base-2", 2, "👎", role=Role.BASE)]
    vote = derive_vote(events, Role.BASE, WORDS)
    assert vote is not None and vote.choice is Choice.INSTRUCT_BETTER


def test_thumbs_up_on_both_sides_is_a_tie_and_taking_one_back_is_not():
    events = [on("base", 1, "👍", role=Role.BASE), on("instruct", 2, "👍", role=Role.INSTRUCT)]
    vote = derive_vote(events, Role.BASE, WORDS)
    assert vote is not None and vote.choice is Choice.TIE
    events.append(on("instruct", 3, "👍", added=False, role=Role.INSTRUCT))
    vote = derive_vote(events, Role.BASE, WORDS)
    assert vote is not None and vote.choice is Choice.BASE_BETTER


def test_a_later_choice_elsewhere_still_wins_over_thumbs():
    events = [
        on("base", 1, "👎", role=Role.BASE),
        on("instruct", 2, "👎", role=Role.INSTRUCT),
        on("both", 3, "🅰️"),
    ]
    vote = derive_vote(events, Role.BASE, WORDS)
    assert vote is not None and vote.choice is Choice.BASE_BETTER


# --- through the store, on a real SQLite file ------------------------------------------------


async def comparison(store: Store, make_request, *, blind: bool = False) -> int:
    request = dataclasses.replace(
        make_request("hi"), requester=Requester("slack", "U1"), blind=blind
    )
    cid = await store.create_comparison(request)
    await store.add_message(cid, "slack", "C1", f"{cid}.parent", kind="parent")
    await store.add_message(cid, "slack", "C1", f"{cid}.both")
    await store.add_message(cid, "slack", "C1", f"{cid}.base", role=Role.BASE)
    await store.add_message(cid, "slack", "C1", f"{cid}.instruct", role=Role.INSTRUCT)
    return cid


async def react(store: Store, cid: int, where: str, emoji: str, *, added=True, at=None, user="U2"):
    return await store.record_reaction(
        platform="slack", channel_id="C1", message_id=f"{cid}.{where}", user_id=user,
        emoji=emoji, added=added, occurred_at=at,
    )  # fmt: skip


async def choices(store: Store) -> dict[int, tuple[Choice, bool]]:
    return {v.comparison_id: (v.choice, v.blind) for v in await store.votes()}


async def test_handshake_on_reply_and_thread_then_off_the_reply_is_still_a_tie(
    store: Store, make_request
):
    cid = await comparison(store, make_request)
    await react(store, cid, "parent", "handshake", at=T0)
    await react(store, cid, "both", "handshake", at=T0 + timedelta(seconds=1))
    outcome = await react(
        store, cid, "parent", "handshake", added=False, at=T0 + timedelta(seconds=2)
    )
    assert outcome is not None and outcome.vote is not None
    assert await choices(store) == {cid: (Choice.TIE, False)}
    await store.recompute_votes()
    assert await choices(store) == {cid: (Choice.TIE, False)}


async def test_thumbs_down_on_both_sides_is_both_bad_live_and_recomputed(
    store: Store, make_request
):
    cid = await comparison(store, make_request)
    await react(store, cid, "instruct", "-1", at=T0)
    await react(store, cid, "base", "thumbsdown", at=T0 + timedelta(seconds=1))
    assert await choices(store) == {cid: (Choice.BOTH_BAD, False)}
    await store.recompute_votes()
    assert await choices(store) == {cid: (Choice.BOTH_BAD, False)}


async def test_a_reveal_in_the_same_millisecond_as_the_first_vote_keeps_it_blind(
    store: Store, make_request
):
    """The first vote reveals the names; its reaction is logged before the reveal, so it is
    blind, live and on recompute, whatever the two clocks say (Slack's event_ts can even be a
    little ahead of ours)."""
    ids = []
    for index in range(8):
        cid = await comparison(store, make_request, blind=True)
        ids.append(cid)
        # Half stamped exactly at the reveal's time below, half a little after it.
        ahead = timedelta(milliseconds=index % 2)
        now = datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=5)
        await react(store, cid, "both", "a", at=now + ahead)
        assert await store.mark_revealed(cid)
        path = store.path
        # Force the tie the issue saw: the reveal stamped in the vote's very millisecond.
        with sqlite3.connect(path) as raw:
            raw.execute("UPDATE comparisons SET revealed_at = ? WHERE id = ?", (utc_iso(now), cid))
        await react(store, cid, "both", "b", at=now + timedelta(seconds=1), user="U3")
    live = {(v.comparison_id, v.user_key, v.choice, v.blind) for v in await store.votes()}
    assert {(c, b) for c, _, ch, b in live if ch is Choice.BASE_BETTER} == {(c, True) for c in ids}
    assert {(c, b) for c, _, ch, b in live if ch is Choice.INSTRUCT_BETTER} == {
        (c, False) for c in ids
    }
    await store.recompute_votes()
    recomputed = {(v.comparison_id, v.user_key, v.choice, v.blind) for v in await store.votes()}
    assert recomputed == live
