"""The spoiler button: a click sends the hidden output to the clicker alone (chat.postEphemeral
in the thread), read from the store. The button carries only the comparison and the side.

The click is refused if the comparison is not of this channel, or the channel now withholds
flagged output (an admin's later choice wins over an old button). Every reveal is logged.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from slack_sdk.webhook.async_client import AsyncWebhookClient

from adapters.slack_app.context import SlackContext
from adapters.slack_app.mrkdwn import escape, split_escaped
from adapters.slack_app.safety_texts import parse_reveal_value
from adapters.slack_app.texts import BODY_LIMIT
from adapters.slack_app.view import PLATFORM
from bot.chat.safety_mode import channel_mode
from bot.domain import SafetyMode
from bot.text.render import ROLE_LABELS

log = logging.getLogger(__name__)

GONE = "This button no longer works: the comparison is not known here."
WITHHELD = "This channel now withholds flagged output, so it cannot be shown."
NOT_YET = "This output is still being written; try again when the model has finished."


def _field(body: Mapping[str, Any], *path: str) -> str:
    value: Any = body
    for key in path:
        value = value.get(key) if isinstance(value, Mapping) else None
    return str(value or "")


async def on_reveal(bot: SlackContext, body: Mapping[str, Any]) -> None:
    """After the ack of a click on REVEAL_ACTION."""
    user = _field(body, "user", "id")
    channel = _field(body, "channel", "id") or _field(body, "container", "channel_id")
    actions = body.get("actions") or [{}]
    value = str(actions[0].get("value") or "") if isinstance(actions[0], Mapping) else ""
    parsed = parse_reveal_value(value)
    context = f"team={_field(body, 'team', 'id')} channel={channel} user={user} value={value!r}"
    store = bot.runtime.store
    row = await store.comparison(parsed[0]) if parsed else None
    if parsed is None or row is None or row["platform"] != PLATFORM or row["channel_id"] != channel:
        log.warning("spoiler click refused (unknown comparison) %s", context)
        await _tell(bot, body, [GONE])
        return
    comparison_id, role = parsed
    mode, _ = await channel_mode(store, bot.runtime.settings, PLATFORM, channel)
    if mode is SafetyMode.WITHHOLD:
        log.info("spoiler click refused (channel withholds) %s", context)
        await _tell(bot, body, [WITHHELD])
        return
    output = (await store.outputs(comparison_id)).get(role)
    if output is None:
        await _tell(bot, body, [NOT_YET])
        return
    name = ROLE_LABELS[role]
    if row["blind"] and not row["revealed_at"]:
        name = "A" if role.value == row["shown_first"] else "B"  # still blind: no name
    head = (
        f":see_no_evil: Only you can see this: *{name}* of twinbot #{comparison_id}, "
        "hidden in the thread because the guard model flagged it or could not check it."
    )
    pieces = split_escaped(escape(str(output["text"] or "")), BODY_LIMIT) if output["text"] else []
    texts = [f"{head}\n{pieces[0] if pieces else '_(the model wrote nothing)_'}", *pieces[1:]]
    log.info("comparison #%d: the hidden %s output shown to its clicker %s", comparison_id,
             role.value, context)  # fmt: skip
    await _tell(bot, body, texts, thread_ts=str(row["thread_id"] or "") or None)


async def _tell(
    bot: SlackContext, body: Mapping[str, Any], texts: list[str], thread_ts: str | None = None
) -> None:
    """Ephemeral messages (escaped mrkdwn) to the clicker: chat.postEphemeral in the thread,
    else the click's response_url."""
    user = _field(body, "user", "id")
    channel = _field(body, "channel", "id") or _field(body, "container", "channel_id")
    for text in texts:
        try:
            await bot.client.chat_postEphemeral(
                channel=channel, user=user, text=text, thread_ts=thread_ts
            )
            continue
        except Exception as exc:
            log.warning("chat.postEphemeral to %s failed (%r); trying the response_url", user, exc)
        url = _field(body, "response_url")
        try:
            webhook = AsyncWebhookClient(url, timeout=10)
            await webhook.send(text=text, response_type="ephemeral", replace_original=False)
        except Exception as exc:
            log.error("could not show %s an ephemeral message (%r)", user, exc)
            return
