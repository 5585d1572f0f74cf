"""`/leaderboard`: win rates per pair and framing as a table, and the chart as an image."""

from __future__ import annotations

import asyncio
import functools
import io
import logging
from typing import Any

import discord

from adapters.discord_bot.surfaces import NO_MENTIONS
from adapters.discord_bot.texts import CONTENT_MAX
from bot.errors import InputError
from bot.store.sqlite import Store, VoteFilter, utc_iso
from bot.votes.leaderboard import Leaderboard, build_leaderboard, first_lines, leaderboard_text
from bot.votes.periods import parse_moment

log = logging.getLogger(__name__)

CHART_NAME = "leaderboard.png"


SWITCH = "all_votes: True"  # how a Discord user asks for every vote


def vote_filter(channel_id: int | None, pair: str | None, since: str | None) -> VoteFilter:
    """The filters as typed; a `since` that is not a time raises InputError."""
    return VoteFilter(
        channel_id=str(channel_id) if channel_id else None,
        pair=pair.strip() if pair and pair.strip() else None,
        since=utc_iso(parse_moment(since)) if since and since.strip() else None,
    )


def describe(channel_id: int | None, where: VoteFilter, since: str | None, all_votes: bool) -> str:
    parts = []
    if channel_id:
        parts.append(f"in <#{channel_id}>")
    if where.pair:
        parts.append(f"pair `{where.pair}`")
    if where.since and since:
        parts.append(f"since {since.strip()}")
    parts.append("all votes" if all_votes else "blind votes only")
    return "**Leaderboard**" + (" · " + " · ".join(parts) if parts else "")


def table_message(header: str, table: str) -> str:
    """The header and the table in a code block, cut at a line to fit one message."""
    room = CONTENT_MAX - len(header) - len("\n```\n\n```") - 40
    kept = first_lines(table, room, "… {count} more lines (use `twinbot stats`)")
    return header + "\n```\n" + kept + "\n```"


def _chart(board: Leaderboard) -> bytes:
    from bot.votes.chart import win_rate_chart  # matplotlib loads slowly: only when asked

    return win_rate_chart(board)


async def answer_leaderboard(
    store: Store,
    interaction: discord.Interaction[Any],
    channel_id: int | None,
    pair: str | None,
    since: str | None,
    all_votes: bool,
) -> None:
    try:
        where = vote_filter(channel_id, pair, since)
    except InputError as exc:
        await interaction.response.send_message(
            str(exc), ephemeral=True, allowed_mentions=NO_MENTIONS
        )
        return
    await interaction.response.defer(thinking=True)
    votes = await store.votes(where)
    # Bootstrap ratings and plotting are CPU work: off the event loop, so acks stay quick.
    board = await asyncio.to_thread(
        functools.partial(build_leaderboard, votes, all_votes=all_votes)
    )
    files = []
    if board.records:
        png = await asyncio.to_thread(_chart, board)
        files.append(discord.File(io.BytesIO(png), filename=CHART_NAME))
    header = describe(channel_id, where, since, all_votes)
    content = table_message(header, leaderboard_text(board, switch=SWITCH))
    await interaction.followup.send(content, files=files, allowed_mentions=NO_MENTIONS)
