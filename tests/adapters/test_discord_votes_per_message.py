"""On Discord, a vote follows the reactions people see on each message."""

from __future__ import annotations

from collections.abc import Callable

import pytest

# isort: off
from tests.adapters.discord_harness import discord_bot  # first: audioop warning

# isort: on
from bot.config import Settings
from tests.adapters.discord_harness import settings_maker
from tests.adapters.test_discord_reactions import choices, compared, logged
from tests.fakes.ollama_fake import OllamaFake


@pytest.fixture
def bot_settings(
    make_settings: Callable[..., Settings], ollama: OllamaFake
) -> Callable[..., Settings]:
    return settings_maker(make_settings, ollama.url, discord_edit_interval=0.2)


async def test_handshake_on_the_reply_and_the_thread_then_off_the_reply_stays_a_tie(
    bot_settings: Callable[..., Settings],
) -> None:
    async with discord_bot(bot_settings()) as bot:
        rec, thread_id, both = await compared(bot)
        parent = bot.parent(rec)
        fake, store, user = bot.fake, bot.runtime.store, bot.fake.user_id
        await fake.dispatch_reaction_add(parent.channel_id, parent.id, user, "🤝")
        await fake.dispatch_reaction_add(thread_id, both, user, "🤝")
        await fake.dispatch_reaction_remove(parent.channel_id, parent.id, user, "🤝")
        rows = await logged(store, 7)
        assert {r["message_id"] for r in rows[4:]} == {str(parent.id), str(both)}
        assert choices(await store.votes()) == {"tie": 1}
        await store.recompute_votes()
        assert choices(await store.votes()) == {"tie": 1}
        await fake.dispatch_reaction_remove(thread_id, both, user, "🤝")
        await logged(store, 8)
        assert await store.votes() == []
