"""The real Slack bot (bolt AsyncApp, AsyncWebClient, SQLite) wired to the Slack and Ollama fakes.

Shared by the tests/adapters/test_slack_*.py modules: it builds the bot exactly as `runner.serve`
does, only with the client pointed at the fake and budgets small enough for fast tests.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

from aiohttp import ClientResponse
from aiohttp.test_utils import TestClient, TestServer
from slack_bolt.adapter.socket_mode.aiohttp import AsyncSocketModeHandler
from slack_sdk.web.async_client import AsyncWebClient

from adapters.slack_app.app import EVENTS_PATH, SlackBot
from adapters.slack_app.mrkdwn import unescape
from adapters.slack_app.posting import PostBudget
from adapters.slack_app.scheduler import Budget
from bot.config import Settings
from bot.runtime import open_runtime
from tests.fakes.slack_fake import Message, SlackFake
from tests.vocabularies import VOCABULARIES

# Fast but shaped like production: the fake's Tier 3 window is 20 calls a second and our
# scheduler gets the same budget; posts keep Slack's 1 a second per channel.
FAST_UPDATES = Budget(20, 1.0)
FAKE_UPDATES = {"update_limit": 20, "update_window": 1.0}


@dataclass
class Slack:
    fake: SlackFake
    bot: SlackBot
    http: TestClient[Any, Any] | None = None

    async def command(self, text: str, **fields: str) -> ClientResponse:
        """POST a signed /compare to bolt's aiohttp adapter (HTTP mode)."""
        assert self.http is not None, "built in socket mode"
        body, headers = self.fake.signed_slash_command("/compare", text, **fields)
        return await self.http.post(EVENTS_PATH, data=body, headers=headers)

    async def ack_json(self, text: str, **fields: str) -> dict[str, Any]:
        response = await self.command(text, **fields)
        assert response.status == 200, await response.text()
        return dict(await response.json())

    async def post_signed(self, body: str, headers: dict[str, str]) -> ClientResponse:
        assert self.http is not None, "built in socket mode"
        return await self.http.post(EVENTS_PATH, data=body, headers=headers)

    async def leaderboard(self, text: str = "", **fields: str) -> ClientResponse:
        body, headers = self.fake.signed_slash_command("/leaderboard", text, **fields)
        return await self.post_signed(body, headers)

    async def event(self, event: dict[str, Any]) -> None:
        """A signed Events API request; bolt acks it and runs the listener in the background."""
        response = await self.post_signed(*self.fake.signed_event(event))
        assert response.status == 200, await response.text()

    async def react(self, name: str, ts: str, **kw: Any) -> None:
        await self.event(self.fake.reaction_event(name, ts, **kw))

    async def click(self, payload: dict[str, Any]) -> None:
        response = await self.post_signed(*self.fake.signed_interaction(payload))
        assert response.status == 200, await response.text()

    async def settled(self, within: float = 8.0) -> None:
        """Until every comparison started so far has finished and shown its last text."""

        async def both() -> None:
            await self.bot.chat.keeper.wait()
            await self.bot.tasks.wait()

        await asyncio.wait_for(both(), within)

    def parents(self, channel: str | None = None) -> list[Message]:
        channel = channel or self.fake.channel_id
        messages = self.fake.channels[channel].messages.values()
        return [m for m in messages if m.thread_ts is None]

    def replies(self, parent: Message) -> list[Message]:
        return self.fake.thread(parent.channel, parent.ts)[1:]


@asynccontextmanager
async def slack_bot(
    settings: Settings,
    *,
    socket: bool = False,
    fake_options: dict[str, Any] | None = None,
    updates: Budget = FAST_UPDATES,
    posts: PostBudget | None = None,
    **bot_options: Any,
) -> AsyncIterator[Slack]:
    fake_settings = {**FAKE_UPDATES, **(fake_options or {})}
    bot_options.setdefault("cleanup", 3.0)  # seconds a stopped comparison gets to show
    async with SlackFake(**fake_settings) as fake, open_runtime(settings, VOCABULARIES) as runtime:
        client = AsyncWebClient(token=fake.bot_token, base_url=fake.api_url)
        bot = SlackBot(
            runtime,
            client,
            signing_secret=fake.signing_secret,
            update_budget=updates,
            post_budget=posts,
            **bot_options,
        )
        try:
            if socket:
                handler = AsyncSocketModeHandler(bot.app, fake.app_token)
                await handler.connect_async()
                try:
                    yield Slack(fake, bot)
                finally:
                    await handler.close_async()
            else:
                server = TestServer(bot.app.web_app(path=EVENTS_PATH), host="127.0.0.1")
                async with TestClient(server) as http:
                    yield Slack(fake, bot, http)
        finally:
            await bot.aclose(grace=0)


async def eventually(check: Callable[[], Awaitable[bool]], within: float = 5.0) -> None:
    """Until an async condition holds (bolt runs event listeners after the ack)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while True:
        if await check():
            return
        if loop.time() > deadline:
            raise AssertionError(f"condition not met within {within} s")
        await asyncio.sleep(0.01)


_HEAD = re.compile(r"^\*(Base|Instruct)\* · `([^`]*)`( _[^_]*_| · part (\d+))?$")
MARKS = (":hourglass_flowing_sand:", ":white_check_mark:", ":warning:", ":octagonal_sign:")


@dataclass(frozen=True)
class Part:
    role: str
    model: str
    number: int
    body: str  # escaped, exactly as posted
    footer: str | None


def parse_part(text: str) -> Part:
    """Read one side's reply back: title line, escaped body, and the footer on the last part."""
    head, _, rest = text.partition("\n")
    match = _HEAD.match(head)
    assert match, f"not a side reply: {head!r}"
    number = int(match.group(4)) if match.group(4) else 1
    body, footer = rest, None
    if rest.startswith(MARKS) and "\n" not in rest:
        body, footer = "", rest  # no output yet: only the footer
    elif "\n\n" in rest and rest.rsplit("\n\n", 1)[1].startswith(MARKS):
        body, footer = rest.rsplit("\n\n", 1)
    return Part(match.group(1), match.group(2), number, body, footer)


def side_output(replies: list[Message], role: str) -> tuple[str, str | None, list[Part]]:
    """A side's whole output (unescaped) from its parts in thread order, and its footer."""
    parts = [parse_part(m.text) for m in replies if m.text.startswith(f"*{role}*")]
    assert [p.number for p in parts] == list(range(1, len(parts) + 1))
    text = unescape("".join(p.body for p in parts))
    return text, parts[-1].footer if parts else None, parts
