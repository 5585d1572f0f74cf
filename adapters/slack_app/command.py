"""`/compare`: read the command text into the core's command, or answer a subcommand.

What the command can be:

- `/compare [--blind|--no-blind] [--lens] [options] PROMPT`: a comparison, run by the core;
- `/compare demo [NAME]`: list the demos, or run one with its framing and settings;
- `/compare safety [MODE]`: show the channel's safety mode, or (admins) change it;
- `/compare help`: the help.

Everything before the ack is cheap (parsing, and the core's admission, which reads only the
channel's safety mode, bounded), so the ack never waits on Slack or Ollama. A refusal *is*
the ack: an ephemeral reply only the user sees.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from slack_bolt.context.ack.async_ack import AsyncAck

from adapters.slack_app.compare_surface import CommandSurface
from adapters.slack_app.context import SlackContext
from adapters.slack_app.invocation import Invocation
from adapters.slack_app.mrkdwn import command_text, escape
from adapters.slack_app.safety_mode import SafetyCommand, decide_safety, run_safety
from adapters.slack_app.syntax import Flags, slack_help, slack_usage, subcommand, take_flags
from adapters.slack_app.texts import INTERNAL_ERROR
from bot.chat.command import ChatCommand
from bot.engine.demos import find_demo
from bot.engine.inline_options import CompareArgs, HelpWanted, help_text, parse_inline, usage
from bot.errors import InputError, PromptsError

log = logging.getLogger(__name__)

COMMAND = "/compare"
_AS_PROMPT = "To send a prompt that starts with that word, put `--` before it: `/compare -- {}`."


def chat_command(
    bot: SlackContext, call: Invocation, args: CompareArgs, flags: Flags, demo: str | None
) -> ChatCommand:
    return ChatCommand(
        requester=call.requester,
        args=args,
        blind=flags.blind,
        lens=flags.lens,
        demo=demo,
        exempt=call.is_admin(bot.runtime.settings.slack_admin_users),
        places=(call.channel_id,),
        # Direct messages (D…) are not where twinbot runs; the core refuses them.
        in_server=not call.channel_id.startswith("D"),
    )


def decide(bot: SlackContext, call: Invocation) -> ChatCommand | SafetyCommand | str:
    """What to do, or the (plain) text to answer with instead."""
    settings = bot.runtime.settings
    text = command_text(call.text)
    sub = subcommand(text)
    try:
        if sub is not None and sub[0] == "safety":
            return decide_safety(call, sub[1], settings.slack_admin_users)
        if sub is not None:
            return decide_demo(bot, call, sub[1])
        flags, rest = take_flags(text)
        parsed = parse_inline(rest, COMMAND)
    except InputError as exc:
        log.info("/compare refused (bad_input) %s: %s", call.context(), exc)
        return str(exc).replace(usage(COMMAND), slack_usage())  # with Slack's --blind
    if isinstance(parsed, HelpWanted):
        return slack_help(help_text(settings, bot.runtime.catalog, COMMAND))
    return chat_command(bot, call, parsed, flags, None)


def decide_demo(bot: SlackContext, call: Invocation, rest: str) -> ChatCommand | str:
    """`/compare demo` lists the demos; `/compare demo [--blind] [--lens] [--pair P] NAME` runs one
    (options given override the demo's own; the core merges them)."""
    demos = bot.chat.demos
    if isinstance(demos, Exception):
        log.info("/compare demo refused (demos broken) %s", call.context())
        return f"The demos are not available: {demos}"
    flags, rest = take_flags(rest)
    parsed = parse_inline(rest, f"{COMMAND} demo")
    if isinstance(parsed, HelpWanted) or not demos:
        listed = "\n".join(f"• `{d.name}`: {d.title}" for d in demos.values()) or "(none)"
        return f"Demos (run one with `/compare demo NAME`):\n{listed}"
    name = parsed.prompt.strip()
    try:
        find_demo(demos, name)  # the core finds it again; here to answer in Slack's words
    except PromptsError as exc:
        log.info("/compare demo refused (unknown demo %r) %s", name[:40], call.context())
        return f"{exc} {_AS_PROMPT.format('demo ' + name[:40])}"
    args = CompareArgs("", parsed.pair, parsed.framing, parsed.max_tokens, parsed.temperature,
                       parsed.seed)  # fmt: skip
    return chat_command(bot, call, args, flags, name)


async def on_compare(bot: SlackContext, ack: AsyncAck, command: Mapping[str, Any]) -> None:
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
    if isinstance(outcome, SafetyCommand):
        await ack()
        bot.tasks.spawn(run_safety(bot, call, outcome), name=f"slack-safety-{call.channel_id}")
        return
    surface = CommandSurface(bot, call, ack)
    try:
        await bot.chat.compare(outcome, surface)
    except Exception:
        log.exception("/compare failed %s", call.context())
        await surface.refuse(INTERNAL_ERROR)
