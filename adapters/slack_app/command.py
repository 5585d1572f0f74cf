"""`/compare`: decide at once (ack within Slack's 3 s), then run the comparison in the background.

Everything before the ack is synchronous and cheap (parse, validate, allowlist, rate limit), so
the ack never waits on Slack, Ollama or the database. A refusal *is* the ack: an ephemeral
reply only the user sees. Errors after the ack reach the user in the thread (a side's footer)
or, when there is no thread, as an ephemeral message via `response_url`.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from slack_bolt.context.ack.async_ack import AsyncAck
from slack_sdk.errors import SlackApiError
from slack_sdk.webhook.async_client import AsyncWebhookClient

from adapters.slack_app.mrkdwn import command_text, escape
from adapters.slack_app.posting import slack_error
from adapters.slack_app.texts import INTERNAL_ERROR, invite_message, slack_refused_message
from adapters.slack_app.view import SlackCompareView
from bot.chat_flow import Refusal, admit
from bot.domain import CompareRequest, Requester
from bot.errors import InputError
from bot.inline_options import HelpWanted, help_text, parse_inline

if TYPE_CHECKING:
    from adapters.slack_app.app import SlackBot

log = logging.getLogger(__name__)

COMMAND = "/compare"
_NOT_A_MEMBER = {"not_in_channel", "channel_not_found"}


@dataclass(frozen=True, slots=True)
class Invocation:
    """The fields of a slash command twinbot uses (Slack sends the same in both modes)."""

    team_id: str
    channel_id: str
    user_id: str
    user_name: str
    text: str
    response_url: str

    @classmethod
    def of(cls, command: Mapping[str, Any]) -> Invocation:
        return cls(
            team_id=str(command.get("team_id") or ""),
            channel_id=str(command.get("channel_id") or ""),
            user_id=str(command.get("user_id") or ""),
            user_name=str(command.get("user_name") or ""),
            text=str(command.get("text") or ""),
            response_url=str(command.get("response_url") or ""),
        )

    @property
    def requester(self) -> Requester:
        return Requester(
            platform="slack",
            user_id=self.user_id,
            user_name=self.user_name,
            workspace_id=self.team_id,
            channel_id=self.channel_id,
        )

    def context(self) -> str:
        return f"team={self.team_id} channel={self.channel_id} user={self.user_id}"


def decide(bot: SlackBot, call: Invocation) -> CompareRequest | str:
    """A request to run, or the (unescaped) text to answer with instead."""
    settings = bot.runtime.settings
    try:
        parsed = parse_inline(command_text(call.text), COMMAND)
    except InputError as exc:
        log.info("/compare refused (bad_input) %s: %s", call.context(), exc)
        return str(exc)
    if isinstance(parsed, HelpWanted):
        return help_text(settings, bot.runtime.catalog, COMMAND)
    outcome = admit(
        settings,
        bot.runtime.catalog,
        bot.limiter,
        call.requester,
        parsed,
        allowed_channels=settings.slack_channels,
    )
    if isinstance(outcome, Refusal):
        log.info("/compare refused (%s) %s: %s", outcome.reason, call.context(), outcome.message)
        return outcome.message
    return outcome


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
    bot.tasks.spawn(run_comparison(bot, call, outcome), name=f"slack-compare-{call.channel_id}")


async def run_comparison(bot: SlackBot, call: Invocation, request: CompareRequest) -> None:
    view = SlackCompareView(
        posts=bot.posts,
        updates=bot.scheduler(call.team_id),
        store=bot.runtime.store,
        channel_id=call.channel_id,
        asked_by=call.user_name,
    )
    try:
        await bot.runtime.service.run(request, view)
    except SlackApiError as exc:
        error = slack_error(exc)
        log.warning("/compare could not post (%s) %s", error, call.context())
        if error in _NOT_A_MEMBER:
            await notify(bot, call, invite_message(bot.bot_name, call.channel_id))
        else:
            await notify(bot, call, slack_refused_message(error))
    except asyncio.CancelledError:
        raise
    except Exception:
        log.exception("/compare crashed %s", call.context())
        await notify(bot, call, INTERNAL_ERROR)


async def notify(bot: SlackBot, call: Invocation, message: str) -> None:
    """Tell only the user: through `response_url` (works even where twinbot is no member),
    else chat.postEphemeral. Logged if both fail; never raises."""
    text = escape(message)
    if call.response_url:
        try:
            webhook = AsyncWebhookClient(call.response_url, timeout=10)
            sent = await webhook.send(text=text, response_type="ephemeral", replace_original=False)
            if sent.status_code == 200:
                return
            log.warning("response_url answered %d %s", sent.status_code, call.context())
        except Exception as exc:
            log.warning("response_url failed (%r) %s", exc, call.context())
    try:
        await bot.client.chat_postEphemeral(channel=call.channel_id, user=call.user_id, text=text)
    except Exception as exc:
        log.error("could not tell the user %r (%r) %s", message, exc, call.context())
