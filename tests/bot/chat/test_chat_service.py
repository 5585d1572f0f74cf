"""The /compare lifecycle, once for every platform: what the core asks of a surface, and when.

Real parts throughout: the fake Ollama over loopback, a real SQLite file, the real queue and
limiter; only the platform is a recording surface (tests/bot/chat/recording.py).
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable

import pytest

from bot.chat.admission import CHANNEL_NOT_ALLOWED, NEEDS_PROMPT, RESTARTING, SERVERS_ONLY
from bot.chat.command import Parent
from bot.chat.safety_mode import FAIL_CLOSED, channel_mode
from bot.chat.service import NOT_STARTED
from bot.config import Settings
from bot.domain import Role, SafetyMode, SideStatus
from bot.engine.inline_options import CompareArgs
from bot.engine.requests import INVISIBLE
from bot.runtime import make_guard
from bot.store.sqlite import Store
from tests.bot.chat.recording import PLATFORM, RecordingSurface, chat_service
from tests.conftest import SMALL_PAIR
from tests.fakes.ollama_fake import OllamaFake, Script
from tests.vocabularies import VOCABULARIES
from tests.waiting import wait_until

BASE, INSTRUCT = SMALL_PAIR


def slow(ollama: OllamaFake, tokens: int = 40, delay: float = 0.05) -> None:
    for model in SMALL_PAIR:
        ollama.script(model, Script(tokens=[f"w{n} " for n in range(tokens)], delay=delay))


# ---- the happy path ------------------------------------------------------------------------


async def test_a_comparison_runs_from_ack_to_final_text_storing_every_message(
    chat_settings: Callable[..., Settings],
):
    async with chat_service(chat_settings()) as chat:
        surface = await chat.compare("hi")
        await chat.settled()
        names = surface.names()
        # Acknowledged first, then the outputs, the vote choices, and the last word.
        assert names[0] == "acknowledge" and "output_view" in names and "seed_votes" in names
        assert names[-1] == "settle" and "refuse" not in names and "tell" not in names
        view = surface.view
        assert view is not None and view.final is not None and view.final.finished
        assert view.final.base.status is SideStatus.DONE and view.final.notice is None
        store = chat.runtime.store
        row = await store.comparison(view.final.comparison_id)
        assert row is not None and row["status"] == "done" and row["thread_id"] == "T1"
        refs = [await store.message_ref(PLATFORM, "C1", m) for m in view.message_ids]
        assert [ref.role if ref else "missing" for ref in refs] == [None, Role.BASE]


async def test_an_acknowledgement_the_platform_refuses_runs_nothing_and_frees_the_place(
    chat_settings: Callable[..., Settings], ollama: OllamaFake
):
    async with chat_service(chat_settings(max_running=1)) as chat:
        refused = await chat.compare("hi", surface=RecordingSurface(refuse_ack=True))
        assert refused.view is None and "output_view" not in refused.names()
        assert (chat.runtime.queue.running, chat.runtime.queue.waiting) == (0, 0)
        after = await chat.compare("next", user="U2")
        assert not after.of("acknowledge")[0].queued  # the place was free
        await chat.settled()
    assert [r["prompt"] for r in ollama.requests_to("/api/generate")] == ["next"]


# ---- one behaviour where there were two ---------------------------------------------------


async def test_a_blind_side_that_fails_names_no_model_before_the_reveal(
    chat_settings: Callable[..., Settings], ollama: OllamaFake
):
    ollama.models.discard(INSTRUCT)  # not pulled: Ollama's 404 names the tag
    async with chat_service(chat_settings()) as chat:
        surface = await chat.compare("hi", blind=True)
        await chat.settled()
        final = surface.view.final if surface.view else None
        assert final is not None and final.request.blind
        assert final.instruct.status is SideStatus.FAILED and final.instruct.error
        assert INSTRUCT not in final.instruct.error and "(hidden)" in final.instruct.error
        # Not blind, the same failure names the tag and the line that fixes it.
        surface = await chat.compare("hi", user="U2", blind=False)
        await chat.settled()
        final = surface.view.final if surface.view else None
        assert final is not None and final.instruct.error and INSTRUCT in final.instruct.error


@pytest.mark.parametrize("prompt", ["\u200b\u200d\ufeff", "\u3164\u2800", " \u2060 "])
async def test_a_prompt_of_only_invisible_characters_is_refused(
    chat_settings: Callable[..., Settings], ollama: OllamaFake, prompt: str
):
    async with chat_service(chat_settings()) as chat:
        surface = await chat.compare(prompt)
        assert surface.of("refuse") == [INVISIBLE] and "acknowledge" not in surface.names()
    assert ollama.requests == []


async def test_the_guard_waits_as_long_as_a_first_token_on_every_platform(
    chat_settings: Callable[..., Settings],
):
    settings = chat_settings(first_token_timeout=42.0, total_timeout=300.0)
    guard = make_guard(settings)
    try:
        assert guard.timeout == 42.0
    finally:
        await guard.close()


async def test_an_unreadable_safety_mode_fails_closed_to_withhold(
    chat_settings: Callable[..., Settings],
):
    settings = chat_settings(safety_default="label", safety_nsfw_default="spoiler")
    store = await Store.open(settings.database_path, vocabularies=VOCABULARIES)
    assert await channel_mode(store, settings, PLATFORM, "C1") == (SafetyMode.LABEL, False)
    await store.close()  # the database cannot answer: Discord and Slack read it the same way
    for nsfw in (False, True):
        mode, chosen = await channel_mode(store, settings, PLATFORM, "C1", nsfw=nsfw)
        assert (mode, chosen) == (FAIL_CLOSED, False) == (SafetyMode.WITHHOLD, False)


async def test_a_full_queue_refuses_before_the_ack_and_costs_no_rate_limit_token(
    chat_settings: Callable[..., Settings], ollama: OllamaFake
):
    slow(ollama, tokens=10, delay=0.05)
    settings = chat_settings(max_running=1, max_waiting=0, user_burst=1)
    async with chat_service(settings) as chat:
        running = await chat.compare("first", user="U1")
        refused = await chat.compare("second", user="U2")
        assert refused.names() == ["refuse"]
        assert refused.of("refuse")[0].startswith("twinbot is busy: 0 comparisons are already")
        await chat.settled()
        assert running.view is not None and running.view.final is not None
        # U2's only token was not spent by the refusal: the queue is free, so it runs now.
        again = await chat.compare("second", user="U2")
        assert again.names()[0] == "acknowledge"
        await chat.settled()
    assert [r.body["model"] for r in ollama.requests].count(BASE) == 2


async def test_blind_can_be_asked_for_and_opted_out_of_where_it_is_the_default(
    chat_settings: Callable[..., Settings],
):
    async with chat_service(chat_settings(blind_default=True)) as chat:
        default = await chat.compare("a")
        opted_out = await chat.compare("b", user="U2", blind=False)
        await chat.settled()
        assert default.of("acknowledge")[0].request.blind
        assert not opted_out.of("acknowledge")[0].request.blind
    async with chat_service(chat_settings(blind_channels=["C1"])) as chat:
        here = await chat.compare("c")
        assert here.of("acknowledge")[0].request.blind
        await chat.settled()


async def test_a_demo_brings_its_settings_clamped_to_the_server_limit(
    chat_settings: Callable[..., Settings],
):
    async with chat_service(chat_settings(max_tokens=40, max_tokens_limit=50)) as chat:
        surface = await chat.compare("", demo="greeting")
        parent: Parent = surface.of("acknowledge")[0]
        assert parent.demo is not None and parent.demo.name == "greeting"
        assert parent.request.prompt == "こんにちは" and parent.request.options.max_tokens == 50
        mixed = await chat.compare(
            "", user="U2", demo="greeting", args=CompareArgs("", max_tokens=7)
        )
        assert mixed.of("acknowledge")[0].request.options.max_tokens == 7  # the user's own wins
        assert (await chat.compare("", user="U3")).of("refuse") == [NEEDS_PROMPT]
        await chat.settled()


async def test_direct_messages_and_channels_outside_the_allowlist_are_refused(
    chat_settings: Callable[..., Settings],
):
    async with chat_service(chat_settings()) as chat:
        assert (await chat.compare("hi", in_server=False)).of("refuse") == [SERVERS_ONLY]
    async with chat_service(chat_settings(), allowed_channels=["C9"]) as chat:
        assert (await chat.compare("hi")).of("refuse") == [CHANNEL_NOT_ALLOWED]


# ---- every fault handled once ---------------------------------------------------------------


async def test_after_a_shutdown_no_message_is_left_writing(
    chat_settings: Callable[..., Settings], ollama: OllamaFake
):
    slow(ollama, tokens=200, delay=0.05)
    async with chat_service(chat_settings(max_running=2)) as chat:
        surfaces = [await chat.compare(f"p{n}", user=f"U{n}") for n in range(4)]
        await wait_until(lambda: all(s.view and s.view.frames for s in surfaces[:2]), within=5.0)
        await chat.service.drain(0.0)
        running, waiting = surfaces[:2], surfaces[2:]
        for surface in running:  # stopped: every side in a final state, shown and stored
            final = surface.view.final if surface.view else None
            assert final is not None and final.finished
            assert {side.status for side in final.sides} == {SideStatus.CANCELLED}
            row = await chat.runtime.store.comparison(final.comparison_id)
            assert row is not None and row["status"] == "interrupted"
        for surface in waiting:  # never started: their parent says so
            assert surface.view is None
            assert surface.of("show_parent")[-1].outcome == NOT_STARTED, surface.names()
        after = await chat.compare("late", user="U9")
        assert after.of("refuse") == [RESTARTING]


async def test_a_shutdown_right_after_the_ack_still_says_it_did_not_run(
    chat_settings: Callable[..., Settings], ollama: OllamaFake
):
    slow(ollama, tokens=100, delay=0.05)
    async with chat_service(chat_settings(max_running=1)) as chat:
        await chat.compare("first")
        waiting = await chat.compare("second", user="U2")
        await chat.service.drain(0.0)  # before the second's task ever ran a line
        assert waiting.view is None
        assert waiting.of("show_parent")[-1].outcome == NOT_STARTED
        queue = chat.runtime.queue
        assert (queue.running, queue.waiting) == (0, 0)  # its reserved place was given back


async def test_a_final_text_is_retried_until_it_lands(chat_settings: Callable[..., Settings]):
    async with chat_service(chat_settings()) as chat:
        surface = RecordingSurface(finish_failures=2)
        await chat.compare("hi", surface=surface)
        await chat.settled(within=20)
        view = surface.view
        assert view is not None and len(view.finals) == 3 and view.final is not None
        assert view.final.finished and view.final.base.text


async def test_the_place_is_given_back_when_the_models_are_done_not_when_the_text_lands(
    chat_settings: Callable[..., Settings],
):
    async with chat_service(chat_settings(max_running=1)) as chat:
        slow_to_show = RecordingSurface(finish_failures=2)  # the platform is slow to take it
        await chat.compare("first", surface=slow_to_show)
        await wait_until(lambda: bool(slow_to_show.view and slow_to_show.view.finals), within=10.0)
        assert slow_to_show.view is not None
        assert slow_to_show.view.final is None  # the final text is still being retried...
        assert chat.runtime.queue.running == 0  # ...while the model server is free already
        next_one = await chat.compare("second", user="U2")
        assert not next_one.of("acknowledge")[0].queued  # it starts at once
        await chat.settled(within=20)


async def test_a_final_text_is_retried_only_until_the_shutdown_grace_ends(
    chat_settings: Callable[..., Settings], ollama: OllamaFake
):
    slow(ollama, tokens=100, delay=0.05)
    async with chat_service(chat_settings(), cleanup=1.5) as chat:
        surface = RecordingSurface(finish_failures=1_000)
        await chat.compare("hi", surface=surface)
        await wait_until(lambda: bool(surface.view and surface.view.frames), within=5.0)
        await asyncio.wait_for(chat.service.drain(0.0), 10)
        assert surface.view is not None and 1 <= len(surface.view.finals) <= 3
        assert surface.view.final is None  # never landed, and the bot still stopped in time


async def test_a_locked_database_at_the_command_still_shows_it_says_so_and_saves_it_later(
    chat_settings: Callable[..., Settings],
):
    settings = chat_settings()
    async with chat_service(settings) as chat:
        locker = sqlite3.connect(settings.database_path, isolation_level=None)
        locker.execute("BEGIN EXCLUSIVE")  # another program holds the database
        try:
            surface = await chat.compare("hi")
            await wait_until(lambda: bool(surface.view and surface.view.final), within=10.0)
        finally:
            locker.execute("ROLLBACK")
            locker.close()
        view = surface.view
        assert view is not None and view.started is not None and view.final is not None
        assert view.started.comparison_id == 0  # shown before it could be stored
        assert view.final.notice is not None and "not saved yet" in view.final.notice
        assert view.final.base.text  # the comparison ran and showed everything
        await chat.settled()
        await chat.runtime.service.settle_writes()
        store = chat.runtime.store
        row = await store.comparison(1)
        assert row is not None and row["status"] == "done" and row["prompt"] == "hi"
        assert set(await store.outputs(1)) == {Role.BASE, Role.INSTRUCT}
        for message_id in view.message_ids:  # the messages, too: votes on them count
            ref = await store.message_ref(PLATFORM, "C1", message_id)
            assert ref is not None and ref.comparison_id == 1


async def test_under_a_burst_every_refusal_is_private_and_every_ack_runs(
    chat_settings: Callable[..., Settings], ollama: OllamaFake
):
    slow(ollama, tokens=5, delay=0.02)
    settings = chat_settings(max_running=1, max_waiting=3, user_burst=5, channel_burst=50)
    async with chat_service(settings) as chat:
        surfaces = await asyncio.gather(*(chat.compare(f"p{n}", user=f"U{n}") for n in range(12)))
        await chat.settled(within=30)
    acked = [s for s in surfaces if "acknowledge" in s.names()]
    refused = [s for s in surfaces if "refuse" in s.names()]
    assert len(acked) + len(refused) == 12 and acked and refused
    for surface in refused:  # nothing public: no parent, no thread
        assert surface.names() == ["refuse"]
    for surface in acked:  # admitted means run: never a public "not run" afterwards
        assert surface.view is not None and surface.view.final is not None
        assert all(parent.outcome is None for parent in surface.of("show_parent"))


async def test_blind_reveal_timers_survive_a_restart(chat_settings: Callable[..., Settings]):
    settings = chat_settings(blind_reveal_after=3600)
    async with chat_service(settings) as chat:
        surface = await chat.compare("hi", blind=True)
        await chat.settled()
        assert chat.announcer.said == []  # an hour to go
    # Restarted with a shorter close time: the timer is armed again from the store.
    async with chat_service(chat_settings(blind_reveal_after=0.2)) as chat:
        await asyncio.wait_for(chat.announcer.heard.wait(), 5)
        [said] = chat.announcer.said
        assert said.why == "the vote closed" and said.thread_id == "T1"
        first = surface.of("acknowledge")[0].request.shown_first
        assert said.shown_first == first
        row = await chat.runtime.store.comparison(1)
        assert row is not None and row["revealed_at"] is not None
