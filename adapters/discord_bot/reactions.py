"""Reactions become votes: every raw reaction event on a comparison's message goes to the log.

Raw events (not the cached ones) reach us for messages posted before a restart too; the store
maps a message to its comparison. Reactions by twinbot itself (the seeded choices) and by
other bots are logged as such and never counted. The first vote on a blind comparison, or its
close time, reveals which model was which, in the comparison's thread.
"""

from __future__ import annotations

import asyncio
import logging
from collections import OrderedDict
from typing import Any

import discord

from adapters.discord_bot.layout import reveal_text
from adapters.discord_bot.pacing import Pacers
from adapters.discord_bot.surfaces import NO_MENTIONS, PLATFORM
from bot.chat_flow import TaskKeeper
from bot.domain import Role
from bot.metrics import Metrics
from bot.store import Store

log = logging.getLogger(__name__)

_MEMORY = 4096  # comparisons and bot users remembered, to skip needless database writes


class _Remembered:
    """A bounded set: the oldest entries are forgotten first."""

    def __init__(self, size: int = _MEMORY) -> None:
        self._items: OrderedDict[int, None] = OrderedDict()
        self._size = size

    def __contains__(self, item: int) -> bool:
        return item in self._items

    def add(self, item: int) -> None:
        self._items[item] = None
        self._items.move_to_end(item)
        if len(self._items) > self._size:
            self._items.popitem(last=False)


class Revealer:
    """Names the models of a blind comparison once: after its first vote or at its close."""

    def __init__(self, client: discord.Client, store: Store, pacers: Pacers) -> None:
        self._client = client
        self._store = store
        self._pacers = pacers
        self.timers = TaskKeeper()  # close-time reveals: cancelled when the client closes
        self._settled = _Remembered()  # revealed already, or never blind

    async def reveal(self, comparison_id: int, why: str, channel_id: int | None = None) -> bool:
        """Mark the comparison revealed and say so in its thread (else in `channel_id`)."""
        if comparison_id in self._settled:
            return False
        if not await self._store.mark_revealed(comparison_id):
            self._settled.add(comparison_id)
            return False
        self._settled.add(comparison_id)
        row = await self._store.comparison(comparison_id)
        assert row is not None  # mark_revealed just updated it
        target = int(row["thread_id"]) if row["thread_id"] else channel_id
        if target is None:
            log.warning("comparison #%d revealed, but there is no channel to say so", comparison_id)
            return True
        text = reveal_text(Role(row["shown_first"]), row["base_model"], row["instruct_model"], why)
        try:
            await self._pacers.get(str(target)).wait()
            await self._client.get_partial_messageable(target).send(
                text, allowed_mentions=NO_MENTIONS
            )
        except discord.HTTPException as exc:
            log.error(
                "comparison #%d revealed, but posting it in channel %s failed: %s",
                comparison_id,
                target,
                exc,
            )
        log.info("comparison #%d: blind names revealed (%s)", comparison_id, why)
        return True

    def reveal_later(self, comparison_id: int, delay: float, channel_id: int | None) -> None:
        """Reveal when the comparison closes. Timers live in memory: after a restart, a blind
        comparison is revealed by its next vote, not by its old timer."""

        async def later() -> None:
            await asyncio.sleep(max(0.0, delay))
            await self.reveal(comparison_id, "the vote closed", channel_id)

        self.timers.spawn(later(), name=f"reveal comparison #{comparison_id}")


class ReactionRecorder:
    """Raw reaction add and remove events into the store's append-only reaction log."""

    def __init__(
        self,
        client: discord.Client,
        store: Store,
        revealer: Revealer,
        metrics: Metrics | None = None,
    ) -> None:
        self._client = client
        self._store = store
        self._revealer = revealer
        self._metrics = metrics
        # A remove event carries no member, so no `bot` flag: remember the bots seen adding.
        self._bots = _Remembered()

    def _by_bot(self, payload: discord.RawReactionActionEvent) -> bool:
        me = self._client.user
        if me is not None and payload.user_id == me.id:
            return True
        if payload.member is not None and payload.member.bot:
            self._bots.add(payload.user_id)
            return True
        user: Any = self._client.get_user(payload.user_id)
        return payload.user_id in self._bots or bool(user is not None and user.bot)

    async def handle(self, payload: discord.RawReactionActionEvent, *, added: bool) -> None:
        by_bot = self._by_bot(payload)
        try:
            outcome = await self._store.record_reaction(
                platform=PLATFORM,
                channel_id=str(payload.channel_id),
                message_id=str(payload.message_id),
                user_id=str(payload.user_id),
                emoji=str(payload.emoji),
                added=added,
                by_bot=by_bot,
            )
        except Exception:
            log.exception(
                "could not log a reaction (%s %s on message %s in channel %s)",
                "add" if added else "remove",
                payload.emoji,
                payload.message_id,
                payload.channel_id,
            )
            return
        if outcome is None:
            return  # not a comparison's message
        if outcome.changed:
            choice = outcome.vote.choice.value if outcome.vote else "retracted"
            if self._metrics is not None:
                self._metrics.votes.labels(choice).inc()
            log.info(
                "comparison #%d: a %s's vote is now %s",
                outcome.comparison_id,
                "requester" if outcome.by_requester else "user",
                choice,
            )
        if outcome.vote is not None and not by_bot:
            await self._revealer.reveal(
                outcome.comparison_id, "after the first vote", payload.channel_id
            )
