"""Who counts as a twinbot admin on Discord, and which channel a command belongs to."""

from __future__ import annotations

from typing import Any

import discord

from bot.config import Settings


def is_admin(interaction: discord.Interaction[Any], settings: Settings) -> bool:
    """Server administrators (the Administrator permission), and members holding one of
    TWINBOT_DISCORD_ADMIN_ROLES, named by id or by name. Admins skip the rate limits and the
    queue's refusal, and may change a channel's safety mode."""
    if interaction.permissions.administrator:
        return True
    member = interaction.user
    if not isinstance(member, discord.Member):
        return False
    if member.guild_permissions.administrator:
        return True
    wanted = set(settings.discord_admin_roles)
    # Role names need the guild in the cache (the `guilds` intent, which twinbot asks for).
    return any(str(role.id) in wanted or role.name in wanted for role in member.roles)


def home_channel(interaction: discord.Interaction[Any]) -> int:
    """The channel a command belongs to: a thread's parent (each comparison opens a thread,
    so settings live on the channel above it), else the channel itself."""
    channel = interaction.channel
    if isinstance(channel, discord.Thread) and channel.parent_id:
        return channel.parent_id
    return interaction.channel_id or 0


def is_nsfw(interaction: discord.Interaction[Any]) -> bool:
    """Whether the command's channel (or a thread's parent) is marked age-restricted."""
    channel = interaction.channel
    if isinstance(channel, discord.Thread | discord.TextChannel | discord.VoiceChannel):
        return channel.is_nsfw()
    return False
