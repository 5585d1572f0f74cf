"""The lens in a comparison's Discord thread: the picture attached under its headline, or the
bars as text in a code block where the picture cannot go.

The text is disarmed twice over: tokens are escaped by the core (bot/text/lens_picture.py), and
the table sits in a code block, where Discord renders no mention, link or markdown; a run of
three backticks in a token is broken with a zero-width space so it cannot close the block. A
URL in the headline (a note naming the server) is shown without a preview. Every message
carries allowed_mentions none besides.
"""

from __future__ import annotations

import io
import logging
from collections.abc import Awaitable, Callable
from typing import Any

import discord

from adapters.discord_bot.display import ZWSP, quiet_urls
from adapters.discord_bot.pacing import Pacer
from adapters.discord_bot.surfaces import NO_MENTIONS
from adapters.discord_bot.texts import CONTENT_MAX, clip
from bot.chat.surface import LensShown

log = logging.getLogger(__name__)

DESCRIPTION_MAX = 1024  # an attachment's description (its alt text)
_FENCE = "```"


def lens_text(shown: LensShown, *, with_table: bool) -> str:
    """The message content: the headline, and the table in a code block when asked for."""
    if not with_table or not shown.table:
        return quiet_urls(clip(shown.headline, CONTENT_MAX - 100))
    head = quiet_urls(clip(shown.headline, 300))
    table = shown.table.replace(_FENCE, f"`{ZWSP}`{ZWSP}`")
    room = CONTENT_MAX - len(head) - len("\n```text\n\n```")
    return f"{head}\n```text\n{clip(table, room)}\n```"


Send = Callable[..., Awaitable[Any]]


async def post_lens(shown: LensShown, send: Send, pacer: Pacer, where: str) -> None:
    """The picture with its headline; without the right to attach files, the text instead.
    Never raises."""
    try:
        if shown.png is not None:
            picture = discord.File(
                io.BytesIO(shown.png),
                filename=shown.filename,
                description=clip(shown.alt, DESCRIPTION_MAX) or None,
            )
            try:
                await pacer.wait()
                await send(lens_text(shown, with_table=False), file=picture,
                           allowed_mentions=NO_MENTIONS)  # fmt: skip
                return
            except discord.Forbidden as exc:  # no Attach Files: the bars as text
                log.warning("%s: the lens picture was refused (%s); posting text", where, exc)
        await pacer.wait()
        await send(lens_text(shown, with_table=True), allowed_mentions=NO_MENTIONS)
    except discord.HTTPException as exc:
        log.warning("%s: the lens could not be posted: %s", where, exc)
