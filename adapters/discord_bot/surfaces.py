"""Where a comparison's messages go, and the one way twinbot writes a message to Discord.

A thread (or the channel a command came from) takes ordinary channel messages, which outlive
the interaction. If twinbot may not open or post in a thread, the outputs go out as
interaction follow-ups instead: those need no channel permission, but can only be edited for
the 15 minutes the interaction token lives. Every write carries `allowed_mentions` none, so a
model writing @everyone or <@id> pings nobody. The caller waits for the channel's `pacer`
before a write and only then builds the message, so what lands is the newest state.
"""

from __future__ import annotations

from typing import Any, Protocol

import discord
from discord.utils import MISSING

from adapters.discord_bot.pacing import Pacer
from adapters.discord_bot.texts import EmbedSpec, MessageSpec

PLATFORM = "discord"  # how the store names this platform

# Also set on the client; passed explicitly too, because discord.py's Message.edit sends no
# allowed_mentions at all unless given one.
NO_MENTIONS = discord.AllowedMentions.none()


def to_embed(spec: EmbedSpec) -> discord.Embed:
    embed = discord.Embed(title=spec.title, description=spec.description, colour=spec.colour)
    if spec.footer:
        embed.set_footer(text=spec.footer)
    return embed


def message_fields(spec: MessageSpec) -> dict[str, Any]:
    return {
        "content": spec.content,
        "embeds": [to_embed(embed) for embed in spec.embeds],
        "allowed_mentions": NO_MENTIONS,
    }


class Surface(Protocol):
    channel_id: int  # where the messages land: what a reaction event names
    pacer: Pacer

    async def send(self, spec: MessageSpec) -> discord.Message: ...


class ChannelSurface:
    """Messages in a thread or channel."""

    def __init__(self, channel: discord.Thread | discord.TextChannel, pacer: Pacer) -> None:
        self.channel = channel
        self.channel_id = channel.id
        self.pacer = pacer

    async def send(self, spec: MessageSpec) -> discord.Message:
        return await self.channel.send(**message_fields(spec))


class FollowupSurface:
    """Interaction follow-ups: the fallback when threads are not allowed."""

    def __init__(self, interaction: discord.Interaction[Any], pacer: Pacer) -> None:
        self.interaction = interaction
        self.channel_id = interaction.channel_id or 0
        self.pacer = pacer

    async def send(self, spec: MessageSpec) -> discord.Message:
        fields = message_fields(spec)
        return await self.interaction.followup.send(
            content=fields["content"] or MISSING,
            embeds=fields["embeds"],
            allowed_mentions=NO_MENTIONS,
            wait=True,
        )


async def edit(message: discord.Message, spec: MessageSpec) -> None:
    """Replace a message's content and embeds with `spec` (a webhook message edits through its
    interaction token, a channel message through the channel; discord.py picks)."""
    await message.edit(**message_fields(spec))
