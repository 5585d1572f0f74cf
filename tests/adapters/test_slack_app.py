"""The bot as a whole: several comparisons sharing one workspace's budget, shutdown, events."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

import pytest

from adapters.slack_app.app import CLEANUP
from adapters.slack_app.scheduler import Budget
from bot.config import Settings
from bot.domain import Role
from tests.adapters.slack_harness import side_output, slack_bot
from tests.conftest import SMALL_PAIR
from tests.fakes.ollama_fake import OllamaFake, Script
from tests.fakes.slack_fake import ApiCall

BASE, INSTRUCT = SMALL_PAIR
log = logging.getLogger(__name__)


def max_in_window(calls: list[ApiCall], window: float) -> int:
    times = [c.at for c in calls if c.status == 200]
    return max((sum(1 for t in times if a <= t < a + window) for a in times), default=0)


async def test_three_comparisons_share_the_workspace_budget_fairly(
    make_settings: Callable[..., Settings], ollama: OllamaFake
):
    settings = make_settings(ollama_host=ollama.url, max_running=3)  # all three run at once
    # Tier 3 scaled down: 10 chat.update calls per 2 s for the workspace (Slack: ~50 per 60 s).
    window, limit = 2.0, 10
    tokens = [f"t{n} " for n in range(40)]
    ollama.script(BASE, Script(tokens=tokens, delay=0.05))
    ollama.script(INSTRUCT, Script(tokens=tokens[::-1], delay=0.05))
    channels = ["C0ONE", "C0TWO", "C0THREE"]
    options = {"update_limit": limit, "update_window": window}
    async with slack_bot(settings, fake_options=options, updates=Budget(limit, window)) as slack:
        loop = asyncio.get_running_loop()
        started = loop.time()
        for n, channel in enumerate(channels):
            response = await slack.command(f"prompt {n}", channel_id=channel, user_id=f"U{n}")
            assert response.status == 200
        await slack.settled(within=9)
        elapsed = loop.time() - started
        updates = slack.fake.calls_to("chat.update")
        per_channel = {c: sum(u.params["channel"] == c for u in updates) for c in channels}
        log.info(  # the figures docs/slack.md quotes (pytest --log-cli-level=INFO)
            "3 comparisons: %d chat.update calls in %.1f s, %d 429s, at most %d per %g s, %s",
            len(updates), elapsed, slack.fake.ratelimited_total,
            max_in_window(updates, window), window, per_channel,
        )  # fmt: skip
        assert slack.fake.ratelimited_total == 0
        assert max_in_window(updates, window) <= limit
        assert min(per_channel.values()) >= 2, per_channel  # every comparison got live edits
        assert max(per_channel.values()) - min(per_channel.values()) <= 3, per_channel
        for channel in channels:
            [parent] = slack.parents(channel)
            replies = slack.replies(parent)
            base, base_footer, _ = side_output(replies, "Base")
            instruct, instruct_footer, _ = side_output(replies, "Instruct")
            assert (base, instruct) == ("".join(tokens), "".join(tokens[::-1]))
            assert base_footer and base_footer.startswith(":white_check_mark: 41 tokens")
            assert instruct_footer and instruct_footer.startswith(":white_check_mark: 41 tokens")


async def test_shutdown_stops_a_comparison_and_still_shows_and_stores_it(
    settings: Settings, ollama: OllamaFake
):
    ollama.script(BASE, Script(tokens=[f"b{n} " for n in range(200)], delay=0.05))
    ollama.script(INSTRUCT, Script(tokens=["done"]))
    async with slack_bot(settings) as slack:
        await slack.command("long")
        await slack.fake.wait_for(
            lambda: any(
                "b3 " in c.params.get("text", "") for c in slack.fake.calls_to("chat.update")
            )
        )
        await slack.bot.aclose(grace=0)
        [parent] = slack.parents()
        base, footer, _ = side_output(slack.replies(parent), "Base")
        assert footer == ":octagonal_sign: stopped before the model finished"
        assert base.startswith("b0 b1 b2 b3 ") and len(base) < len("b0 ") * 200
        store = slack.bot.runtime.store
        comparison = await store.comparison(1)
        assert comparison is not None and comparison["status"] == "interrupted"
        outputs = await store.outputs(1)
        assert outputs[Role.BASE]["status"] == "cancelled" and outputs[Role.BASE]["text"] == base
        assert outputs[Role.INSTRUCT]["status"] == "done"


async def test_shutdown_leaves_no_message_writing_with_four_comparisons_on_a_tier3_budget(
    make_settings: Callable[..., Settings], ollama: OllamaFake
):
    # Slack's Tier 3 scaled down (4 chat.update per 2 s for the workspace): the final texts of
    # four stopped comparisons (12 replies and 4 parents) need several windows to go out, so a
    # stopped comparison gets production's CLEANUP to show its final state.
    settings = make_settings(ollama_host=ollama.url, max_running=4)
    for model in (BASE, INSTRUCT):
        ollama.script(model, Script(tokens=[f"w{n} " for n in range(400)], delay=0.05))
    options = {"update_limit": 4, "update_window": 2.0}
    budget = Budget(4, 2.0)
    async with slack_bot(settings, fake_options=options, updates=budget, cleanup=CLEANUP) as slack:
        channels = [f"C0STOP{n}" for n in range(4)]
        for n, channel in enumerate(channels):
            await slack.command(f"p{n}", channel_id=channel, user_id=f"U0STOP{n}")
        await slack.fake.wait_for(lambda: len(slack.fake.calls_to("chat.postMessage")) == 12)
        await slack.bot.aclose(grace=0)  # SIGTERM, no grace
        assert slack.fake.ratelimited_total == 0
        for channel in channels:
            [parent] = slack.parents(channel)
            assert ":hourglass" not in parent.text
            for role in ("Base", "Instruct"):
                _, footer, _ = side_output(slack.replies(parent), role)
                assert footer == ":octagonal_sign: stopped before the model finished", channel
        for n in range(1, 5):
            row = await slack.bot.runtime.store.comparison(n)
            assert row is not None and row["status"] == "interrupted"


async def test_shutdown_grace_lets_a_running_comparison_finish(
    settings: Settings, ollama: OllamaFake
):
    ollama.script(BASE, Script(tokens=[f"b{n} " for n in range(10)], delay=0.05))
    async with slack_bot(settings) as slack:
        await slack.command("short")
        await slack.fake.wait_for(lambda: len(slack.fake.calls_to("chat.postMessage")) == 3)
        await slack.bot.aclose(grace=5)
        [parent] = slack.parents()
        base, footer, _ = side_output(slack.replies(parent), "Base")
        assert base == "".join(f"b{n} " for n in range(10))
        assert footer is not None and footer.startswith(":white_check_mark:")


@pytest.mark.parametrize("removed", [False, True])
async def test_reaction_events_are_acknowledged(settings: Settings, removed: bool):
    async with slack_bot(settings) as slack:
        assert slack.http is not None
        event = slack.fake.reaction_event("+1", "1700000000.000100", removed=removed)
        body, headers = slack.fake.signed_event(event)
        response = await slack.http.post("/slack/events", data=body, headers=headers)
        assert response.status == 200  # not bolt's 404 "unhandled request": Slack would retry


async def test_the_app_uses_the_client_it_was_given(settings: Settings):
    async with slack_bot(settings) as slack:
        assert slack.bot.app.client is slack.bot.client
        assert slack.bot.scheduler("T1") is slack.bot.scheduler("T1")
        assert slack.bot.scheduler("T1") is not slack.bot.scheduler("T2")
