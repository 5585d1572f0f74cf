"""Per-channel safety mode: which one applies, and `/compare safety [off|label|spoiler|withhold]`.

Anyone may ask which mode a channel uses; only the users in TWINBOT_SLACK_ADMIN_USERS may
change it. A channel without a choice uses TWINBOT_SAFETY_DEFAULT.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from adapters.slack_app.context import SlackContext
from adapters.slack_app.invocation import Invocation, notify
from adapters.slack_app.safety_texts import MODE_MEANINGS
from adapters.slack_app.view import PLATFORM
from bot.chat.safety_mode import change_mode, channel_mode
from bot.domain import SafetyMode
from bot.store.sqlite import StoreError

log = logging.getLogger(__name__)

SAFETY_USAGE = "`/compare safety` shows this channel's mode; admins change it with " + (
    "`/compare safety off|label|spoiler|withhold`."
)
NOT_AN_ADMIN = (
    "Only twinbot's admins can change the safety mode of a channel. "
    "Ask one of them (TWINBOT_SLACK_ADMIN_USERS lists them)."
)


@dataclass(frozen=True, slots=True)
class SafetyCommand:
    """Show the channel's mode (`mode` None) or set it (an admin's command)."""

    mode: SafetyMode | None


def decide_safety(call: Invocation, rest: str, admins: list[str]) -> SafetyCommand | str:
    """What `/compare safety REST` asks for, or the (plain) text to refuse it with."""
    word = rest.strip().lower()
    if not word:
        return SafetyCommand(None)
    try:
        mode = SafetyMode(word)
    except ValueError:
        return f"Unknown safety mode `{word[:40]}`. {SAFETY_USAGE}"
    if not call.is_admin(admins):
        log.info("safety mode change refused (not an admin) %s", call.context())
        return NOT_AN_ADMIN
    return SafetyCommand(mode)


def describe(mode: SafetyMode, chosen: bool) -> str:
    origin = "chosen by an admin" if chosen else "the default"
    return f"Safety mode in this channel: *{mode.value}* ({origin}): {MODE_MEANINGS[mode]}."


async def run_safety(bot: SlackContext, call: Invocation, command: SafetyCommand) -> None:
    """After the ack: read or change the mode (the core does both), and tell only the user."""
    runtime = bot.runtime
    if command.mode is None:
        mode, chosen = await channel_mode(
            runtime.store, runtime.settings, PLATFORM, call.channel_id
        )
        await notify(bot.client, call, describe(mode, chosen))
        return
    try:
        changed = await change_mode(runtime, PLATFORM, call.channel_id, command.mode, call.user_id)
    except StoreError as exc:
        log.error("safety mode change failed %s: %s", call.context(), exc)
        await notify(bot.client, call, str(exc))
        return
    message = f"Done. {describe(changed.mode, True)}"
    if changed.guard_problem:
        message += f" Note: {changed.guard_problem}"
    await notify(bot.client, call, message)
