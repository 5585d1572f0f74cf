"""On Slack a reaction is in the log before bolt acknowledges it, so a SIGTERM loses none:
what was acked is logged, and what was not is Slack's to send again."""

from __future__ import annotations

import asyncio
import dataclasses
import os
import signal
import sqlite3
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import aiohttp
import pytest

from adapters.slack_app.runner import run
from bot.config import Settings
from bot.domain import Requester
from bot.store.sqlite import Store, utc_iso
from tests.adapters.slack_harness import slack_bot
from tests.adapters.test_slack_runner import free_port, slack_settings
from tests.adapters.test_slack_votes import one_comparison
from tests.fakes.ollama_fake import OllamaFake
from tests.fakes.slack_fake import SlackFake
from tests.vocabularies import VOCABULARIES

EVENTS = 10_000
SENDERS = 32  # requests in flight at once, like a busy workspace
ITEM_TS = "1700000000.000100"


def event_ts(index: int) -> str:
    """A distinct millisecond per event (the log keeps milliseconds), half-way into it."""
    return f"{1_700_000_000 + (index + 0.5) / 1000:.6f}"


def logged_as(ts: str) -> str:
    return utc_iso(datetime.fromtimestamp(float(ts), UTC))


async def test_a_reaction_is_logged_before_its_ack(settings: Settings, ollama: OllamaFake):
    async with slack_bot(settings) as slack:
        parent = await one_comparison(slack)
        store = slack.bot.runtime.store
        for index in range(10):
            ts = event_ts(index)
            await slack.react("b", parent.ts, user=f"U0EARLY{index}", event_ts=ts)  # 200 back
            times = {r["occurred_at"] for r in await store.reactions(1)}  # no waiting
            assert logged_as(ts) in times


async def test_in_socket_mode_the_envelope_is_acked_only_once_the_reaction_is_logged(
    settings: Settings, ollama: OllamaFake
):
    async with slack_bot(settings, socket=True) as slack:
        await slack.fake.wait_ack(await slack.fake.send_slash_command(text="hi"))
        await slack.fake.wait_for(lambda: len(slack.parents()) == 1)
        await slack.settled()
        [parent] = slack.parents()
        fake, seen = slack.fake, dict[str, int]()
        heard = fake._on_socket_message

        def on_ack(data: dict[str, Any]) -> None:
            # What a reader of the database file sees at the moment the ack arrives.
            with sqlite3.connect(settings.database_path) as raw:
                [count] = raw.execute("SELECT count(*) FROM reactions WHERE by_bot = 0").fetchone()
            seen[str(data.get("envelope_id"))] = count
            heard(data)

        fake._on_socket_message = on_ack  # type: ignore[method-assign]
        envelopes = []
        for index in range(5):
            event = fake.reaction_event("a", parent.ts, user=f"U0SOCK{index}")
            envelopes.append(await fake.send_event(event))
            await fake.wait_for(lambda: envelopes[-1] in seen)
        assert [seen[e] for e in envelopes] == [1, 2, 3, 4, 5]


async def comparison_on_slack(
    settings: Settings, make_request: Callable[..., Any], fake: SlackFake
):
    async with await Store.open(settings.database_path, vocabularies=VOCABULARIES) as store:
        request = dataclasses.replace(make_request("hi"), requester=Requester("slack", "U0ASKER"))
        cid = await store.create_comparison(request)
        await store.add_message(cid, "slack", fake.channel_id, ITEM_TS, kind="parent")


async def serve_until(url: str, http: aiohttp.ClientSession) -> None:
    for _ in range(500):
        try:
            async with http.get(url) as response:
                if response.status == 405:  # POST only: it is up
                    return
        except aiohttp.ClientConnectionError:
            pass
        await asyncio.sleep(0.02)
    raise AssertionError("the Slack app never listened")


async def send_all(
    fake: SlackFake, url: str, indexes: list[int], *, stop_after: int | None
) -> set[int]:
    """Send reaction events `indexes`, SENDERS at a time; SIGTERM once `stop_after` were acked.
    Returns the indexes Slack would count as delivered (answered 200)."""
    acked: set[int] = set()
    queue = list(reversed(indexes))
    async with aiohttp.ClientSession() as http:
        await serve_until(url, http)

        async def sender() -> None:
            while queue:
                index = queue.pop()
                event = fake.reaction_event(
                    ["a", "b", "handshake", "-1"][index % 4], ITEM_TS,
                    user=f"U0V{index % 100:03d}", removed=index % 9 == 0, event_ts=event_ts(index),
                )  # fmt: skip
                body, headers = fake.signed_event(event)
                try:
                    async with http.post(url, data=body, headers=headers) as response:
                        if response.status == 200:
                            acked.add(index)
                except aiohttp.ClientError:
                    continue  # not acked: Slack sends it again later
                if stop_after is not None and len(acked) == stop_after:
                    os.kill(os.getpid(), signal.SIGTERM)

        await asyncio.gather(*(sender() for _ in range(SENDERS)))
    return acked


async def logged_indexes(settings: Settings) -> list[int]:
    by_time = {logged_as(event_ts(i)): i for i in range(EVENTS)}
    async with await Store.open(settings.database_path, vocabularies=VOCABULARIES) as store:
        rows = await store.reactions(1)
    return [by_time[r["occurred_at"]] for r in rows if not r["by_bot"]]


# 10,000 events over loopback: a loaded machine needs more than the suite's 60 s (a hang guard).
@pytest.mark.timeout(240)
async def test_ten_thousand_reactions_with_a_sigterm_in_the_middle_lose_none(
    make_settings: Callable[..., Settings], make_request: Callable[..., Any], ollama: OllamaFake
):
    async with SlackFake() as fake:
        port = free_port()
        settings = slack_settings(
            make_settings, fake, ollama, slack_signing_secret=fake.signing_secret,
            slack_host="127.0.0.1", slack_port=port,
        )  # fmt: skip
        url = f"http://127.0.0.1:{port}/slack/events"
        await comparison_on_slack(settings, make_request, fake)

        bot = asyncio.create_task(run(settings))
        acked = await send_all(fake, url, list(range(EVENTS)), stop_after=EVENTS // 2)
        assert await asyncio.wait_for(bot, 30) == 0
        logged = await logged_indexes(settings)
        assert acked - set(logged) == set(), "an acknowledged reaction was lost"
        assert EVENTS // 2 <= len(acked) < EVENTS  # the stop came in the middle
        assert len(logged) == len(set(logged))  # each logged once

        # Slack sends what went unanswered again, to the restarted app: now every one is in.
        missing = sorted(set(range(EVENTS)) - acked)
        bot = asyncio.create_task(run(settings))
        again = await send_all(fake, url, missing, stop_after=None)
        os.kill(os.getpid(), signal.SIGTERM)
        assert await asyncio.wait_for(bot, 30) == 0
        assert again == set(missing)
        logged = await logged_indexes(settings)
        assert sorted(set(logged)) == list(range(EVENTS))
        async with await Store.open(settings.database_path, vocabularies=VOCABULARIES) as store:
            live = {(v.user_key, v.choice) for v in await store.votes()}
            await store.recompute_votes()
            assert {(v.user_key, v.choice) for v in await store.votes()} == live
