"""The Discord client: intents, the command tree and its sync, raw reactions, orderly close."""

from __future__ import annotations

import logging
from typing import Any

import discord
from discord import app_commands

from adapters.discord_bot.commands import register
from adapters.discord_bot.context import BotContext
from adapters.discord_bot.pacing import DISCORD_BUDGET, ChannelBudget, Pacers
from adapters.discord_bot.reactions import ReactionRecorder, Revealer
from adapters.discord_bot.surfaces import NO_MENTIONS
from bot.chat_flow import TaskKeeper
from bot.limits import limiter_from_settings
from bot.runtime import Runtime

log = logging.getLogger(__name__)


def twinbot_intents() -> discord.Intents:
    """No privileged intent: guilds (channels and threads) and guild reactions (votes).
    Slash commands arrive as interactions and need no intent at all."""
    return discord.Intents(guilds=True, guild_reactions=True)


class TwinbotClient(discord.Client):
    def __init__(
        self,
        runtime: Runtime,
        *,
        budget: ChannelBudget = DISCORD_BUDGET,
        shutdown_grace: float = 5.0,
        **options: Any,
    ) -> None:
        # Mentions off for every message, on top of the explicit argument on each call.
        super().__init__(intents=twinbot_intents(), allowed_mentions=NO_MENTIONS, **options)
        settings = runtime.settings
        keeper = TaskKeeper()
        pacers = Pacers(settings.discord_edit_interval, budget)
        revealer = Revealer(self, runtime.store, pacers)
        self.ctx = BotContext(runtime, limiter_from_settings(settings), keeper, pacers, revealer)
        self.recorder = ReactionRecorder(self, runtime.store, revealer)
        self.tree: app_commands.CommandTree[TwinbotClient] = app_commands.CommandTree(self)
        self._shutdown_grace = shutdown_grace
        register(self.tree, self.ctx)

    async def setup_hook(self) -> None:
        await sync_commands(self.tree, self.ctx.runtime.settings.discord_guild_id)

    async def on_ready(self) -> None:
        log.info("connected to Discord as %s in %d server(s)", self.user, len(self.guilds))

    async def on_raw_reaction_add(self, payload: discord.RawReactionActionEvent) -> None:
        await self.recorder.handle(payload, added=True)

    async def on_raw_reaction_remove(self, payload: discord.RawReactionActionEvent) -> None:
        await self.recorder.handle(payload, added=False)

    async def close(self) -> None:
        # Comparisons first, while the connection is still up: cancelled at once, each still
        # shows and stores what was written so far (given `shutdown_grace` seconds to do so).
        await self.ctx.keeper.close(0.0, self._shutdown_grace)
        await self.ctx.revealer.timers.close(0.0, 1.0)  # timers only sleep: they end at once
        await super().close()


async def sync_commands(tree: app_commands.CommandTree[Any], guild_id: int | None) -> None:
    """One guild (instant: for development) when TWINBOT_DISCORD_GUILD_ID is set, else global
    (Discord may take a while to show new global commands everywhere)."""
    guild = discord.Object(guild_id) if guild_id else None
    where = f"guild {guild_id}" if guild_id else "globally"
    try:
        if guild is not None:
            tree.copy_global_to(guild=guild)
        synced = await tree.sync(guild=guild)
    except discord.Forbidden as exc:
        log.error(
            "could not register the slash commands %s (%s): invite the bot with the "
            "applications.commands scope (see docs/discord.md)",
            where,
            exc,
        )
        return
    except discord.HTTPException as exc:
        log.error("could not register the slash commands %s: %s", where, exc)
        return
    log.info("slash commands registered %s: %s", where, ", ".join(c.name for c in synced))
