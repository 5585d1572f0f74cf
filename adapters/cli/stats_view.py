"""`twinbot stats` in the terminal: rich tables that fit the console (80 columns and up).

Nothing is cut: a pair or model name wider than its column folds onto the next line (the whole
tag is there, in order), and the numbers keep their columns.
"""

from __future__ import annotations

from rich import box
from rich.console import Console, Group, RenderableType
from rich.table import Table
from rich.text import Text

from bot.text.visible import show_controls
from bot.votes.leaderboard import (
    Leaderboard,
    empty_text,
    grouped_records,
    interval_text,
    notes,
    pair_names,
    share,
)
from bot.votes.ratings import RatingGroup

SWITCH = "--all-votes"


def _table(title: str) -> Table:
    return Table(title=title, title_justify="left", box=box.SIMPLE_HEAD, pad_edge=False)


def _shares(board: Leaderboard) -> Table:
    table = _table("Win shares per pair and framing (95% intervals)")
    table.add_column("pair", overflow="fold", ratio=1)
    table.add_column("framing", overflow="fold", max_width=12)
    table.add_column("votes", justify="right", no_wrap=True)
    table.add_column("base wins", no_wrap=True)
    table.add_column("instruct wins", no_wrap=True)
    table.add_column("ties", justify="right", no_wrap=True)
    table.add_column("both\nbad", justify="right", no_wrap=True)
    for r in board.records:
        table.add_row(
            Text(show_controls(r.pair)), Text(show_controls(r.framing)), str(r.votes),
            share(r.base_rate), share(r.instruct_rate), str(r.ties), str(r.both_bad),
        )  # fmt: skip
    return table


def _ratings(group: RatingGroup, title: str) -> Table:
    table = _table(title)
    table.add_column("rank", justify="right", no_wrap=True)
    table.add_column("model", overflow="fold", ratio=1)
    table.add_column("rating", justify="right", no_wrap=True)
    table.add_column("95% CI", no_wrap=True)
    table.add_column("votes", justify="right", no_wrap=True)
    for r in group.ratings:
        table.add_row(
            str(r.rank),
            Text(show_controls(r.model)),
            f"{r.rating:.0f}",
            interval_text(r),
            str(r.battles),
        )
    return table


def stats_view(board: Leaderboard) -> RenderableType:
    empty = empty_text(board, SWITCH)
    if empty is not None:
        return Text(empty)
    parts: list[RenderableType] = [_shares(board)]
    for key, records in grouped_records(board).items():
        pairs = show_controls(pair_names(records))
        if isinstance(key, int):
            parts.append(_ratings(board.groups[key], f"Bradley-Terry ratings: {pairs}"))
        else:
            parts.append(Text(f"{pairs}: {show_controls(key)} against itself only, no rating."))
    parts.append(Text("\n".join(notes(board, SWITCH))))
    return Group(*parts)


def print_stats(console: Console, board: Leaderboard) -> None:
    console.print(stats_view(board), markup=False, highlight=False)
