"""`/compare`: decide at once (ack within Slack's 3 s), then work in the background.

Everything before the ack is synchronous and cheap (parse, validate, allowlist, rate limit), so
the ack never waits on Slack, Ollama or the database. A refusal *is* the ack: an ephemeral
reply only the user sees. What the command can be:

- `/compare [--blind] [options] PROMPT`: a comparison (running.py);
- `/compare demo [NAME]`: list the demos, or run one with its framing and settings;
- `/compare safety [MODE]`: show the channel's safety mode, or (admins) change it;
- `/compare help`: the help.
"""

from __future__ import annotations

import dataclasses
import logging
import random
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from slack_bolt.context.ack.async_ack import AsyncAck

from adapters.slack_app.invocation import Invocation
from adapters.slack_app.mrkdwn import command_text, escape
from adapters.slack_app.running import run_comparison
from adapters.slack_app.safety import SafetyCommand, decide_safety, run_safety
from adapters.slack_app.syntax import slack_help, slack_usage, subcommand, take_blind
from adapters.slack_app.texts import INTERNAL_ERROR
from bot.chat_flow import Refusal, admit
from bot.demos import find_demo
from bot.domain import CompareRequest, Role
from bot.errors import InputError, PromptsError
from bot.inline_options import CompareArgs, HelpWanted, help_text, parse_inline, usage

if TYPE_CHECKING:
    from adapters.slack_app.app import SlackBot

log = logging.getLogger(__name__)

COMMAND = "/compare"
_AS_PROMPT = "To send a prompt that starts with that word, put `--` before it: `/compare -- {}`."


@dataclass(frozen=True, slots=True)
class Job:
    """A comparison to run: the core's request, plus what Slack adds to it."""

    request: CompareRequest
    exempt: bool = False  # an admin: no rate limit, never refused by a full queue
    intro: str | None = None  # escaped mrkdwn for the parent message (a demo's story)


def decide(bot: SlackBot, call: Invocation) -> Job | SafetyCommand | str:
    """What to do, or the (plain) text to answer with instead."""
    settings = bot.runtime.settings
    text = command_text(call.text)
    sub = subcommand(text)
    try:
        if sub is not None and sub[0] == "safety":
            return decide_safety(call, sub[1], settings.slack_admin_users)
        if sub is not None:
            return decide_demo(bot, call, sub[1])
        blind, rest = take_blind(text)
        parsed = parse_inline(rest, COMMAND)
    except InputError as exc:
        log.info("/compare refused (bad_input) %s: %s", call.context(), exc)
        return str(exc).replace(usage(COMMAND), slack_usage())  # with Slack's --blind
    if isinstance(parsed, HelpWanted):
        return slack_help(help_text(settings, bot.runtime.catalog, COMMAND))
    return admitted(bot, call, parsed, blind)


def admitted(
    bot: SlackBot, call: Invocation, args: CompareArgs, blind: bool, intro: str | None = None
) -> Job | str:
    settings = bot.runtime.settings
    exempt = call.is_admin(settings.slack_admin_users)
    outcome = admit(
        settings,
        bot.runtime.catalog,
        bot.limiter,
        call.requester,
        args,
        allowed_channels=settings.slack_channels,
        exempt=exempt,
    )
    if isinstance(outcome, Refusal):
        log.info("/compare refused (%s) %s: %s", outcome.reason, call.context(), outcome.message)
        bot.runtime.metrics.errors.labels(f"refused_{outcome.reason}").inc()
        return outcome.message
    if blind or settings.blind_default or call.channel_id in settings.blind_channels:
        # Chatbot Arena's way: which side is A is a coin toss, stored with the comparison.
        first = random.choice((Role.BASE, Role.INSTRUCT))
        outcome = dataclasses.replace(outcome, blind=True, shown_first=first)
    return Job(outcome, exempt=exempt, intro=intro)


def decide_demo(bot: SlackBot, call: Invocation, rest: str) -> Job | str:
    """`/compare demo` lists the demos; `/compare demo [--blind] [--pair P] NAME` runs one
    (options given override the demo's own)."""
    demos = bot.demos
    if isinstance(demos, PromptsError):
        log.info("/compare demo refused (demos broken) %s", call.context())
        return f"The demos are not available: {demos}"
    blind, rest = take_blind(rest)
    parsed = parse_inline(rest, f"{COMMAND} demo")
    if isinstance(parsed, HelpWanted) or not demos:
        listed = "\n".join(f"• `{d.name}`: {d.title}" for d in demos.values()) or "(none)"
        return f"Demos (run one with `/compare demo NAME`):\n{listed}"
    name = parsed.prompt.strip()
    try:
        demo = find_demo(demos, name)
    except PromptsError as exc:
        log.info("/compare demo refused (unknown demo %r) %s", name[:40], call.context())
        return f"{exc} {_AS_PROMPT.format('demo ' + name[:40])}"
    args = CompareArgs(
        prompt=demo.prompt,
        pair=parsed.pair,
        framing=parsed.framing or demo.framing,
        max_tokens=parsed.max_tokens or demo.max_tokens,
        temperature=demo.temperature if parsed.temperature is None else parsed.temperature,
        seed=parsed.seed,
    )
    intro = f":bulb: *Demo: {escape(demo.title)}.* {escape(demo.explain)}"
    return admitted(bot, call, args, blind, intro)


async def on_compare(bot: SlackBot, ack: AsyncAck, command: Mapping[str, Any]) -> None:
    """The bolt listener. Acks exactly once, whatever happens."""
    call = Invocation.of(command)
    try:
        outcome = decide(bot, call)
    except Exception:
        log.exception("/compare failed before the ack %s", call.context())
        outcome = INTERNAL_ERROR
    if isinstance(outcome, str):
        await ack(text=escape(outcome), response_type="ephemeral")
        return
    await ack()
    if isinstance(outcome, SafetyCommand):
        bot.tasks.spawn(run_safety(bot, call, outcome), name=f"slack-safety-{call.channel_id}")
        return
    bot.tasks.spawn(run_comparison(bot, call, outcome), name=f"slack-compare-{call.channel_id}")
