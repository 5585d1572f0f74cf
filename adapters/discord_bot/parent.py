"""The parent message, the reply to `/compare`: what it says, and keeping it up to date.

It names who asked and with what, a demo's explanation, the prompt (hidden in spoiler and
withhold channels until the guard clears it: see `safety_texts`), and, while the comparison
waits for a free place, how many are ahead. It is the interaction's original response, so it
is edited through the interaction token: Discord limits that per interaction, not per
channel, so waiting comparisons never spend their channel's budget. Edits still go through a
pacer and the latest state wins: a state overtaken before its turn is never sent. The token
lives 15 minutes; an edit after that fails, is logged, and changes nothing else.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from typing import Any

import aiohttp
import discord

from adapters.discord_bot.pacing import Pacer
from adapters.discord_bot.safety_texts import prompt_display
from adapters.discord_bot.surfaces import message_fields
from adapters.discord_bot.texts import CONTENT_MAX, PROMPT_MAX, EmbedSpec, MessageSpec, clip
from bot.chat.command import Parent
from bot.domain import CompareRequest, SafetyMode, SafetyNote
from bot.engine.demos import Demo
from bot.text.render import framed_preview, option_parts

log = logging.getLogger(__name__)

PROMPT_COLOUR = 0x4F545C
FRAMED_MAX = 400  # the base model's view, one line (a spoiler may double it)
FOOTER_MAX = 300


def options_line(request: CompareRequest) -> str:
    parts = option_parts(request, lambda name: f"`{name}`")
    if request.blind:
        parts.append("**blind**: the names stay hidden until the first vote")
    return " · ".join(parts)


def status_line(state: Parent) -> str | None:
    if state.outcome is not None:
        return state.outcome
    if not state.queued:
        return None
    if state.ahead is None:
        return "⏳ twinbot is busy: this comparison waits for a free place and starts by itself."
    where = "it is next" if state.ahead == 0 else f"{state.ahead} ahead of it"
    return f"⏳ twinbot is busy: this comparison waits for a free place (**{where}**)."


def parent_content(
    request: CompareRequest, user_id: int, intro: str | None = None, status: str | None = None
) -> str:
    """Who asked and with what (the prompt itself goes in an embed), then any status line."""
    votes = "🅰️ or 🅱️ is better, 🤝 a tie, 👎 both bad"
    lines = [
        f"<@{user_id}> asked both twins · {options_line(request)}",
        f"Vote with a reaction on the outputs: {votes}.",
    ]
    if intro:
        lines.append(f"📖 {intro}")
    if status:
        lines.append(status)
    return clip("\n".join(lines), CONTENT_MAX)


def prompt_embed(
    request: CompareRequest, mode: SafetyMode = SafetyMode.OFF, note: SafetyNote | None = None
) -> EmbedSpec:
    """The prompt as typed and, when the framing changes it, what the base model saw (hidden
    with the prompt where the safety gate hides it)."""
    framed = request.framed_prompt != request.prompt
    room = PROMPT_MAX - (FRAMED_MAX if framed else 0)
    description, footer = prompt_display(request.prompt, mode, note, room)
    if framed:
        seen, _ = prompt_display(framed_preview(request), mode, note, FRAMED_MAX - 20)
        if not seen.startswith("🚫"):  # withheld: the prompt's own line says so already
            description += f"\n-# base sees: {seen}"
    return EmbedSpec("Prompt", description, PROMPT_COLOUR, footer and clip(footer, FOOTER_MAX))


def demo_line(demo: Demo | None) -> str | None:
    return None if demo is None else f"**{demo.title}**: {demo.explain}"


def parent_spec(parent: Parent, user_id: int) -> MessageSpec:
    status = status_line(parent)
    if parent.notice:
        status = f"⚠️ {parent.notice}" + (f"\n{status}" if status else "")
    content = parent_content(parent.request, user_id, demo_line(parent.demo), status)
    embed = prompt_embed(parent.request, parent.mode, parent.prompt)
    return MessageSpec(None, -1, content, (embed,))


class ParentMessage:
    """The parent of one comparison; `shown` is what Discord has (the ack sends the first)."""

    def __init__(self, interaction: discord.Interaction[Any], pacer: Pacer, parent: Parent) -> None:
        self._interaction = interaction
        self._pacer = pacer
        self._parent = parent
        self.shown = self.spec()
        self._writer: asyncio.Task[None] | None = None

    @property
    def parent(self) -> Parent:
        return self._parent

    def spec(self) -> MessageSpec:
        return parent_spec(self._parent, self._interaction.user.id)

    def prompt_checked(self, note: SafetyNote | None) -> None:
        """The guard's verdict on the prompt, as soon as the view sees it."""
        if self._parent.mode is not SafetyMode.OFF and note != self._parent.prompt:
            self.set(dataclasses.replace(self._parent, prompt=note))

    def set(self, parent: Parent) -> None:
        """Show `parent` when the pacer allows (the latest state wins)."""
        if parent.prompt is None and self._parent.prompt is not None:
            parent = dataclasses.replace(parent, prompt=self._parent.prompt)  # never un-judge
        self._parent = parent
        if self._writer is None or self._writer.done():
            self._writer = asyncio.create_task(self._write(), name="edit a /compare parent")

    async def settle(self, within: float = 5.0) -> None:
        """Until the latest state is on Discord (or `within` seconds pass); never raises."""
        if self._writer is not None:
            await asyncio.wait({self._writer}, timeout=within)

    async def _write(self) -> None:
        while self.spec() != self.shown:
            await self._pacer.wait()
            spec = self.spec()  # the newest state, however many changed while waiting
            if spec == self.shown:
                return
            try:
                await self._interaction.edit_original_response(**message_fields(spec))
            except (discord.HTTPException, aiohttp.ClientError, RuntimeError) as exc:
                # The next change tries again; the comparison itself is not affected. (After a
                # shutdown the session is closed: aiohttp raises RuntimeError then.)
                log.warning(
                    "editing the parent of interaction %s failed: %s", self._interaction.id, exc
                )
                return
            self.shown = spec
