"""The leaderboard as a picture: each model's Bradley-Terry rating with its 95% interval,
beside each twin's share of the votes per pair and framing with theirs."""

from __future__ import annotations

import io

# A bare Figure, not pyplot: no global state, no display, safe to call from any task.
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from bot.votes.leaderboard import Leaderboard, interval_text
from bot.votes.ratings import RatingGroup

BASE_COLOUR = "#d95f02"
INSTRUCT_COLOUR = "#1b9e77"
RATING_COLOUR = "#7570b3"
MOST_RECORDS = 30  # a readable chart; the table has every framing
MOST_MODELS = 30
RATINGS_TITLE = "Rating, 95% interval (per group)"
SHARES_TITLE = "Share of votes (%), 95% intervals"


def _shown_groups(board: Leaderboard) -> list[RatingGroup]:
    """Whole groups, largest first, while they stay within MOST_MODELS rows (at least one)."""
    shown: list[RatingGroup] = []
    for group in board.groups:
        if shown and sum(len(g.ratings) for g in shown) + len(group.ratings) > MOST_MODELS:
            break
        shown.append(group)
    return shown


def _ratings(axes: Axes, board: Leaderboard) -> None:
    """One row per model, the groups one under the other with a line between: ratings
    compare within a group only. An open side (never lost / never won) is an arrow."""
    labels: list[str] = []
    row = 0
    shown = _shown_groups(board)
    for number, group in enumerate(shown):
        if number:
            axes.axhline(row - 0.5, color="#999999", linewidth=0.8)
        for r in group.ratings:
            # The interval as a line of its own: the point estimate (with the prior) may lie
            # just outside the bootstrap percentiles, which an error bar cannot draw.
            low = r.rating if r.never_won else min(r.low, r.high)
            high = r.rating if r.never_lost else max(r.low, r.high)
            axes.hlines(row, low, high, colors="#333333", linewidth=1.5, label=r.model)
            axes.plot([low, high], [row, row], "|", color="#333333", markersize=8)
            axes.plot([r.rating], [row], "o", color=RATING_COLOUR)
            for open_side, towards in ((r.never_lost, 1), (r.never_won, -1)):
                if open_side:
                    axes.annotate("", xy=(r.rating + towards * 120, row), xytext=(r.rating, row),
                                  arrowprops={"arrowstyle": "->", "color": "#333333"})  # fmt: skip
            marked = interval_text(r) if (r.never_lost or r.never_won) else f"{r.battles} votes"
            labels.append(f"#{r.rank} {r.model}\n{marked}")
            row += 1
    axes.set_yticks(range(len(labels)), labels, fontsize="small")
    axes.invert_yaxis()
    cut = sum(len(g.ratings) for g in board.groups) - len(labels)
    title = RATINGS_TITLE + (f"\n{len(labels)} shown; {cut} more in the table" if cut else "")
    axes.set_title(title if labels else "No ratings yet", fontsize="medium")
    axes.grid(axis="x", alpha=0.3)


def _shares(axes: Axes, board: Leaderboard) -> None:
    records = board.records[:MOST_RECORDS]
    height = 0.38
    for offset, colour, name, rates in (
        (-height / 2, BASE_COLOUR, "base better", [r.base_rate for r in records]),
        (height / 2, INSTRUCT_COLOUR, "instruct better", [r.instruct_rate for r in records]),
    ):
        positions = [index + offset for index in range(len(records))]
        values = [rate.value * 100 for rate in rates]
        # Clamped: at 0% or 100% rounding can put the Wilson bound a hair inside the value.
        errors = [
            [max(0.0, rate.value - rate.low) * 100 for rate in rates],
            [max(0.0, rate.high - rate.value) * 100 for rate in rates],
        ]
        axes.barh(positions, values, height=height, color=colour, label=name, xerr=errors,
                  error_kw={"ecolor": "#333333", "capsize": 3, "linewidth": 1})  # fmt: skip
    axes.set_yticks(
        range(len(records)), [f"{r.pair}\n{r.framing} ({r.votes})" for r in records],
        fontsize="small",
    )  # fmt: skip
    axes.invert_yaxis()
    axes.set_xlim(0, 100)
    cut = len(board.records) - len(records)
    axes.set_title(
        SHARES_TITLE + (f"\n{len(records)} most voted; {cut} more in the table" if cut else ""),
        fontsize="medium",
    )
    axes.legend(loc="lower right", fontsize="small")
    axes.grid(axis="x", alpha=0.3)


def leaderboard_figure(board: Leaderboard, title: str = "Which twin do people prefer?") -> Figure:
    """The figure, for a caller that saves it (or a test that looks inside)."""
    models = sum(len(g.ratings) for g in _shown_groups(board))
    rows = max(1, models, min(len(board.records), MOST_RECORDS))
    figure = Figure(figsize=(13, 1.6 + 0.55 * rows), dpi=100, layout="constrained")
    ratings, shares = figure.subplots(1, 2)
    _ratings(ratings, board)
    _shares(shares, board)
    figure.suptitle(title if board.records else "No votes yet")
    return figure


def leaderboard_chart(board: Leaderboard, title: str = "Which twin do people prefer?") -> bytes:
    """PNG bytes; the caller posts them as an image."""
    buffer = io.BytesIO()
    leaderboard_figure(board, title).savefig(buffer, format="png")
    return buffer.getvalue()
