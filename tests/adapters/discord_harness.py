"""The real Discord bot (discord.py Client, SQLite, the Ollama backend) against the fakes.

Shared by tests/adapters/test_discord_*.py: it builds `TwinbotClient` as `runner.serve` does,
pointed at the fake Discord, with a budget scaled down in time (5 writes per 1 s instead of
per 5 s, the fake enforcing the same) so that tests run fast and still fail on a 429.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

# isort: off
from tests.fakes.discord_fake import (  # first: silences the audioop warning of discord.py
    Channel,
    DiscordFake,
    InteractionRecord,
    RecordedRequest,
    StoredMessage,
    pointed_at,
    running_client,
)

# isort: on
from adapters.discord_bot.client import TwinbotClient
from adapters.discord_bot.pacing import ChannelBudget
from bot.config import Settings
from bot.runtime import Runtime, open_runtime
from tests.vocabularies import VOCABULARIES

FAST_BUDGET = ChannelBudget(limit=5, window=1.0)


def settings_maker(
    make_settings: Callable[..., Settings], ollama_url: str, **defaults: Any
) -> Callable[..., Settings]:
    """A test module's settings: the fake Ollama, the module's defaults, then each test's own."""

    def make(**overrides: Any) -> Settings:
        return make_settings(**{"ollama_host": ollama_url, **defaults, **overrides})

    return make


FAST_FAKE = {"rate_limit": 5, "rate_window": 1.0}
NO_PINGS = {"parse": []}


@dataclass
class Bot:
    fake: DiscordFake
    client: TwinbotClient
    runtime: Runtime

    async def compare(self, prompt: str | None, **options: Any) -> InteractionRecord:
        """/compare as a user types it (None: no prompt); waits for the acknowledgement."""
        user_id = options.pop("user_id", None)
        channel_id = options.pop("channel_id", None)
        typed = {"prompt": prompt} if prompt is not None else {}
        rec = await self.fake.dispatch_slash_command(
            "compare", {**typed, **options}, user_id=user_id, channel_id=channel_id
        )
        await rec.wait_callback()
        return rec

    async def settled(self, within: float = 8.0) -> None:
        """Until every comparison started so far has finished and shown its final text."""
        await asyncio.wait_for(self.client.chat.keeper.wait(), within)

    def parent(self, rec: InteractionRecord) -> StoredMessage:
        assert rec.original_message_id is not None, "no message was created for this command"
        return self.fake.message(rec.original_message_id)

    def thread(self, rec: InteractionRecord) -> Channel:
        """The thread opened on a command's parent message (Discord gives it the same id)."""
        return self.fake.channels[self.parent(rec).id]

    def outputs(self, rec: InteractionRecord) -> list[StoredMessage]:
        """Every message twinbot posted in the comparison's thread, in order."""
        thread = self.thread(rec)
        return [m for m in self.fake.channel_messages(thread.id) if m.author_id == self.fake.bot_id]


def thread_writes(fake: DiscordFake, thread_id: int) -> list[RecordedRequest]:
    """Message creates and edits in one thread: what Discord's per-channel budget counts."""
    return [
        r
        for r in fake.requests
        if r.path.startswith(f"/channels/{thread_id}/messages")
        and "/reactions/" not in r.path
        and r.method in ("POST", "PATCH")
    ]


def outgoing_messages(fake: DiscordFake) -> list[tuple[str, dict[str, Any]]]:
    """Every payload that could mention someone: message creates and edits, webhook
    messages, and interaction replies carrying text."""
    found = []
    for r in fake.requests:
        body = r.json
        if not isinstance(body, dict) or r.method not in ("POST", "PATCH"):
            continue
        data = body.get("data") if r.path.endswith("/callback") else body
        if isinstance(data, dict) and ("content" in data or "embeds" in data):
            found.append((f"{r.method} {r.path}", data))
    return found


def assert_no_pings(fake: DiscordFake) -> None:
    payloads = outgoing_messages(fake)
    assert payloads, "nothing was sent"
    for where, data in payloads:
        assert data.get("allowed_mentions") == NO_PINGS, where


@asynccontextmanager
async def discord_bot(
    settings: Settings,
    fake: DiscordFake | None = None,
    *,
    budget: ChannelBudget = FAST_BUDGET,
    **client_options: Any,
) -> AsyncIterator[Bot]:
    """The bot connected to `fake` (a fresh fast one if None) and ready."""
    async with (
        contextlib_fake(fake) as discord_fake,
        open_runtime(settings, VOCABULARIES) as runtime,
    ):
        client = TwinbotClient(runtime, budget=budget, guild_ready_timeout=0.05, **client_options)
        async with pointed_at(discord_fake), running_client(client):
            yield Bot(discord_fake, client, runtime)


@asynccontextmanager
async def contextlib_fake(fake: DiscordFake | None) -> AsyncIterator[DiscordFake]:
    """A given fake stays up (a restart test reuses it); a fresh one is closed afterwards."""
    if fake is not None:
        yield fake
        return
    async with DiscordFake(**FAST_FAKE) as fresh:
        yield fresh
