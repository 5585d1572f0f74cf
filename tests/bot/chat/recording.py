"""A `ChatSurface` that records what the core asked of it, for the core's own tests.

It is a platform reduced to its log: every call is kept in order, the output view keeps every
frame and reports two messages to the core's book, and failures can be scripted (the final
edit failing transiently a few times, the acknowledgement refused). The platform tests check
how Discord and Slack carry out each call; these check when and why the core makes them.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from bot.chat.command import ChatCommand, Parent
from bot.chat.service import ChatService
from bot.chat.surface import LensShown, MessageBook, NotDelivered, Reveal
from bot.config import Settings
from bot.domain import CompareSnapshot, Requester, Role
from bot.engine.inline_options import CompareArgs
from bot.runtime import Runtime, open_runtime
from tests.vocabularies import VOCABULARIES

PLATFORM = "test"
_ids = itertools.count(1000)


class RecordingView:
    """The output view: frames in order, the final one, and its messages in the book."""

    def __init__(self, book: MessageBook, finish_failures: int = 0) -> None:
        self.update_interval = 0.02
        self._book = book
        self.started: CompareSnapshot | None = None
        self.frames: list[CompareSnapshot] = []
        self.finals: list[CompareSnapshot] = []  # every call to finish, landed or not
        self.final: CompareSnapshot | None = None  # the one that landed
        self.finish_failures = finish_failures
        self.message_ids: list[str] = []

    async def start(self, snapshot: CompareSnapshot) -> None:
        self.started = snapshot
        for role in (None, Role.BASE):
            message_id = str(next(_ids))
            self.message_ids.append(message_id)
            await self._book.message("C1", message_id, role, 0, "output")
        await self._book.thread("T1")

    async def update(self, snapshot: CompareSnapshot) -> None:
        self.frames.append(snapshot)

    async def finish(self, snapshot: CompareSnapshot) -> None:
        self.finals.append(snapshot)
        if self.finish_failures > 0:
            self.finish_failures -= 1
            raise NotDelivered("HTTP 503 from the platform")
        self.final = snapshot


@dataclass
class RecordingSurface:
    finish_failures: int = 0  # the final edit fails transiently this many times
    refuse_ack: bool = False  # the platform refuses the acknowledgement
    calls: list[tuple[str, Any]] = field(default_factory=list)
    view: RecordingView | None = None

    def names(self) -> list[str]:
        return [name for name, _ in self.calls]

    def of(self, name: str) -> list[Any]:
        return [detail for called, detail in self.calls if called == name]

    async def refuse(self, message: str) -> None:
        self.calls.append(("refuse", message))

    async def acknowledge(self, parent: Parent) -> None:
        if self.refuse_ack:
            raise RuntimeError("Unknown interaction")
        self.calls.append(("acknowledge", parent))

    def show_parent(self, parent: Parent) -> None:
        self.calls.append(("show_parent", parent))

    def output_view(self, parent: Parent, book: MessageBook) -> RecordingView:
        self.calls.append(("output_view", parent))
        self.view = RecordingView(book, self.finish_failures)
        return self.view

    async def seed_votes(self) -> None:
        self.calls.append(("seed_votes", None))

    async def tell(self, message: str) -> None:
        self.calls.append(("tell", message))

    async def show_lens(self, shown: LensShown) -> None:
        self.calls.append(("show_lens", shown))

    async def settle(self, within: float) -> None:
        self.calls.append(("settle", within))


@dataclass
class Announcement:
    thread_id: str | None
    shown_first: Role
    why: str


@dataclass
class RecordingAnnouncer:
    said: list[Announcement] = field(default_factory=list)
    heard: asyncio.Event = field(default_factory=asyncio.Event)

    async def announce_reveal(self, reveal: Reveal) -> None:
        self.said.append(Announcement(reveal.thread_id, reveal.shown_first, reveal.why))
        self.heard.set()


def command(prompt: str = "hi", user: str = "U1", **fields: Any) -> ChatCommand:
    """A /compare as an adapter would hand it over (CompareArgs fields go in `args`)."""
    args = fields.pop("args", CompareArgs(prompt))
    requester = Requester(PLATFORM, user, user_name=user, workspace_id="W1", channel_id="C1")
    return ChatCommand(requester=requester, args=args, places=("C1",), **fields)


@dataclass
class Chat:
    runtime: Runtime
    service: ChatService
    announcer: RecordingAnnouncer

    async def compare(
        self, *args: Any, surface: RecordingSurface | None = None, **kw: Any
    ) -> RecordingSurface:
        surface = surface or RecordingSurface()
        await self.service.compare(command(*args, **kw), surface)
        return surface

    async def settled(self, within: float = 10.0) -> None:
        await asyncio.wait_for(self.service.keeper.wait(), within)


@asynccontextmanager
async def chat_service(
    settings: Settings, *, cleanup: float = 2.0, allowed_channels: Sequence[str] = ()
) -> AsyncIterator[Chat]:
    async with open_runtime(settings, VOCABULARIES) as runtime:
        announcer = RecordingAnnouncer()
        service = ChatService(
            runtime, PLATFORM, announcer, allowed_channels=allowed_channels, cleanup=cleanup
        )
        await service.start()
        try:
            yield Chat(runtime, service, announcer)
        finally:
            await service.close()
