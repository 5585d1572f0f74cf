"""The lens in a comparison's Slack thread: the picture uploaded into the thread the way
`files_upload_v2` does it (files.getUploadURLExternal, the upload, files.completeUploadExternal
with `thread_ts`), the headline as its comment. Where Slack refuses the upload (no `files:write`
scope, say), the bars go into the thread as text in a code block, with the reason.

Text is escaped (`&`, `<`, `>`: no mention, no link) and tokens were escaped by the core; a run
of three backticks in a token is broken with a zero-width space so it cannot close the block.
"""

from __future__ import annotations

import logging

import aiohttp
from slack_sdk.errors import SlackApiError, SlackClientError

from adapters.slack_app.context import SlackContext
from adapters.slack_app.invocation import Invocation
from adapters.slack_app.mrkdwn import clip, escape
from adapters.slack_app.posting import slack_error
from adapters.slack_app.texts import MESSAGE_LIMIT
from bot.chat.surface import LensShown

log = logging.getLogger(__name__)

ALT_LIMIT = 1000  # Slack's cap on a file's alt text
ICON = ":mag: "
_FENCE = "```"
_ZWSP = "\u200b"


def lens_text(shown: LensShown, refused: str | None = None) -> str:
    """The headline, the table in a code block, and why the picture is missing if it is."""
    head = ICON + escape(shown.headline)
    if not shown.table:
        return clip(head, MESSAGE_LIMIT)
    why = f"\n_(the picture could not be uploaded: `{escape(refused)}`)_" if refused else ""
    table = escape(shown.table).replace(_FENCE, f"`{_ZWSP}`{_ZWSP}`")
    room = MESSAGE_LIMIT - len(head) - len(why) - len("\n```\n\n```")
    return f"{head}\n```\n{clip(table, room)}\n```{why}"


async def post_lens(bot: SlackContext, call: Invocation, thread_ts: str, shown: LensShown) -> None:
    """Never raises: a failure is logged."""
    refused = None
    if shown.png is not None:
        refused = await _upload(bot, call, thread_ts, shown)
        if refused is None:
            return
    try:
        await bot.posts.post(call.channel_id, lens_text(shown, refused), thread_ts=thread_ts)
    except (SlackApiError, SlackClientError, aiohttp.ClientError, TimeoutError, OSError) as exc:
        log.warning("the lens could not be posted (%r) %s", exc, call.context())


async def _upload(
    bot: SlackContext, call: Invocation, thread_ts: str, shown: LensShown
) -> str | None:
    """None when the picture is in the thread, else why not."""
    assert shown.png is not None
    try:
        await bot.client.files_upload_v2(
            channel=call.channel_id,
            thread_ts=thread_ts,
            file=shown.png,
            filename=shown.filename,
            title="twinbot lens",
            alt_txt=clip(shown.alt, ALT_LIMIT),  # plain text, read aloud: not mrkdwn
            initial_comment=ICON + escape(shown.headline),
        )
    except SlackApiError as exc:
        error = slack_error(exc)
        log.warning("the lens picture upload was refused (%s) %s", error, call.context())
        return error
    except (SlackClientError, aiohttp.ClientError, TimeoutError, OSError) as exc:
        log.warning("the lens picture upload failed (%r) %s", exc, call.context())
        return "upload failed"
    return None
