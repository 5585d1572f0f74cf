"""The Discord client: intents, the command tree and its sync, raw reactions, orderly close.

Shutting down is two steps. `drain(grace)` runs while the gateway is still connected: new
commands get a polite "restarting", comparisons still waiting for a place are dropped (they
never started), running ones get `grace` seconds to finish, and the rest are cancelled, which
shows and stores them as interrupted. `close()` then disconnects.
"""

from __future__ import annotations

import logging
from typing import Any

import discord
from discord import app_commands
from discord.gateway import DiscordWebSocket
from discord.utils import MISSING

from adapters.discord_bot.commands import register
from adapters.discord_bot.context import BotContext
from adapters.discord_bot.gateway import paced
from adapters.discord_bot.health import rate_limit_trace
from adapters.discord_bot.pacing import DISCORD_BUDGET, ChannelBudget, Pacers
from adapters.discord_bot.reactions import ReactionRecorder, ThreadAnnouncer
from adapters.discord_bot.surfaces import NO_MENTIONS, PLATFORM
from bot.chat.service import ChatService
from bot.runtime import Runtime

log = logging.getLogger(__name__)

RAW_REACTIONS = ("raw_reaction_add", "raw_reaction_remove")


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
        cleanup: float = 5.0,
        **options: Any,
    ) -> None:
        # Mentions off for every message, on top of the explicit argument on each call.
        super().__init__(
            intents=twinbot_intents(),
            allowed_mentions=NO_MENTIONS,
            http_trace=rate_limit_trace(runtime.metrics),
            **options,
        )
        settings = runtime.settings
        pacers = Pacers(settings.discord_edit_interval, budget)
        # `cleanup`: seconds a stopped comparison gets to show and store its final state.
        self.chat = ChatService(
            runtime,
            PLATFORM,
            ThreadAnnouncer(self, pacers),
            allowed_channels=settings.discord_channels,
            cleanup=cleanup,
        )
        self.ctx = BotContext(runtime, pacers, self.chat)
        self.recorder = ReactionRecorder(self, self.chat.votes)
        self.tree: app_commands.CommandTree[TwinbotClient] = app_commands.CommandTree(self)
        register(self.tree, self.ctx)

    async def setup_hook(self) -> None:
        await sync_commands(self.tree, self.ctx.runtime.settings.discord_guild_id)
        await self.chat.start()

    async def on_ready(self) -> None:
        log.info("connected to Discord as %s in %d server(s)", self.user, len(self.guilds))

    def dispatch(self, event: str, /, *args: Any, **kwargs: Any) -> None:
        # Raw reactions go straight to the vote log's buffer, in order, with no task each
        # (discord.py would schedule one per event before any of our code ran, so a burst
        # grew memory without bound); the gateway waits for room before reading on. Every
        # event, these too, then goes on as discord.py does it (wait_for, on_ handlers).
        if event in RAW_REACTIONS:
            self.recorder.accept(args[0], added=event == "raw_reaction_add")
        if self.loop is MISSING:
            # Closed: discord.py has no loop to schedule on (its guild wait may still end
            # in a late "ready"); nothing of ours listens then.
            return
        super().dispatch(event, *args, **kwargs)

    @property
    def ws(self) -> DiscordWebSocket:
        return self._gateway  # type: ignore[return-value]  # None before the first connect

    @ws.setter
    def ws(self, ws: DiscordWebSocket | None) -> None:
        # discord.py sets this to each gateway connection it opens: it reads on only when
        # the vote log has room.
        self._gateway = ws if ws is None else paced(ws, self.chat.votes.room)

    async def drain(self, grace: float) -> None:
        """Stop taking commands and let running comparisons finish for up to `grace` seconds;
        then stop the rest (each shows and stores what it has, marked interrupted)."""
        await self.chat.drain(grace)

    async def close(self) -> None:
        # Comparisons first, while the connection is still up: whatever `drain` left (all of
        # them without a drain) is stopped at once and still shows what was written.
        await self.chat.close()
        await super().close()
        await self.chat.votes.writer.idle()  # the reactions read before the gateway closed


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
