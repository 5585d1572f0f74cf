"""The core's CompareView for Discord: a thread under the parent message, streaming both sides.

`start` opens the thread on the parent (the interaction's reply) and posts the message showing
both sides; `update` hands over the newest frame to a writer that brings every output message
up to date, one write per pacer slot, editing only what changed and sending a continuation
when a side outgrows its message; `finish` does the same until it lands. The writer waits for
the pacer first and only then builds the message from the newest frame, so what Discord shows
is never a frame that aged while waiting. Every message id is stored with the side it shows,
so a reaction maps back to the comparison even after a restart.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import aiohttp
import discord

from adapters.discord_bot.context import BotContext
from adapters.discord_bot.parent import ParentMessage
from adapters.discord_bot.surfaces import (
    NO_MENTIONS,
    ChannelSurface,
    FollowupSurface,
    Surface,
    edit,
)
from adapters.discord_bot.texts import (
    MessageSpec,
    clip,
    output_messages,
    thread_name,
    vanished_message,
)
from bot.chat.surface import MessageBook, NotDelivered
from bot.domain import CompareSnapshot, Role, SafetyMode

log = logging.getLogger(__name__)

NO_THREADS = (
    "twinbot cannot open a thread here: it needs the **Create Public Threads** permission in "
    "this channel. The outputs follow here instead."
)
NO_THREAD_POSTS = (
    "twinbot cannot post in this thread: it needs the **Send Messages in Threads** permission. "
    "The outputs follow here instead."
)
NO_THREAD_KIND = "This kind of channel has no threads, so the outputs follow here."

# How often the core hands the view a new frame. The view paces its own writes and takes the
# newest frame when one may go, so frames only need to be fresh, not rare.
FRAME_INTERVAL = 0.05


def _has_text(snapshot: CompareSnapshot) -> bool:
    return any(side.text for side in snapshot.sides)


def _retryable(exc: BaseException) -> bool:
    if isinstance(exc, discord.HTTPException):
        return exc.status == 429 or exc.status >= 500
    return isinstance(exc, aiohttp.ClientError | OSError | TimeoutError)


class ThreadView:
    """One comparison on Discord. Implements `bot.engine.compare.CompareView`."""

    def __init__(
        self,
        ctx: BotContext,
        interaction: discord.Interaction[Any],
        parent_id: int,
        book: MessageBook,
        parent: ParentMessage | None = None,
        mode: SafetyMode = SafetyMode.OFF,
    ) -> None:
        self._ctx = ctx
        self._book = book
        self._interaction = interaction
        self._parent_id = parent_id
        self._parent = parent  # edited when the guard judges the prompt
        self._mode = mode
        self._surface: Surface | None = None
        self._notice: str | None = None
        self._sent: dict[tuple[Role | None, int], tuple[discord.Message, MessageSpec]] = {}
        self._starting: asyncio.Future[None] | None = None
        self._latest: CompareSnapshot | None = None  # the newest frame the core handed over
        self._writer: asyncio.Task[None] | None = None  # live writes; never cancelled mid-write
        self._text_shown = False  # the first text of a comparison is written without delay
        self._finishing = False
        self._comparison_id = 0
        self.first_message: discord.Message | None = None  # where the vote choices go

    @property
    def update_interval(self) -> float:
        return FRAME_INTERVAL

    @property
    def message_ids(self) -> list[int]:
        return [message.id for message, _ in self._sent.values()]

    async def start(self, snapshot: CompareSnapshot) -> None:
        # Shielded: stopped while the thread or its first message is being made, what Discord
        # made is still recorded, so `finish` edits it instead of giving up or posting twice.
        self._starting = asyncio.ensure_future(self._start(snapshot))
        await asyncio.shield(self._starting)

    async def _start(self, snapshot: CompareSnapshot) -> None:
        self._comparison_id = snapshot.comparison_id
        channel_id = self._interaction.channel_id or 0
        await self._book.message(str(channel_id), str(self._parent_id), None, 0, "parent")
        surface, self._notice = await self._open(snapshot)
        first = output_messages(snapshot, self._notice)[0]
        try:
            await surface.pacer.wait()
            message = await surface.send(first)
        except discord.Forbidden as exc:
            if not isinstance(surface, ChannelSurface):
                raise
            log.warning("comparison #%d: posting in thread refused (%s)", self._comparison_id, exc)
            surface, self._notice = self._followups(), NO_THREAD_POSTS
            first = output_messages(snapshot, self._notice)[0]
            await surface.pacer.wait()
            message = await surface.send(first)
        self._surface = surface
        await self._stored(first, message)
        if isinstance(surface, ChannelSurface) and isinstance(surface.channel, discord.Thread):
            await self._book.thread(str(surface.channel_id))
        self.first_message = message

    async def update(self, snapshot: CompareSnapshot) -> None:
        self._prompt_checked(snapshot)
        self._latest = snapshot
        if self._surface is None or self._finishing:
            return
        if self._writer is None or self._writer.done():
            self._writer = asyncio.create_task(self._write_live(), name="live /compare writes")

    async def finish(self, snapshot: CompareSnapshot) -> None:
        self._prompt_checked(snapshot)
        if self._starting is not None:
            await asyncio.gather(self._starting, return_exceptions=True)
        self._latest = snapshot
        self._finishing = True
        if self._surface is None:
            await self._tell_requester(
                "twinbot could not post this comparison here; the operator log has details."
            )
            return
        if self._writer is not None:
            # A write in flight lands and is stored (not repeated); it may even be the final one.
            await asyncio.wait({self._writer})
        try:
            await self._write_until_current()
        except Exception as exc:
            if _retryable(exc):
                raise NotDelivered(repr(exc)) from exc
            log.error(
                "comparison #%d: the final text could not be shown: %r", self._comparison_id, exc
            )

    def _prompt_checked(self, snapshot: CompareSnapshot) -> None:
        if self._parent is not None:
            self._parent.prompt_checked(snapshot.prompt_safety)

    async def _open(self, snapshot: CompareSnapshot) -> tuple[Surface, str | None]:
        """Where the outputs go: a new thread on the parent, the thread the command came from,
        or (without the permission, or in a channel without threads) follow-ups."""
        channel = self._interaction.channel
        pacers = self._ctx.pacers
        if isinstance(channel, discord.Thread):
            return ChannelSurface(channel, pacers.get(str(channel.id))), None
        if not isinstance(channel, discord.TextChannel):
            return self._followups(), NO_THREAD_KIND
        hide = self._mode in (SafetyMode.SPOILER, SafetyMode.WITHHOLD)
        name = thread_name(snapshot.comparison_id, snapshot.request.prompt, hide_prompt=hide)
        try:
            thread = await channel.create_thread(name=name, message=discord.Object(self._parent_id))
        except discord.Forbidden as exc:
            log.warning("comparison #%d: thread creation refused (%s)", self._comparison_id, exc)
            return self._followups(), NO_THREADS
        except discord.HTTPException as exc:
            log.warning("comparison #%d: thread creation failed (%s)", self._comparison_id, exc)
            why = exc.text or f"HTTP {exc.status}"
            notice = f"twinbot could not open a thread here ({clip(why, 200)}); the outputs follow."
            return self._followups(), notice
        return ChannelSurface(thread, pacers.get(str(thread.id))), None

    def _followups(self) -> FollowupSurface:
        key = f"interaction:{self._interaction.id}"
        return FollowupSurface(self._interaction, self._ctx.pacers.get(key))

    async def _write_live(self) -> None:
        try:
            await self._write_until_current()
        except Exception as exc:
            # Not fatal: the next frame starts a new writer, which tries again at the next slot.
            log.warning("comparison #%d: a live update failed: %r", self._comparison_id, exc)

    async def _write_until_current(self) -> None:
        """Write, one pacer slot at a time, until Discord shows the newest frame."""
        surface = self._surface
        while surface is not None and self._latest is not None:
            if self._next_write(self._latest) is None:
                return
            await surface.pacer.wait(urgent=self._first_text(self._latest))
            frame = self._latest  # the newest frame, taken once the write may go
            spec = self._next_write(frame)
            if spec is None:
                return
            sent = self._sent.get(spec.key)
            if sent is None:
                await self._stored(spec, await surface.send(spec))
            else:
                await edit(sent[0], spec)
                self._sent[spec.key] = (sent[0], spec)
            self._text_shown = self._text_shown or _has_text(frame)

    def _first_text(self, snapshot: CompareSnapshot) -> bool:
        return not self._text_shown and _has_text(snapshot)

    def _next_write(self, snapshot: CompareSnapshot) -> MessageSpec | None:
        """The first message that is missing or differs from what Discord shows."""
        specs = output_messages(snapshot, self._notice)
        current = {spec.key for spec in specs}
        # A continuation its side no longer reaches (the gate withheld the text) is blanked.
        for role, part in list(self._sent):
            if role is not None and (role, part) not in current:
                specs.append(vanished_message(snapshot, role, part))
        for spec in specs:
            sent = self._sent.get(spec.key)
            if sent is None or sent[1] != spec:
                return spec
        return None

    async def _stored(self, spec: MessageSpec, message: discord.Message) -> None:
        self._sent[spec.key] = (message, spec)
        surface = self._surface
        channel_id = surface.channel_id if surface is not None else message.channel.id
        await self._book.message(str(channel_id), str(message.id), spec.role, spec.part, "output")

    async def _tell_requester(self, text: str) -> None:
        try:
            await self._interaction.followup.send(
                text, ephemeral=True, allowed_mentions=NO_MENTIONS
            )
        except discord.HTTPException as exc:
            log.error("comparison #%d: telling the requester failed: %s", self._comparison_id, exc)
