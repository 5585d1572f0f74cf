"""`/compare`: admit or refuse at once, answer with the parent message, run in the background.

The reply to the interaction *is* the parent message (who asked, the options, the prompt), so
the acknowledgement never waits for Ollama or a thread: it is the first thing sent, well
inside Discord's 3 s (only the channel's safety mode is read first, from the local database).
Refusals are private replies: bad input, a prompt that shows as nothing, a channel outside the
allowlist, a rate limit, a full queue, a shutdown under way. Admins skip the rate limits and
the queue's refusal. A `demo` brings its own prompt, framing, max tokens and temperature
(options the user gives as well win) and its one-line explanation for the parent.
"""

from __future__ import annotations

import dataclasses
import logging
import random
from typing import Any

import discord

from adapters.discord_bot.admins import is_admin
from adapters.discord_bot.compare_run import Job, run_job
from adapters.discord_bot.context import BotContext
from adapters.discord_bot.display import has_visible_text
from adapters.discord_bot.parent import ParentMessage, ParentText
from adapters.discord_bot.queueing import RESTARTING, must_wait
from adapters.discord_bot.safety_mode import channel_mode
from adapters.discord_bot.surfaces import NO_MENTIONS, PLATFORM, to_embed
from adapters.discord_bot.view import ThreadView
from bot.chat_flow import CHANNEL_NOT_ALLOWED, Refusal, admit
from bot.compare import CompareView
from bot.config import Settings
from bot.demos import Demo, find_demo
from bot.domain import CompareRequest, Requester, Role, SafetyMode
from bot.errors import PromptsError
from bot.inline_options import CompareArgs
from bot.safety import GatedView

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


NEEDS_PROMPT = "Give a `prompt`, or choose a `demo` (one of the classic experiments)."
PROMPT_AND_DEMO = "Choose a `prompt` or a `demo`, not both: a demo brings its own prompt."
NO_DEMOS = "No demos are set up here: prompts/demos.toml is missing or broken (see the log)."
INVISIBLE = (
    "The prompt shows as nothing: it has only zero-width, formatting or blank characters. "
    "Type some visible text."
)


def with_demo(
    demos: dict[str, Demo], settings: Settings, args: CompareArgs, demo: str | None
) -> tuple[CompareArgs, str | None] | Refusal:
    """The arguments to run and the line explaining the demo (None without one)."""
    if demo is None:
        return (args, None) if args.prompt else Refusal("bad_input", NEEDS_PROMPT)
    if args.prompt:
        return Refusal("bad_input", PROMPT_AND_DEMO)
    try:
        chosen = find_demo(demos, demo)
    except PromptsError as exc:
        return Refusal("bad_input", str(exc) if demos else NO_DEMOS)
    merged = CompareArgs(
        prompt=chosen.prompt,
        pair=args.pair,
        framing=args.framing or chosen.framing,
        max_tokens=args.max_tokens or min(chosen.max_tokens, settings.max_tokens_limit),
        temperature=chosen.temperature if args.temperature is None else args.temperature,
        seed=args.seed,
    )
    return merged, f"**{chosen.title}**: {chosen.explain}"


def _requester(interaction: discord.Interaction[Any]) -> Requester:
    user = interaction.user
    return Requester(
        platform=PLATFORM,
        user_id=str(user.id),
        user_name=user.name,
        # The server is the limiter's workspace: one bucket for all its channels.
        workspace_id=str(interaction.guild_id) if interaction.guild_id else None,
        channel_id=str(interaction.channel_id),
    )


async def _admitted(
    ctx: BotContext,
    interaction: discord.Interaction[Any],
    args: CompareArgs,
    demo: str | None,
    exempt: bool,
) -> tuple[CompareRequest, str | None] | Refusal:
    """The request and a demo's explanation, or why not, checked cheapest first."""
    settings = ctx.runtime.settings
    if not ctx.intake.open:
        return Refusal("restarting", RESTARTING)
    if settings.discord_channels and not channel_ids(interaction) & set(settings.discord_channels):
        return Refusal("channel", CHANNEL_NOT_ALLOWED)
    prepared = with_demo(ctx.demos, settings, args, demo)
    if isinstance(prepared, Refusal):
        return prepared
    args, intro = prepared
    if args.prompt.strip() and not has_visible_text(args.prompt):
        return Refusal("bad_input", INVISIBLE)
    # Before the rate limit: a comparison that cannot run must not cost a token.
    full = None if exempt else ctx.runtime.queue.refusal()
    if full is not None:
        return Refusal("queue_full", str(full))
    # The allowlist is checked above (threads count as their channel), so none is passed here.
    requester = _requester(interaction)
    catalog, limiter = ctx.runtime.catalog, ctx.limiter
    admitted = admit(
        settings, catalog, limiter, requester, args, allowed_channels=(), exempt=exempt
    )
    if isinstance(admitted, Refusal):
        return admitted
    return admitted, intro


async def start_comparison(
    ctx: BotContext,
    interaction: discord.Interaction[Any],
    args: CompareArgs,
    blind: bool | None,
    demo: str | None = None,
) -> None:
    runtime, settings = ctx.runtime, ctx.runtime.settings
    exempt = is_admin(interaction, settings)
    outcome = await _admitted(ctx, interaction, args, demo, exempt)
    if isinstance(outcome, Refusal):
        runtime.metrics.errors.labels(f"refused_{outcome.reason}").inc()
        await refuse(interaction, outcome, "compare")
        return
    admitted, intro = outcome
    mode, _ = await channel_mode(runtime.store, settings, interaction)
    request = blinded(admitted, blind_wanted(settings, channel_ids(interaction), blind))
    pacer = ctx.pacers.get(f"interaction:{interaction.id}")
    text = ParentText(request, interaction.user.id, intro, mode)
    parent = ParentMessage(interaction, pacer, text, queued=must_wait(runtime.queue))
    first = parent.shown
    try:
        callback = await interaction.response.send_message(
            first.content,
            embeds=[to_embed(embed) for embed in first.embeds],
            allowed_mentions=NO_MENTIONS,
        )
    except discord.HTTPException as exc:
        log.error("could not acknowledge %s: %s", context_line(interaction, "compare"), exc)
        return
    parent_id = callback.message_id
    if parent_id is None:  # Discord always names the message it created; be safe anyway
        parent_id = (await interaction.original_response()).id
    view = ThreadView(ctx, interaction, parent_id, parent, mode)
    shown: CompareView = view
    if mode is not SafetyMode.OFF:
        shown = GatedView(view, ctx.guard, mode, settings.guard_chunk_chars)
    where = context_line(interaction, "compare")
    job = Job(request, interaction, parent, view, shown, exempt, where)
    ctx.keeper.spawn(run_job(ctx, job), name=f"compare {interaction.id}")
