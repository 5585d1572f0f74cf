"""Each channel's safety mode, and `/safety` to see it or (admins) change it.

A channel's mode is the one an admin stored for it, else TWINBOT_SAFETY_NSFW_DEFAULT in a
channel marked age-restricted, else TWINBOT_SAFETY_DEFAULT (the core decides: see
`bot.chat.safety_mode`). A thread follows its channel.
"""

from __future__ import annotations

import logging
from typing import Any

import discord

from adapters.discord_bot.admins import home_channel, is_admin, is_nsfw
from adapters.discord_bot.safety_texts import MODE_HELP
from adapters.discord_bot.surfaces import NO_MENTIONS, PLATFORM
from bot.chat.safety_mode import change_mode
from bot.chat.safety_mode import channel_mode as core_channel_mode
from bot.config import Settings
from bot.domain import SafetyMode
from bot.runtime import Runtime
from bot.store.sqlite import Store

log = logging.getLogger(__name__)

NOT_ADMIN = (
    "Only server administrators, or members with a role named in TWINBOT_DISCORD_ADMIN_ROLES, "
    "can change the safety mode. `/safety` without a mode shows the current one."
)
NOT_SAVED = "The safety mode could not be saved, so it is unchanged; the operator log says why."


async def channel_mode(
    store: Store, settings: Settings, interaction: discord.Interaction[Any]
) -> tuple[SafetyMode, bool]:
    """The mode for a command's channel, and whether an admin chose it (else a default)."""
    channel = str(home_channel(interaction))
    return await core_channel_mode(store, settings, PLATFORM, channel, nsfw=is_nsfw(interaction))


async def answer_safety(
    runtime: Runtime, interaction: discord.Interaction[Any], mode: SafetyMode | None
) -> None:
    store, settings = runtime.store, runtime.settings
    channel, user = home_channel(interaction), interaction.user
    where = f"/safety user={user.id} channel={channel} guild={interaction.guild_id}"
    if mode is None:
        current, chosen = await channel_mode(store, settings, interaction)
        source = "chosen by an admin" if chosen else "the default here"
        text = (
            f"Safety mode in <#{channel}>: **{current}** ({source}): {MODE_HELP[current]}. "
            "Admins change it with `/safety mode:`."
        )
        await _reply(interaction, text, ephemeral=True)
        return
    if not is_admin(interaction, settings):
        log.info("refused %s: not an admin (wanted %s)", where, mode)
        await _reply(interaction, NOT_ADMIN, ephemeral=True)
        return
    try:
        changed = await change_mode(runtime, PLATFORM, str(channel), mode, str(user.id))
    except Exception:
        log.exception("%s: storing mode %s failed", where, mode)
        await _reply(interaction, NOT_SAVED, ephemeral=True)
        return
    if changed.guard_problem:
        checked = f" Note: {changed.guard_problem}"
    elif mode is not SafetyMode.OFF:
        checked = f" The guard model `{settings.guard_model}` checks each prompt and output."
    else:
        checked = ""
    text = f"🛡️ <@{user.id}> set the safety mode of <#{channel}> to **{mode}**: {MODE_HELP[mode]}."
    await _reply(interaction, text + checked, ephemeral=False)


async def _reply(interaction: discord.Interaction[Any], text: str, *, ephemeral: bool) -> None:
    try:
        await interaction.response.send_message(
            text, ephemeral=ephemeral, allowed_mentions=NO_MENTIONS
        )
    except discord.HTTPException as exc:
        log.error("could not answer /safety in channel %s: %s", interaction.channel_id, exc)
