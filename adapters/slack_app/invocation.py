"""A slash command as twinbot reads it, and how to answer only the user who typed it."""

from __future__ import annotations

import logging
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Any

from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.webhook.async_client import AsyncWebhookClient

from adapters.slack_app.mrkdwn import escape
from bot.domain import Requester

log = logging.getLogger(__name__)

RESPONSE_TIMEOUT = 10  # seconds for one response_url post


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

    def is_admin(self, admins: Collection[str]) -> bool:
        return bool(self.user_id) and self.user_id in admins

    def context(self) -> str:
        return f"team={self.team_id} channel={self.channel_id} user={self.user_id}"


async def respond(call: Invocation, text: str, *, replace: bool = False) -> bool:
    """Post escaped mrkdwn `text` to the command's response_url, ephemeral; `replace` replaces
    the message posted there before. False (logged) if Slack did not take it."""
    if not call.response_url:
        return False
    try:
        webhook = AsyncWebhookClient(call.response_url, timeout=RESPONSE_TIMEOUT)
        sent = await webhook.send(text=text, response_type="ephemeral", replace_original=replace)
    except Exception as exc:
        log.warning("response_url failed (%r) %s", exc, call.context())
        return False
    if sent.status_code != 200:
        log.warning("response_url answered %d %s", sent.status_code, call.context())
        return False
    return True


async def notify(client: AsyncWebClient, call: Invocation, message: str) -> None:
    """Tell only the user (plain `message`, escaped here): through `response_url` (works even
    where twinbot is no member), else chat.postEphemeral. Logged if both fail; never raises."""
    text = escape(message)
    if await respond(call, text):
        return
    try:
        await client.chat_postEphemeral(channel=call.channel_id, user=call.user_id, text=text)
    except Exception as exc:
        log.error("could not tell the user %r (%r) %s", message, exc, call.context())
