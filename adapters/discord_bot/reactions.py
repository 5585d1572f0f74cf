"""Raw reaction events into the core's vote service, and blind reveals said in a thread.

Raw events (not the cached ones) reach us for messages posted before a restart too; the core
maps a message to its comparison. Only Discord knows whether a reactor is a bot: twinbot
itself (the seeded choices) and other bots are marked so, and never counted.
"""

from __future__ import annotations

import logging
from typing import Any

import discord

from adapters.discord_bot.pacing import Pacers
from adapters.discord_bot.surfaces import NO_MENTIONS, PLATFORM
from adapters.discord_bot.texts import reveal_text
from bot.chat.reveal import Remembered
from bot.chat.surface import Reveal
from bot.chat.vote_service import ReactionEvent, VoteService

log = logging.getLogger(__name__)


class ThreadAnnouncer:
    """The core's `RevealAnnouncer`: the names, posted in the comparison's thread."""

    def __init__(self, client: discord.Client, pacers: Pacers) -> None:
        self._client = client
        self._pacers = pacers

    async def announce_reveal(self, reveal: Reveal) -> None:
        target = reveal.thread_id or reveal.channel_id
        if not target:
            log.warning("a blind comparison was revealed, but there is no channel to say so")
            return
        text = reveal_text(reveal)
        await self._pacers.get(target).wait()
        await self._client.get_partial_messageable(int(target)).send(
            text, allowed_mentions=NO_MENTIONS
        )


class ReactionRecorder:
    """Raw reaction add and remove events, as the core's `ReactionEvent`s, taken in the
    gateway's order."""

    def __init__(self, client: discord.Client, votes: VoteService) -> None:
        self._client = client
        self._votes = votes
        # A remove event carries no member, so no `bot` flag: remember the bots seen adding.
        self._bots = Remembered()

    def _by_bot(self, payload: discord.RawReactionActionEvent) -> bool:
        me = self._client.user
        if me is not None and payload.user_id == me.id:
            return True
        if payload.member is not None and payload.member.bot:
            self._bots.add(payload.user_id)
            return True
        user: Any = self._client.get_user(payload.user_id)
        return payload.user_id in self._bots or bool(user is not None and user.bot)

    def accept(self, payload: discord.RawReactionActionEvent, *, added: bool) -> None:
        """Into the vote log's buffer at once (the gateway reader calls it, with no task)."""
        event = ReactionEvent(
            platform=PLATFORM,
            channel_id=str(payload.channel_id),
            message_id=str(payload.message_id),
            user_id=str(payload.user_id),
            emoji=str(payload.emoji),
            added=added,
            by_bot=self._by_bot(payload),
        )
        self._votes.accept(event)
