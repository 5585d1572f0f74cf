"""`/leaderboard`: the board as embeds (one field per group of connected models, with their
ratings and each framing's win shares), paged over as many messages as Discord's limits need,
and the chart as an image on the first."""

from __future__ import annotations

import asyncio
import functools
import io
import logging
from typing import Any

import discord

from adapters.discord_bot.surfaces import NO_MENTIONS
from bot.errors import InputError
from bot.store.sqlite import Store, VoteFilter, utc_iso
from bot.votes.leaderboard import (
    Leaderboard,
    build_leaderboard,
    chunks,
    empty_text,
    notes,
    sections,
)
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


# Discord's limits on one message's embeds (all counted together for the total).
FIELD_NAME_MAX = 256
FIELD_VALUE_MAX = 1_024
FIELDS_MAX = 25
EMBEDS_TOTAL_MAX = 6_000
FOOTER_ROOM = 40  # "page 12 of 13" and some
COLOUR = 0x1B9E77  # the chart's instruct colour

Field = tuple[str, str]


def board_fields(board: Leaderboard) -> list[Field]:
    """One field per section, in a code block; a section longer than a field continues in the
    next one, cut between lines."""
    fence = len("```\n\n```")
    fields = []
    for section in sections(board):
        for index, run in enumerate(chunks(section.lines, FIELD_VALUE_MAX - fence)):
            name = section.title if index == 0 else f"{section.title} (continued)"
            fields.append((name[:FIELD_NAME_MAX], "```\n" + "\n".join(run) + "\n```"))
    return fields


def board_pages(fields: list[Field], description: str, title: str) -> list[list[Field]]:
    """The fields in pages that each fit one message's embed (25 fields, 6,000 characters
    with the title, the description on the first page and a page footer)."""
    pages: list[list[Field]] = [[]]
    used = len(title) + len(description) + FOOTER_ROOM
    for name, value in fields:
        size = len(name) + len(value)
        if pages[-1] and (len(pages[-1]) == FIELDS_MAX or used + size > EMBEDS_TOTAL_MAX):
            pages.append([])
            used = len(title) + FOOTER_ROOM
        pages[-1].append((name, value))
        used += size
    return pages


def board_embeds(board: Leaderboard, title: str) -> list[discord.Embed]:
    """One embed per message to send; empty when there is nothing to rate."""
    if empty_text(board, SWITCH) is not None:
        return []
    description = "\n".join(notes(board, SWITCH))
    pages = board_pages(board_fields(board), description, title)
    embeds = []
    for number, page in enumerate(pages, start=1):
        embed = discord.Embed(
            title=title, description=description if number == 1 else None, colour=COLOUR
        )
        for name, value in page:
            embed.add_field(name=name, value=value, inline=False)
        if len(pages) > 1:
            embed.set_footer(text=f"page {number} of {len(pages)}")
        embeds.append(embed)
    return embeds


def _chart(board: Leaderboard) -> bytes:
    from bot.votes.chart import leaderboard_chart  # matplotlib loads slowly: only when asked

    return leaderboard_chart(board)


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
    embeds = board_embeds(board, "Ratings and win shares")
    if not embeds:
        empty = empty_text(board, SWITCH) or ""
        await interaction.followup.send(f"{header}\n{empty}", allowed_mentions=NO_MENTIONS)
        return
    # The first page carries the chart; a board too big for one message continues below it.
    for number, embed in enumerate(embeds):
        if number == 0:
            await interaction.followup.send(
                header, embed=embed, files=files, allowed_mentions=NO_MENTIONS
            )
        else:
            await interaction.followup.send(
                f"{header} (continued)", embed=embed, allowed_mentions=NO_MENTIONS
            )
