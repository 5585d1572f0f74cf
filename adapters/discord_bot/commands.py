"""The slash commands: `/compare`, `/pairs`, `/leaderboard`, `/safety`, with autocomplete.

Each command body is a line or two handing over to the module that does the work; this one
only declares what Discord shows (names, descriptions, option types and ranges).
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import discord
from discord import app_commands

from adapters.discord_bot.compare_surface import InteractionSurface, chat_command, context_line
from adapters.discord_bot.context import BotContext
from adapters.discord_bot.leaderboard import answer_leaderboard
from adapters.discord_bot.safety_mode import answer_safety
from adapters.discord_bot.safety_texts import MODE_HELP
from adapters.discord_bot.surfaces import NO_MENTIONS
from adapters.discord_bot.texts import CONTENT_MAX, clip
from bot.chat.admission import RESTARTING
from bot.chat.command import MAX_CHAT_SAMPLES, LensAsk, LensKind, lens_ask
from bot.domain import BackendKind, SafetyMode
from bot.engine.backend import canonical_tag
from bot.engine.inline_options import CompareArgs
from bot.errors import InputError
from bot.ops.doctor import pull_status

log = logging.getLogger(__name__)

Choices = list[app_commands.Choice[str]]
PULL_CHECK_TIMEOUT = 5.0  # /pairs answers without the pulled marks rather than wait longer
INTERNAL_ERROR = "twinbot hit an internal error; the operator log has the details."


def _choices(names: dict[str, str], current: str) -> Choices:
    """Up to 25 names matching what the user typed so far (in the name or its description)."""
    typed = current.strip().lower()
    found = [
        app_commands.Choice(name=clip(f"{name} · {about}" if about else name, 100), value=name)
        for name, about in names.items()
        if typed in name.lower() or typed in about.lower()
    ]
    return found[:25]


async def pairs_text(ctx: BotContext) -> str:
    runtime = ctx.runtime
    try:
        pulled, problem = await asyncio.wait_for(pull_status(runtime.backend), PULL_CHECK_TIMEOUT)
    except TimeoutError:
        pulled, problem = None, "Ollama did not answer in time, so pulled tags are not shown."
    lines = []
    for pair in runtime.catalog.pairs.values():
        default = " (default)" if pair.name == runtime.settings.default_pair else ""
        lines.append(f"**{pair.name}**{default} · {pair.description}".rstrip(" ·"))
        for label, tag in (("base", pair.base), ("instruct", pair.instruct)):
            mark = ""
            if pulled is not None and pair.backend is BackendKind.OLLAMA:
                mark = " ✅" if canonical_tag(tag) in pulled else f" ❌ `ollama pull {tag}`"
            lines.append(f"  {label} `{tag}`{mark}")
    if problem:
        lines.append(f"⚠️ {problem}")
    return clip("\n".join(lines), CONTENT_MAX)


async def restarting(ctx: BotContext, interaction: discord.Interaction[Any]) -> bool:
    """While shutting down, every new command gets a polite private "restarting"."""
    if ctx.chat.intake.open:
        return False
    try:
        await interaction.response.send_message(
            RESTARTING, ephemeral=True, allowed_mentions=NO_MENTIONS
        )
    except discord.HTTPException as exc:
        log.warning("could not say we are restarting to %s: %s", interaction.user.id, exc)
    return True


LENS_HELP = {
    LensKind.ODDS: "each twin's odds for its first token, as bars",
    LensKind.SHIFT: "the instruct answer's tokens ranked by the base twin",
    LensKind.SAMPLES: "more answers a twin: histogram, entropy, distance from uniform",
}
LENS_CHOICES = [
    app_commands.Choice(name=f"{kind.value}: {LENS_HELP[kind]}", value=kind.value)
    for kind in LensKind
]
SAFETY_CHOICES = [
    app_commands.Choice(name=f"{m}: {MODE_HELP[m]}", value=m.value) for m in SafetyMode
]


def register(tree: app_commands.CommandTree[Any], ctx: BotContext) -> None:
    catalog = ctx.runtime.catalog

    @tree.command(name="compare", description="One prompt to a base model and its instruct twin")
    @app_commands.guild_only()
    @app_commands.describe(
        prompt="What both models get (not needed with a demo)",
        pair="Model pair (see /pairs)",
        framing="What the base model sees: raw, qa, transcript, in-context",
        max_tokens="Tokens per side",
        temperature="Sampling temperature, 0 to 2, the same on both sides",
        seed="Sampling seed, the same on both sides",
        blind="Show the sides as A and B, names hidden until someone votes",
        demo="A classic experiment: its own prompt, framing and settings, with what to look for",
        lens="Also show a lens view after the outputs: odds, token shift, or samples",
        samples=f"With the samples lens: answers a twin (2 to {MAX_CHAT_SAMPLES}; it alone means "
        "samples)",
    )
    @app_commands.choices(lens=LENS_CHOICES)
    async def compare(
        interaction: discord.Interaction[Any],
        prompt: app_commands.Range[str, 1, 6000] | None = None,
        pair: str | None = None,
        framing: str | None = None,
        max_tokens: app_commands.Range[int, 1, 32768] | None = None,
        temperature: app_commands.Range[float, 0.0, 2.0] | None = None,
        seed: app_commands.Range[int, 0, 2**31 - 1] | None = None,
        blind: bool | None = None,
        demo: str | None = None,
        lens: app_commands.Choice[str] | None = None,
        samples: app_commands.Range[int, 2, MAX_CHAT_SAMPLES] | None = None,
    ) -> None:
        args = CompareArgs(prompt or "", pair, framing, max_tokens, temperature, seed)
        surface = InteractionSurface(ctx, interaction)
        asked: LensAsk | None = None
        if lens is not None or samples is not None:
            try:
                asked = lens_ask(lens.value if lens is not None else None, samples)
            except InputError as exc:
                log.info("%s refused (bad lens): %s", context_line(interaction, "compare"), exc)
                await surface.refuse(str(exc))
                return
        command = chat_command(ctx, interaction, args, blind, demo, asked)
        await ctx.chat.compare(command, surface)

    @compare.autocomplete("demo")
    async def demo_choices(interaction: discord.Interaction[Any], current: str) -> Choices:
        demos = ctx.chat.demos
        titles = {} if isinstance(demos, Exception) else {n: d.title for n, d in demos.items()}
        return _choices(titles, current)

    @compare.autocomplete("pair")
    async def pair_choices(interaction: discord.Interaction[Any], current: str) -> Choices:
        return _choices({n: p.description for n, p in catalog.pairs.items()}, current)

    @compare.autocomplete("framing")
    async def framing_choices(interaction: discord.Interaction[Any], current: str) -> Choices:
        return _choices({n: f.description for n, f in catalog.framings.items()}, current)

    @tree.command(name="pairs", description="The model pairs twinbot knows, and what is pulled")
    @app_commands.guild_only()
    async def pairs(interaction: discord.Interaction[Any]) -> None:
        if await restarting(ctx, interaction):
            return
        await interaction.response.defer(ephemeral=True, thinking=True)
        await interaction.followup.send(
            await pairs_text(ctx), ephemeral=True, allowed_mentions=NO_MENTIONS
        )

    @tree.command(name="leaderboard", description="Which twin people prefer, from the votes")
    @app_commands.guild_only()
    @app_commands.describe(
        channel="Only comparisons made in this channel",
        pair="Only this pair",
        since="From this time on: 2026-05-01, 2026-05-01T12:00, or a span like 7d",
        all_votes="Count every vote (default: only blind votes, cast before the names were shown)",
    )
    async def leaderboard(
        interaction: discord.Interaction[Any],
        channel: app_commands.AppCommandChannel | None = None,
        pair: str | None = None,
        since: str | None = None,
        all_votes: bool = False,
    ) -> None:
        if await restarting(ctx, interaction):
            return
        channel_id = channel.id if channel is not None else None
        store = ctx.runtime.store
        await answer_leaderboard(store, interaction, channel_id, pair, since, all_votes)

    @leaderboard.autocomplete("pair")
    async def board_pair_choices(interaction: discord.Interaction[Any], current: str) -> Choices:
        return _choices({n: p.description for n, p in catalog.pairs.items()}, current)

    @tree.command(name="safety", description="How this channel treats flagged output")
    @app_commands.guild_only()
    @app_commands.describe(mode="The new mode (admins only); leave it out to see the current one")
    @app_commands.choices(mode=SAFETY_CHOICES)
    async def safety(
        interaction: discord.Interaction[Any], mode: app_commands.Choice[str] | None = None
    ) -> None:
        if await restarting(ctx, interaction):
            return
        chosen = SafetyMode(mode.value) if mode is not None else None
        await answer_safety(ctx.runtime, interaction, chosen)

    @tree.error
    async def on_error(
        interaction: discord.Interaction[Any], error: app_commands.AppCommandError
    ) -> None:
        name = interaction.command.name if interaction.command else "?"
        log.error("%s failed", context_line(interaction, name), exc_info=error)
        try:
            if interaction.response.is_done():
                await interaction.followup.send(
                    INTERNAL_ERROR, ephemeral=True, allowed_mentions=NO_MENTIONS
                )
            else:
                await interaction.response.send_message(
                    INTERNAL_ERROR, ephemeral=True, allowed_mentions=NO_MENTIONS
                )
        except discord.HTTPException as exc:
            where = context_line(interaction, name)
            log.error("could not report the failure of %s: %s", where, exc)
