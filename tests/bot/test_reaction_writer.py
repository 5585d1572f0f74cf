"""No vote lost under a burst or at shutdown: the write-behind buffer in front of the log."""

from __future__ import annotations

import asyncio
import dataclasses
from datetime import UTC, datetime, timedelta

from bot.chat.reaction_writer import ReactionLost, ReactionWriter
from bot.chat.reveal import Revealer
from bot.chat.surface import Reveal
from bot.chat.vote_service import ReactionEvent, VoteService
from bot.domain import Requester
from bot.store.sqlite import Store

T0 = datetime(2026, 1, 1, tzinfo=UTC)


class Announcements:
    """The reveal lines the core asked for (a surface of ours, small)."""

    def __init__(self) -> None:
        self.said: list[tuple[str | None, str]] = []

    async def announce_reveal(self, reveal: Reveal) -> None:
        self.said.append((reveal.thread_id, reveal.why))


async def comparison(store: Store, make_request, *, blind: bool = False) -> int:
    request = dataclasses.replace(
        make_request("hi"), requester=Requester("discord", "u0"), blind=blind
    )
    cid = await store.create_comparison(request)
    await store.add_message(cid, "discord", "t1", f"m{cid}")
    return cid


def service(store: Store, **writer: float) -> tuple[VoteService, Announcements]:
    said = Announcements()
    revealer = Revealer(store, said, "discord", reveal_after=3600)
    return VoteService(store, revealer, writer=ReactionWriter(store, **writer)), said  # type: ignore[arg-type]


def event(cid: int, index: int, emoji: str = "🅰️") -> ReactionEvent:
    return ReactionEvent(
        platform="discord", channel_id="t1", message_id=f"m{cid}", user_id=f"u{index % 500}",
        emoji=emoji, added=index % 7 != 0, occurred_at=T0 + timedelta(milliseconds=index),
    )  # fmt: skip


async def count(store: Store, cid: int) -> int:
    return len(await store.reactions(cid))


async def test_ten_thousand_events_at_once_are_all_logged_in_few_transactions(
    store: Store, make_request
):
    cid = await comparison(store, make_request)
    votes, _ = service(store, batch=256, capacity=1024)
    emojis = ["🅰️", "🅱️", "🤝", "👎"]
    outcomes = await asyncio.gather(
        *(votes.on_reaction(event(cid, i, emojis[i % 4])) for i in range(10_000))
    )
    assert all(o is not None and o.comparison_id == cid for o in outcomes)
    assert await count(store, cid) == 10_000
    assert votes.writer.batches <= 10_000 // 256 + 10  # batched, not one transaction each
    live = {(v.user_key, v.choice) for v in await store.votes()}
    await store.recompute_votes()
    assert {(v.user_key, v.choice) for v in await store.votes()} == live


async def test_the_buffer_is_bounded_and_callers_wait_for_room(store: Store, make_request):
    cid = await comparison(store, make_request)
    votes, _ = service(store, batch=16, capacity=32)
    seen: list[int] = []

    async def watch() -> None:
        while True:
            seen.append(len(votes.writer))
            await asyncio.sleep(0)

    watcher = asyncio.create_task(watch())
    await asyncio.gather(*(votes.on_reaction(event(cid, i)) for i in range(2_000)))
    watcher.cancel()
    assert max(seen) == 32  # full at times: the other callers waited, none was dropped
    assert await count(store, cid) == 2_000


async def test_close_logs_every_event_received_also_those_waiting_for_room(
    store: Store, make_request
):
    cid = await comparison(store, make_request)
    votes, _ = service(store, batch=64, capacity=128, interval=0.05)
    calls = [asyncio.create_task(votes.on_reaction(event(cid, i))) for i in range(5_000)]
    await asyncio.sleep(0)  # every call has arrived: most wait for room in the buffer
    assert await count(store, cid) < 5_000
    await votes.close()
    assert await count(store, cid) == 5_000
    assert all(call.done() and call.result() is not None for call in calls)
    # After close, an event is logged on its own at once.
    late = await votes.on_reaction(event(cid, 5_000))
    assert late is not None and await count(store, cid) == 5_001


async def test_a_writer_stopped_mid_batch_releases_its_callers_and_close_writes_the_rest(
    store: Store, make_request
):
    cid = await comparison(store, make_request)
    votes, _ = service(store, batch=64, capacity=4_096, interval=0.05)
    calls = [asyncio.create_task(votes.on_reaction(event(cid, i))) for i in range(1_000)]
    await asyncio.sleep(0)  # every call is in the buffer
    writer = votes.writer._task
    assert writer is not None
    await asyncio.sleep(0.06)  # past the wait for company: the first batch is being written
    writer.cancel()  # a forced stop, as at a cancelled shutdown
    # A guard against a hang only (the bug: close waited for the stopped writer forever).
    await asyncio.wait_for(votes.close(), 30)
    outcomes = await asyncio.gather(*calls, return_exceptions=True)
    lost = [o for o in outcomes if isinstance(o, ReactionLost)]
    others = [o for o in outcomes if isinstance(o, BaseException) and o not in lost]
    assert others == []
    assert 0 < len(lost) <= 64  # only the stopped batch's callers hear it failed
    assert await count(store, cid) >= 1_000 - len(lost)  # every other event was logged


async def test_an_event_on_another_message_is_ignored_in_a_batch(store: Store, make_request):
    cid = await comparison(store, make_request)
    votes, _ = service(store)
    stray = dataclasses.replace(event(cid, 1), message_id="elsewhere")
    ours, theirs = await asyncio.gather(votes.on_reaction(event(cid, 2)), votes.on_reaction(stray))
    assert ours is not None and theirs is None
    assert await count(store, cid) == 1


async def test_a_first_blind_vote_is_revealed_after_it_is_logged(store: Store, make_request):
    cid = await comparison(store, make_request, blind=True)
    votes, said = service(store)
    outcome = await votes.on_reaction(event(cid, 1))
    assert outcome is not None and outcome.vote is not None
    await votes.settled()
    assert said.said == [(None, "after the first vote")]
    [vote] = await store.votes()
    assert vote.blind
