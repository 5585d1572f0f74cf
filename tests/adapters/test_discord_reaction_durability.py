"""On Discord a reaction is logged as soon as it is received; a SIGTERM in the middle of a
burst loses none of those received: shutdown logs them before the gateway closes."""

from __future__ import annotations

import asyncio
import dataclasses
import os
import signal
from collections.abc import Callable
from typing import Any

import pytest

# isort: off
from tests.adapters.discord_harness import FAST_FAKE  # first: audioop warning

# isort: on
from adapters.discord_bot.runner import run
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
