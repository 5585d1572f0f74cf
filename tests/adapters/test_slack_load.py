"""Slack under load: Slack's own 429s and 5xx, the fair queue's places, refusals, admins."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any
from urllib.parse import urlparse

from adapters.slack_app.mrkdwn import escape
from adapters.slack_app.queueing import STARTING_TEXT
from bot.chat.service import NOT_STARTED
from bot.config import Settings
from tests.adapters.slack_harness import Slack, side_output, slack_bot
from tests.conftest import SMALL_PAIR
from tests.fakes.ollama_fake import OllamaFake, Script

BASE, INSTRUCT = SMALL_PAIR
log = logging.getLogger(__name__)


def rate_limited(slack: Slack) -> float:
    registry = slack.bot.runtime.metrics.registry
    value = registry.get_sample_value("twinbot_platform_rate_limited_total", {"platform": "slack"})
    return value or 0.0


async def test_a_429_and_a_5xx_on_chat_update_mid_stream_still_end_complete(
    settings: Settings, ollama: OllamaFake
):
    tokens = [f"w{n} " for n in range(40)]
    ollama.script(BASE, Script(tokens=tokens, delay=0.05))
    ollama.script(INSTRUCT, Script(tokens=tokens[::-1], delay=0.05))
    async with slack_bot(settings) as slack:
        fake = slack.fake
        await slack.command("go")
        await fake.wait_for(lambda: len(fake.calls_to("chat.update")) >= 2)
        fake.fail_next("chat.update", status=429, retry_after=1)
        fake.fail_next("chat.update", status=503)
        await slack.settled(within=15)
        updates = fake.calls_to("chat.update")
        statuses = [c.status for c in updates]
        log.info(  # figures for the report (pytest --log-cli-level=INFO)
            "429+5xx mid-stream: %d chat.update calls, %d answered 429, %d answered 503",
            len(updates), statuses.count(429), statuses.count(503),
        )  # fmt: skip
        assert statuses.count(429) == 1 and statuses.count(503) == 1
        assert rate_limited(slack) == 1.0
        stats = slack.bot.scheduler(fake.team_id).stats
        assert (stats.rate_limited, stats.retried, stats.dropped) == (1, 1, 0)
        [parent] = slack.parents()
        replies = slack.replies(parent)
        base, base_footer, _ = side_output(replies, "Base")
        instruct, instruct_footer, _ = side_output(replies, "Instruct")
        assert (base, instruct) == ("".join(tokens), "".join(tokens[::-1]))
        assert base_footer and base_footer.startswith(":white_check_mark: 41 tokens")
        assert instruct_footer and instruct_footer.startswith(":white_check_mark: 41 tokens")


def queued_settings(
    make: Callable[..., Settings], ollama: OllamaFake, delay: float = 0.4, **kw: Any
) -> Settings:
    # One comparison at a time; each takes about `delay` seconds.
    ollama.script(BASE, Script(tokens=["b"], first_delay=delay))
    ollama.script(INSTRUCT, Script(tokens=["i"], first_delay=delay))
    return make(ollama_host=ollama.url, max_running=1, **kw)


async def command(slack: Slack, user: str, channel: str | None = None) -> str:
    """Send /compare as `user` from their own channel; returns its response_url's path."""
    url = slack.fake.response_url()
    response = await slack.command(
        f"from {user}", user_id=user, channel_id=channel or f"C{user}", response_url=url
    )
    assert response.status == 200
    assert await response.text() == "", await response.text()  # a bare ack: it was accepted
    return urlparse(url).path


async def test_waiting_users_are_told_their_place_as_it_moves(
    make_settings: Callable[..., Settings], ollama: OllamaFake
):
    settings = queued_settings(make_settings, ollama)
    async with slack_bot(settings, place_interval=0.05) as slack:
        first = await command(slack, "U0FIRST")
        second = await command(slack, "U0SECOND")
        third = await command(slack, "U0THIRD")
        await slack.settled()
        fake = slack.fake
        assert fake.responses_to(first) == []  # ran at once: nothing to say
        said = {path: [b["text"] for b in fake.responses_to(path)] for path in (second, third)}
        assert [t.split("*")[1] for t in said[second][:-1]] == ["you are next"]
        assert [t.split("*")[1] for t in said[third][:-1]] == ["1 ahead of you", "you are next"]
        for path in (second, third):
            bodies = fake.responses_to(path)
            assert [b["replace_original"] for b in bodies] == [False] + [True] * (len(bodies) - 1)
            assert all(b["response_type"] == "ephemeral" for b in bodies)
            assert fake.ephemerals_shown(path) == [STARTING_TEXT]  # one message, kept current
        assert all(len(slack.parents(f"C{u}")) == 1 for u in ("U0FIRST", "U0SECOND", "U0THIRD"))
        assert slack.bot.runtime.queue.running == 0 and slack.bot.runtime.queue.waiting == 0


async def test_a_full_queue_refuses_politely_and_runs_nothing(
    make_settings: Callable[..., Settings], ollama: OllamaFake
):
    # Long enough that the first still runs when the second arrives, even on a busy machine.
    settings = queued_settings(make_settings, ollama, delay=1.5, max_waiting=0)
    async with slack_bot(settings) as slack:
        await command(slack, "U0FIRST")
        # Refused in the ack itself, before any rate-limit token or message is spent.
        body = await slack.ack_json("from U0SECOND", user_id="U0SECOND", channel_id="CU0SECOND")
        await slack.settled()
        assert body["response_type"] == "ephemeral"
        assert body["text"].startswith("twinbot is busy: 0 comparisons are already waiting.")
        assert body["text"].endswith(" s.") and "Try again in about " in body["text"]
        assert slack.parents("CU0SECOND") == []
        assert await slack.bot.runtime.store.comparison(2) is None
        errors = slack.bot.runtime.metrics.registry
        refused = {"kind": "refused_queue_full"}
        assert errors.get_sample_value("twinbot_errors_total", refused) == 1.0


async def test_admins_skip_the_rate_limit_and_a_full_queue(
    make_settings: Callable[..., Settings], ollama: OllamaFake
):
    settings = queued_settings(
        make_settings, ollama, delay=1.5, max_waiting=0, user_burst=1, slack_admin_users="U0ADMIN"
    )
    async with slack_bot(settings) as slack:
        # Each in its own channel, so that only the user's own limit could stop the next one.
        admin = [await command(slack, "U0ADMIN", f"C0ADMIN{n}") for n in range(3)]
        refused = await slack.ack_json("from U0PLEB", user_id="U0PLEB", channel_id="CU0PLEB")
        assert refused["text"].startswith("twinbot is busy: ")
        await slack.settled()
        # All three ran, though the queue was full and the user's burst is 1: they waited
        # their turn (and may have been told their place), but none was refused.
        assert all(len(slack.parents(f"C0ADMIN{n}")) == 1 for n in range(3))
        told = [body["text"] for path in admin for body in slack.fake.responses_to(path)]
        assert not any("already waiting" in text for text in told)  # never refused
        assert slack.bot.runtime.queue.running == 0
        # The refusal cost no token: with the queue free again, the user's one token is there.
        again = await command(slack, "U0PLEB")
        await slack.settled()
        assert again and len(slack.parents("CU0PLEB")) == 1


async def test_a_shutdown_tells_waiting_users_and_stores_the_running_one_as_interrupted(
    make_settings: Callable[..., Settings], ollama: OllamaFake
):
    settings = make_settings(ollama_host=ollama.url, max_running=1)
    ollama.script(BASE, Script(tokens=[f"b{n} " for n in range(100)], delay=0.05))
    async with slack_bot(settings, place_interval=0.05) as slack:
        await command(slack, "U0FIRST")
        waiting = await command(slack, "U0SECOND")
        fake = slack.fake
        await fake.wait_for(lambda: len(fake.responses_to(waiting)) == 1)
        await fake.wait_for(
            lambda: any("b2 " in c.params["text"] for c in fake.calls_to("chat.update"))
        )
        await slack.bot.aclose(grace=0)
        assert fake.ephemerals_shown(waiting) == [escape(NOT_STARTED)]
        [parent] = slack.parents("CU0FIRST")
        _, footer, _ = side_output(slack.replies(parent), "Base")
        assert footer == ":octagonal_sign: stopped before the model finished"
        comparison = await slack.bot.runtime.store.comparison(1)
        assert comparison is not None and comparison["status"] == "interrupted"
        assert await slack.bot.runtime.store.comparison(2) is None
