"""`/leaderboard`: which twin people prefer, as blocks (one per group of connected models, with
their ratings and each framing's win shares) paged over as many messages as Slack's limits
need, after the chart.

A command of its own (not `/compare leaderboard`), as on Discord and in docs/votes.md, so no
prompt can be mistaken for it. The filters are checked before the ack; the votes are read, the
ratings bootstrapped and the chart drawn after it, off the event loop. The chart is uploaded
first with the header as its comment (files.getUploadURLExternal +
files.completeUploadExternal, the way `files_upload_v2` does it), then the board; if Slack
refuses the upload (no `files:write` scope, say), the board ends with a line saying why.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from dataclasses import dataclass
from typing import Any

import aiohttp
from slack_sdk.errors import SlackApiError, SlackClientError

from adapters.slack_app.context import SlackContext
from adapters.slack_app.invocation import Invocation, notify
from adapters.slack_app.mrkdwn import escape
from adapters.slack_app.posting import slack_error
from adapters.slack_app.syntax import LEADERBOARD_HINT, parse_leaderboard
from adapters.slack_app.texts import invite_message
from bot.chat.admission import CHANNEL_NOT_ALLOWED, channel_allowed
from bot.errors import InputError
from bot.store.sqlite import VoteFilter, utc_iso
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

LEADERBOARD_COMMAND = "/leaderboard"
CHART_NAME = "twinbot-leaderboard.png"
SECTION_TEXT_MAX = 3_000  # characters of mrkdwn in one section block
BLOCKS_MAX = 50  # blocks in one message
SWITCH = "--all-votes"
_NOT_A_MEMBER = {"not_in_channel", "channel_not_found"}
USAGE = (
    f"`{LEADERBOARD_COMMAND} {LEADERBOARD_HINT}` posts which twin people prefer, per pair "
    "and framing, with a chart. `--since` takes a date (2026-05-01) or a span (12h, 7d, 4w). "
    "Only blind votes count (cast before the names were shown); `--all-votes` counts every vote."
)


@dataclass(frozen=True, slots=True)
class LeaderboardJob:
    where: VoteFilter
    header: str  # escaped mrkdwn
    all_votes: bool = False


def decide_leaderboard(bot: SlackContext, call: Invocation) -> LeaderboardJob | str:
    """The filters to run with, or the (plain) text to answer instead. No I/O: before the ack."""
    settings = bot.runtime.settings
    if call.text.strip().lower() in ("help", "--help", "-h"):
        return USAGE
    try:
        args = parse_leaderboard(call.text, call.channel_id)
        since = utc_iso(parse_moment(args.since)) if args.since else None
    except InputError as exc:
        log.info("/leaderboard refused (bad_input) %s: %s", call.context(), exc)
        return str(exc)
    if not channel_allowed((call.channel_id,), settings.slack_channels):
        return CHANNEL_NOT_ALLOWED
    key = f"slack:{call.team_id}:{call.channel_id}"
    wait = bot.leaderboard_limit.wait_time(key)
    if wait > 0 and not call.is_admin(settings.slack_admin_users):
        return f"A leaderboard was posted here moments ago. Try again in {max(1, round(wait))} s."
    bot.leaderboard_limit.take(key)
    where = VoteFilter(channel_id=args.channel_id, pair=args.pair, since=since)
    parts = []
    if args.channel_id:
        parts.append(f"in <#{args.channel_id}>")  # a channel link: it notifies nobody
    if args.pair:
        parts.append(f"pair `{escape(args.pair)}`")
    if args.since:
        parts.append(f"since {escape(args.since)}")
    parts.append("all votes" if args.all_votes else "blind votes only")
    header = "*Leaderboard*" + "".join(f" · {p}" for p in parts)
    return LeaderboardJob(where, header, args.all_votes)


Block = dict[str, Any]


def _section(text: str) -> Block:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}}


def board_blocks(board: Leaderboard) -> list[Block]:
    """The board's notes, then a block per section in a code block; a section longer than a
    block continues in the next one, cut between lines. Escaped before measuring: `&`, `<`
    and `>` grow."""
    blocks = [_section(escape("\n".join(notes(board, SWITCH))))]
    for part in sections(board):
        title = f"*{escape(part.title)}*"
        room = SECTION_TEXT_MAX - len(title) - len(" (continued)\n```\n\n```")
        for index, run in enumerate(chunks([escape(line) for line in part.lines], room)):
            named = title if index == 0 else f"{title} (continued)"
            blocks.append(_section(named + "\n```\n" + "\n".join(run) + "\n```"))
    return blocks


def board_messages(board: Leaderboard, header: str) -> list[tuple[str, list[Block]]]:
    """(fallback text, blocks) per message to post: the header first, 50 blocks a message."""
    empty = empty_text(board, SWITCH)
    if empty is not None:
        return [(header + "\n```\n" + escape(empty) + "\n```", [])]
    blocks = [_section(header), *board_blocks(board)]
    pages = [blocks[i : i + BLOCKS_MAX] for i in range(0, len(blocks), BLOCKS_MAX)]
    if len(pages) == 1:
        return [(header, pages[0])]
    return [
        (f"{header} (part {number} of {len(pages)})", page)
        for number, page in enumerate(pages, start=1)
    ]


def _chart(board: Leaderboard) -> bytes:
    from bot.votes.chart import leaderboard_chart  # matplotlib loads slowly: only when asked

    return leaderboard_chart(board)


async def post_leaderboard(bot: SlackContext, call: Invocation, job: LeaderboardJob) -> None:
    votes = await bot.runtime.store.votes(job.where)
    # Bootstrap ratings and plotting are CPU work: off the event loop, so acks stay quick.
    board = await asyncio.to_thread(
        functools.partial(build_leaderboard, votes, all_votes=job.all_votes)
    )
    messages = board_messages(board, job.header)
    try:
        if board.records:
            png = await asyncio.to_thread(_chart, board)
            refused = await _upload(bot, call, png, job.header)
            if refused is not None:
                text, blocks = messages[-1]
                note = f"_(the chart could not be uploaded: `{refused}`)_"
                if len(blocks) == BLOCKS_MAX:
                    messages.append((note, [_section(note)]))
                else:
                    messages[-1] = (text, [*blocks, _section(note)])
        for text, blocks in messages:
            await bot.posts.post(call.channel_id, text, blocks=blocks or None)
    except SlackApiError as exc:
        error = slack_error(exc)
        log.warning("/leaderboard could not post (%s) %s", error, call.context())
        if error in _NOT_A_MEMBER:
            await notify(bot.client, call, invite_message(bot.bot_name, call.channel_id))
        else:
            await notify(bot.client, call, f"Slack refused to post the leaderboard (`{error}`).")


async def _upload(bot: SlackContext, call: Invocation, png: bytes, comment: str) -> str | None:
    """Upload the chart with `comment`; None when done, else why not (a membership problem
    is raised, since the table could not be posted either)."""
    try:
        await bot.client.files_upload_v2(
            channel=call.channel_id,
            file=png,
            filename=CHART_NAME,
            title="twinbot leaderboard",
            alt_txt="Charts: each model's rating with its 95% interval, per group of models "
            "connected by votes; beside it, each twin's share of the votes per pair and framing, "
            "with 95% intervals.",
            initial_comment=comment,
        )
    except SlackApiError as exc:
        error = slack_error(exc)
        if error in _NOT_A_MEMBER:
            raise
        log.warning("/leaderboard chart upload refused (%s) %s", error, call.context())
        return error
    except (SlackClientError, aiohttp.ClientError, TimeoutError) as exc:
        log.warning("/leaderboard chart upload failed (%r) %s", exc, call.context())
        return "upload failed"
    return None
