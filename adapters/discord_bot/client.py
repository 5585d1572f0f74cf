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

from adapters.discord_bot.commands import register
from adapters.discord_bot.context import BotContext
from adapters.discord_bot.health import rate_limit_trace
from adapters.discord_bot.pacing import DISCORD_BUDGET, ChannelBudget, Pacers
from adapters.discord_bot.queueing import Intake
from adapters.discord_bot.reactions import ReactionRecorder, Revealer
from adapters.discord_bot.surfaces import NO_MENTIONS
from bot.backend import Timeouts
from bot.chat_flow import TaskKeeper
from bot.config import Settings
from bot.demos import Demo, load_demos
from bot.errors import PromptsError
from bot.guard import Guard
from bot.limits import limiter_from_settings
from bot.runtime import Runtime

log = logging.getLogger(__name__)


def twinbot_intents() -> discord.Intents:
    """No privileged intent: guilds (channels and threads) and guild reactions (votes).
    Slash commands arrive as interactions and need no intent at all."""
    return discord.Intents(guilds=True, guild_reactions=True)


def make_guard(settings: Settings) -> Guard:
    """The safety gate's judge on the same Ollama. A verdict waits no longer than the first
    token may: a stuck guard keeps text hidden (fail closed) until then, not for minutes."""
    timeouts = Timeouts(
        connect=settings.connect_timeout,
        first_token=settings.first_token_timeout,
        total=settings.first_token_timeout,
    )
    return Guard(settings.ollama_host, settings.guard_model, timeouts)


def demos_or_none(runtime: Runtime) -> dict[str, Demo]:
    """The demos; a missing or broken demos file costs only the `demo` option."""
    try:
        return load_demos(runtime.settings.prompts_dir, runtime.catalog)
    except PromptsError as exc:
        log.error("demos are off: %s", exc)
        return {}


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
        keeper = TaskKeeper()
        pacers = Pacers(settings.discord_edit_interval, budget)
        revealer = Revealer(self, runtime.store, pacers)
        self.ctx = BotContext(
            runtime,
            limiter_from_settings(settings),
            keeper,
            pacers,
            revealer,
            make_guard(settings),
            demos_or_none(runtime),
            Intake(),
        )
        self.recorder = ReactionRecorder(self, runtime.store, revealer, runtime.metrics)
        self.tree: app_commands.CommandTree[TwinbotClient] = app_commands.CommandTree(self)
        self._cleanup = cleanup  # seconds a cancelled comparison gets to show and store itself
        register(self.tree, self.ctx)

    async def setup_hook(self) -> None:
        await sync_commands(self.tree, self.ctx.runtime.settings.discord_guild_id)

    async def on_ready(self) -> None:
        log.info("connected to Discord as %s in %d server(s)", self.user, len(self.guilds))

    async def on_raw_reaction_add(self, payload: discord.RawReactionActionEvent) -> None:
        await self.recorder.handle(payload, added=True)

    async def on_raw_reaction_remove(self, payload: discord.RawReactionActionEvent) -> None:
        await self.recorder.handle(payload, added=False)

    async def drain(self, grace: float) -> None:
        """Stop taking commands and let running comparisons finish for up to `grace` seconds;
        then cancel the rest (each shows and stores what it has, marked interrupted)."""
        dropped = self.ctx.intake.close()
        running = len(self.ctx.keeper) - dropped
        log.info(
            "draining: %d comparison(s) running get %g s to finish; %d waiting dropped",
            running,
            grace,
            dropped,
        )
        await self.ctx.keeper.close(grace, self._cleanup)

    async def close(self) -> None:
        # Comparisons first, while the connection is still up: whatever `drain` left (all of
        # them without a drain) is cancelled at once and still shows what was written.
        self.ctx.intake.close()
        await self.ctx.keeper.close(0.0, self._cleanup)
        await self.ctx.revealer.timers.close(0.0, 1.0)  # timers only sleep: they end at once
        await self.ctx.guard.close()
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
