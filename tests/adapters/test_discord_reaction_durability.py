"""On Discord a reaction is logged as soon as it is received; a SIGTERM in the middle of a
burst loses none of those received: shutdown logs them before the gateway closes."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import os
import signal
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

# isort: off
from tests.adapters.discord_harness import FAST_FAKE, discord_bot  # first: audioop warning

# isort: on
from adapters.discord_bot.runner import run
from bot.chat.reaction_writer import ReactionWriter
from bot.config import Settings
from bot.domain import Requester
from bot.store.sqlite import Store
from tests.adapters.discord_harness import settings_maker
from tests.fakes.discord_fake import DiscordFake, pointed_at
from tests.fakes.ollama_fake import OllamaFake
from tests.vocabularies import VOCABULARIES

EVENTS = 10_000
MESSAGE_ID = 4242


@pytest.fixture
def bot_settings(
    make_settings: Callable[..., Settings], ollama: OllamaFake
) -> Callable[..., Settings]:
    return settings_maker(make_settings, ollama.url, ops_port=0, shutdown_grace=0)


# 10,000 events over loopback: a loaded machine needs more than the suite's 60 s (a hang guard).
@pytest.mark.timeout(240)
async def test_ten_thousand_reactions_with_a_sigterm_in_the_middle_lose_none(
    bot_settings: Callable[..., Settings], make_request: Callable[..., Any]
) -> None:
    settings = bot_settings(discord_token="fake-token")
    async with DiscordFake(**FAST_FAKE) as fake, pointed_at(fake):
        async with await Store.open(settings.database_path, vocabularies=VOCABULARIES) as store:
            request = dataclasses.replace(make_request("hi"), requester=Requester("discord", "1"))
            cid = await store.create_comparison(request)
            await store.add_message(cid, "discord", str(fake.channel_id), str(MESSAGE_ID))
        users = [int(fake.add_user(f"voter{n}")["id"]) for n in range(100)]

        bot = asyncio.create_task(run(settings))
        await fake.wait_until(lambda: fake.identify_count == 1, timeout=5)
        sent = 0
        for index in range(EVENTS):
            dispatch = (
                fake.dispatch_reaction_remove if index % 9 == 0 else fake.dispatch_reaction_add
            )
            emoji = ["🅰️", "🅱️", "🤝", "👎"][index % 4]
            await dispatch(fake.channel_id, MESSAGE_ID, users[index % 100], emoji)
            sent += 1
            await asyncio.sleep(0)  # as over a network: the bot gets its turns meanwhile
            if sent == EVENTS // 2:
                os.kill(os.getpid(), signal.SIGTERM)  # the bot drains while events still come
            if bot.done() or not fake._sockets:
                break  # the gateway is closed: Discord sends nothing more to this session
        assert await asyncio.wait_for(bot, 30) == 0

    async with await Store.open(settings.database_path, vocabularies=VOCABULARIES) as store:
        logged = [r for r in await store.reactions(cid) if not r["by_bot"]]
    assert sent >= EVENTS // 2  # the stop came in the middle of the burst (the drain may
    # take a while: events keep arriving meanwhile and are logged too)
    # Every event sent before the gateway closed was received and logged.
    assert len(logged) == sent, f"{sent - len(logged)} of {sent} reactions lost"


async def test_a_full_buffer_stops_the_gateway_reader_and_costs_no_task_per_event(
    bot_settings: Callable[..., Settings], make_request: Callable[..., Any]
) -> None:
    """discord.py would schedule a task per event before our code ran, so a backlog grew
    memory without bound. Now the reader hands reactions over with no task and, with the
    buffer full, waits before reading the next: the rest waits in the socket."""
    settings = bot_settings()
    async with discord_bot(settings) as bot:
        store, fake = bot.runtime.store, bot.fake
        request = dataclasses.replace(make_request("hi"), requester=Requester("discord", "1"))
        cid = await store.create_comparison(request)
        await store.add_message(cid, "discord", str(fake.channel_id), str(MESSAGE_ID))
        # A writer that holds its first batch back until it is full, which it never is: the
        # buffer stays full until the writer is closed, however fast the machine.
        writer = ReactionWriter(store, batch=CAPACITY * 4, interval=3600, capacity=CAPACITY)
        bot.client.chat.votes.writer = writer
        users = [int(fake.add_user(f"voter{n}")["id"]) for n in range(50)]
        tasks_before = len(asyncio.all_tasks())

        sending = asyncio.create_task(send(fake, users, SENT))
        await until(lambda: writer.waiting_for_room == 1)
        assert len(writer) == CAPACITY  # full, and no further: the reader waits for room
        assert len(asyncio.all_tasks()) - tasks_before < 10  # not one per event read
        assert logged_count(settings.database_path, cid) == 0

        await writer.close()  # writes what it holds, and the reader reads on
        await asyncio.wait_for(sending, 30)
        await until(lambda: logged_count(settings.database_path, cid) == SENT)


CAPACITY, SENT = 16, 500


async def send(fake: DiscordFake, users: list[int], count: int) -> None:
    for index in range(count):
        user = users[index % len(users)]
        await fake.dispatch_reaction_add(fake.channel_id, MESSAGE_ID, user, "🅰️")


async def until(condition: Callable[[], bool], within: float = 30.0) -> None:
    for _ in range(int(within / 0.01)):
        if condition():
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"not true within {within} s")


def logged_count(path: Path, cid: int) -> int:
    with contextlib.closing(sqlite3.connect(path)) as db:
        query = "SELECT count(*) FROM reactions WHERE comparison_id = ?"
        [count] = db.execute(query, (cid,)).fetchone()
    return int(count)
