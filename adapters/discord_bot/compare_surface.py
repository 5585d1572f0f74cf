"""`/compare` on Discord: the interaction read into the core's command, and the surface the
core shows it on.

The reply to the interaction *is* the parent message (who asked, the options, the prompt), so
the acknowledgement is the first thing sent; refusals are private replies. The outputs stream
into a thread on the parent (`ThreadView`); the vote choices go on its first message.
"""

from __future__ import annotations

import functools
import logging
from typing import Any

import discord

from adapters.discord_bot.admins import home_channel, is_admin, is_nsfw
from adapters.discord_bot.context import BotContext
from adapters.discord_bot.lens_message import Send, post_lens
from adapters.discord_bot.parent import ParentMessage
from adapters.discord_bot.surfaces import NO_MENTIONS, PLATFORM, to_embed
from adapters.discord_bot.view import ThreadView
from adapters.discord_bot.votes import SEED_EMOJI
from bot.chat.command import ChatCommand, LensAsk, Parent
from bot.chat.surface import LensShown, MessageBook
from bot.domain import Requester
from bot.engine.compare import CompareView
from bot.engine.inline_options import CompareArgs

log = logging.getLogger(__name__)


def channel_ids(interaction: discord.Interaction[Any]) -> tuple[str, ...]:
    """The channel a command came from, then the channel above it when that is a thread."""
    here, home = str(interaction.channel_id), str(home_channel(interaction))
    return (here,) if home == here else (here, home)


def chat_command(
    ctx: BotContext,
    interaction: discord.Interaction[Any],
    args: CompareArgs,
    blind: bool | None,
    demo: str | None,
    lens: LensAsk | None = None,
) -> ChatCommand:
    user = interaction.user
    requester = Requester(
        platform=PLATFORM,
        user_id=str(user.id),
        user_name=user.name,
        # The server is the limiter's workspace: one bucket for all its channels.
        workspace_id=str(interaction.guild_id) if interaction.guild_id else None,
        channel_id=str(interaction.channel_id),
    )
    return ChatCommand(
        requester=requester,
        args=args,
        blind=blind,
        demo=demo,
        exempt=is_admin(interaction, ctx.runtime.settings),
        places=channel_ids(interaction),
        nsfw=is_nsfw(interaction),
        in_server=interaction.guild_id is not None,
        lens=lens,
    )


def context_line(interaction: discord.Interaction[Any], command: str) -> str:
    """Who, where and what, for the operator's log."""
    return (
        f"/{command} user={interaction.user.id} channel={interaction.channel_id} "
        f"guild={interaction.guild_id}"
    )


class InteractionSurface:
    """The core's `ChatSurface` for one `/compare` interaction."""

    def __init__(self, ctx: BotContext, interaction: discord.Interaction[Any]) -> None:
        self._ctx = ctx
        self._interaction = interaction
        self._pacer = ctx.pacers.get(f"interaction:{interaction.id}")
        self._parent: ParentMessage | None = None
        self._parent_id = 0
        self._view: ThreadView | None = None
        self._where = context_line(interaction, "compare")

    async def refuse(self, message: str) -> None:
        try:
            await self._interaction.response.send_message(
                message, ephemeral=True, allowed_mentions=NO_MENTIONS
            )
        except discord.HTTPException as exc:
            log.error("could not answer %s: %s", self._where, exc)

    async def acknowledge(self, parent: Parent) -> None:
        message = ParentMessage(self._interaction, self._pacer, parent)
        first = message.shown
        callback = await self._interaction.response.send_message(
            first.content,
            embeds=[to_embed(embed) for embed in first.embeds],
            allowed_mentions=NO_MENTIONS,
        )
        parent_id = callback.message_id
        if parent_id is None:  # Discord always names the message it created; be safe anyway
            parent_id = (await self._interaction.original_response()).id
        self._parent, self._parent_id = message, parent_id

    def show_parent(self, parent: Parent) -> None:
        if self._parent is not None:
            self._parent.set(parent)

    def output_view(self, parent: Parent, book: MessageBook) -> CompareView:
        self._view = ThreadView(
            self._ctx, self._interaction, self._parent_id, book, self._parent, parent.mode
        )
        return self._view

    async def seed_votes(self) -> None:
        """The vote choices as twinbot's own reactions on the message showing both sides."""
        message = self._view.first_message if self._view is not None else None
        if message is None:
            return
        for emoji in SEED_EMOJI:
            try:
                await message.add_reaction(emoji)
            except discord.HTTPException as exc:
                log.warning(
                    "%s: seeding the vote reactions failed (%s); twinbot needs Add Reactions "
                    "and Read Message History",
                    self._where,
                    exc,
                )
                return

    async def tell(self, message: str) -> None:
        try:
            await self._interaction.followup.send(
                message, ephemeral=True, allowed_mentions=NO_MENTIONS
            )
        except discord.HTTPException as exc:
            log.error("could not tell %s: %s", self._where, exc)

    async def show_lens(self, shown: LensShown) -> None:
        """In the thread the outputs went to (or as a follow-up where they did)."""
        message = self._view.first_message if self._view is not None else None
        if message is None:
            log.warning("%s: no output message to put the lens under", self._where)
            return
        send: Send
        if isinstance(message, discord.WebhookMessage):  # outputs as follow-ups: no thread
            pacer = self._ctx.pacers.get(f"interaction:{self._interaction.id}")
            send = functools.partial(self._interaction.followup.send, wait=True)
        else:
            pacer = self._ctx.pacers.get(str(message.channel.id))
            send = message.channel.send
        await post_lens(shown, send, pacer, self._where)

    async def settle(self, within: float) -> None:
        if self._parent is not None:
            await self._parent.settle(within)
