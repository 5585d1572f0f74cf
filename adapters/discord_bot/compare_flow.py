"""`/compare`: admit or refuse at once, answer with the parent message, run in the background.

The reply to the interaction *is* the parent message (who asked, the options, the prompt), so
the acknowledgement never waits for Ollama, the database or a thread: it is the first thing
sent, well inside Discord's 3 s. Refusals (bad input, a channel outside the allowlist, a
rate limit) are private replies.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import random
from typing import Any

import discord

from adapters.discord_bot.context import BotContext
from adapters.discord_bot.layout import parent_content, prompt_embed
from adapters.discord_bot.surfaces import NO_MENTIONS, PLATFORM, to_embed
from adapters.discord_bot.view import ThreadView
from bot.chat_flow import CHANNEL_NOT_ALLOWED, Refusal, admit
from bot.config import Settings
from bot.domain import CompareRequest, Requester, Role
from bot.inline_options import CompareArgs

log = logging.getLogger(__name__)


def channel_ids(interaction: discord.Interaction[Any]) -> set[str]:
    """The channel a command came from, and the channel above it when that is a thread: a
    setting that names a channel covers its threads too."""
    ids = {str(interaction.channel_id)}
    channel = interaction.channel
    if isinstance(channel, discord.Thread) and channel.parent_id:
        ids.add(str(channel.parent_id))
    return ids


def blind_wanted(settings: Settings, here: set[str], asked: bool | None) -> bool:
    if asked is not None:
        return asked
    return settings.blind_default or bool(here & set(settings.blind_channels))


def blinded(request: CompareRequest, blind: bool) -> CompareRequest:
    """Blind comparisons show a random side first; the store keeps which, so votes still map."""
    if not blind:
        return request
    return dataclasses.replace(request, blind=True, shown_first=random.choice(list(Role)))


def context_line(interaction: discord.Interaction[Any], command: str) -> str:
    """Who, where and what, for the operator's log."""
    return (
        f"/{command} user={interaction.user.id} channel={interaction.channel_id} "
        f"guild={interaction.guild_id}"
    )


async def refuse(interaction: discord.Interaction[Any], refusal: Refusal, command: str) -> None:
    where = context_line(interaction, command)
    log.info("refused %s: %s: %s", where, refusal.reason, refusal.message)
    try:
        await interaction.response.send_message(
            refusal.message, ephemeral=True, allowed_mentions=NO_MENTIONS
        )
    except discord.HTTPException as exc:
        log.error("could not answer %s: %s", context_line(interaction, command), exc)


async def start_comparison(
    ctx: BotContext, interaction: discord.Interaction[Any], args: CompareArgs, blind: bool | None
) -> None:
    settings = ctx.runtime.settings
    here = channel_ids(interaction)
    if settings.discord_channels and not here & set(settings.discord_channels):
        await refuse(interaction, Refusal("channel", CHANNEL_NOT_ALLOWED), "compare")
        return
    user = interaction.user
    requester = Requester(
        platform=PLATFORM,
        user_id=str(user.id),
        user_name=user.name,
        workspace_id=str(interaction.guild_id) if interaction.guild_id else None,
        channel_id=str(interaction.channel_id),
    )
    # The allowlist is checked above (threads count as their channel), so none is passed here.
    admitted = admit(
        settings, ctx.runtime.catalog, ctx.limiter, requester, args, allowed_channels=()
    )
    if isinstance(admitted, Refusal):
        await refuse(interaction, admitted, "compare")
        return
    request = blinded(admitted, blind_wanted(settings, here, blind))
    try:
        callback = await interaction.response.send_message(
            parent_content(request, user.id),
            embed=to_embed(prompt_embed(request)),
            allowed_mentions=NO_MENTIONS,
        )
    except discord.HTTPException as exc:
        log.error("could not acknowledge %s: %s", context_line(interaction, "compare"), exc)
        return
    parent_id = callback.message_id
    if parent_id is None:  # Discord always names the message it created; be safe anyway
        parent_id = (await interaction.original_response()).id
    view = ThreadView(ctx, interaction, parent_id)
    ctx.keeper.spawn(
        _run(ctx, request, view, context_line(interaction, "compare")),
        name=f"compare {interaction.id}",
    )


async def _run(ctx: BotContext, request: CompareRequest, view: ThreadView, where: str) -> None:
    try:
        final = await ctx.runtime.service.run(request, view)
    except asyncio.CancelledError:
        raise
    except Exception:
        # The view has told the requester already; the operator gets the whole story.
        log.exception("comparison for %s could not run", where)
        return
    shown = len(view.message_ids)
    log.info("comparison #%d for %s shown in %d messages", final.comparison_id, where, shown)
