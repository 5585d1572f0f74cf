"""The Slack CompareView driven by the real CompareService, without bolt in between."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import pytest
from aiohttp import web
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from adapters.slack_app.posting import PostBudget, PostPacer
from adapters.slack_app.scheduler import Budget, UpdateScheduler
from adapters.slack_app.view import DEFER_AFTER, SlackCompareView
from bot.chat.service import StoreBook
from bot.config import Settings
from bot.domain import CompareRequest, CompareSnapshot, Role
from bot.runtime import Runtime, open_runtime
from bot.store.journal import Journal
from tests.adapters.slack_harness import side_output
from tests.conftest import SMALL_PAIR
from tests.fakes.ollama_fake import OllamaFake, Script
from tests.fakes.slack_fake import SlackFake
from tests.vocabularies import VOCABULARIES

BASE, INSTRUCT = SMALL_PAIR
FAST_UPDATES = Budget(50, 1.0)


class SlowSecondParts(SlackFake):
    """Slack answering a second part's chat.postMessage slowly, as a busy Slack may: the post
    is still in flight when the stream ends. (Slack completes a request whose client left.)"""

    async def _api(self, request: web.Request) -> web.Response:
        if request.match_info["method"] == "chat.postMessage":
            body = await request.json()  # aiohttp keeps the body for the real handler
            if "· part 2" in str(body.get("text", "")):
                await asyncio.sleep(0.4)
        return await super()._api(request)


@dataclass
class Rig:
    fake: SlackFake
    runtime: Runtime
    posts: PostPacer
    updates: UpdateScheduler
    journal: Journal | None = None

    def view(self, request: CompareRequest, channel: str | None = None) -> SlackCompareView:
        self.journal = self.runtime.service.journal(request)
        book = StoreBook(self.journal, self.runtime.store, "slack")
        return SlackCompareView(
            posts=self.posts, updates=self.updates, book=book,
            channel_id=channel or self.fake.channel_id, asked_by="ann",
        )  # fmt: skip

    async def run(self, request: CompareRequest, view: SlackCompareView) -> CompareSnapshot:
        final = await self.runtime.service.run(request, view, self.journal)
        await self.runtime.service.settle_writes()
        return final


@asynccontextmanager
async def rig(
    settings: Settings,
    posts: PostBudget | None = None,
    fake_class: type[SlackFake] = SlackFake,
    updates_budget: Budget = FAST_UPDATES,
) -> AsyncIterator[Rig]:
    async with (
        fake_class(update_limit=50, update_window=1.0) as fake,
        open_runtime(settings, VOCABULARIES) as runtime,
    ):
        client = AsyncWebClient(token=fake.bot_token, base_url=fake.api_url)
        updates = UpdateScheduler(client, updates_budget)
        try:
            yield Rig(fake, runtime, PostPacer(client, posts), updates)
        finally:
            await updates.close()


async def test_a_part_posted_while_the_stream_ends_is_neither_lost_nor_doubled(
    settings: Settings, ollama: OllamaFake, make_request: Callable[..., Any]
):
    # The base side jumps past one message's worth of text just before it ends, so the post
    # of its second part is still in flight when the core cancels the live update; finish()
    # must wait for that post (and store it), not post the part again.
    ollama.script(BASE, Script(tokens=["a" * 2000 + " ", "b" * 2000 + " ", "end"], delay=0.05))
    async with rig(settings, PostBudget(rate=1.0, burst=5), SlowSecondParts) as r:
        request = make_request("grow")
        view = r.view(request)
        final = await r.run(request, view)
        assert len(r.fake.calls_to("chat.postMessage")) == 4
        assert view.parent_ts is not None
        replies = r.fake.thread(r.fake.channel_id, view.parent_ts)[1:]
        text, footer, parts = side_output(replies, "Base")
        assert text == final.base.text and len(parts) == 2
        assert footer is not None and footer.startswith(":white_check_mark:")
        refs = [
            await r.runtime.store.message_ref("slack", r.fake.channel_id, ts)
            for ts in view.replies[Role.BASE]
        ]
        assert [(ref.role, ref.part) for ref in refs if ref] == [(Role.BASE, 0), (Role.BASE, 1)]


async def test_a_failed_start_aborts_and_finish_shows_nothing(
    settings: Settings, ollama: OllamaFake, make_request: Callable[..., Any]
):
    async with rig(settings) as r:
        r.fake.add_channel("C0GONE", member=False)
        request = make_request("hi")
        view = r.view(request, "C0GONE")
        with pytest.raises(SlackApiError):
            await r.run(request, view)
        assert view.parent_ts is None
        assert [c.method for c in r.fake.calls] == ["chat.postMessage"]
        assert ollama.requests == []
        comparison = await r.runtime.store.comparison(1)
        assert comparison is not None and comparison["status"] == "interrupted"


async def test_update_interval_follows_the_workspace_budget(
    settings: Settings, make_request: Callable[..., Any]
):
    async with rig(settings) as r:
        assert r.view(make_request("hi")).update_interval == pytest.approx(1.0 / 50)


async def test_with_a_long_update_queue_the_replies_are_posted_once_complete(
    settings: Settings, ollama: OllamaFake, make_request: Callable[..., Any]
):
    """Live edits that would wait past DEFER_AFTER are not worth queueing: the replies come
    at the end, whole, by chat.postMessage, and take no chat.update at all."""
    ollama.script(BASE, Script(tokens=[f"b{n} " for n in range(10)], delay=0.02))
    ollama.script(INSTRUCT, Script(tokens=[f"i{n} " for n in range(10)], delay=0.02))
    async with rig(settings, updates_budget=Budget(2, 1.0)) as r:
        other = await r.posts.post(r.fake.channel_id, "another comparison's reply")
        for n in range(int(DEFER_AFTER * 2) + 4):  # another comparison's queued edits
            r.updates.submit(("other", n), r.fake.channel_id, other, f"text {n}")
        assert r.updates.backlog() > DEFER_AFTER
        request = make_request("a story")
        view = r.view(request)
        final = await r.run(request, view)
        assert view.parent_ts is not None
        replies = r.fake.thread(r.fake.channel_id, view.parent_ts)[1:]
        assert len(replies) == 2
        for side, label in ((final.base, "Base"), (final.instruct, "Instruct")):
            text, footer, _ = side_output(replies, label)
            assert text == side.text
            assert footer is not None and footer.startswith(":white_check_mark:")
        mine = {reply.ts for reply in replies}
        assert [c for c in r.fake.calls_to("chat.update") if c.params.get("ts") in mine] == []
        assert all(len(reply.history) == 1 for reply in replies)  # posted once, never edited
        assert r.fake.ratelimited_total == 0
