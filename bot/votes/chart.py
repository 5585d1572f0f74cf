"""The leaderboard as a picture: each side's win rate per pair and framing, with 95% intervals."""

from __future__ import annotations

import io

# A bare Figure, not pyplot: no global state, no display, safe to call from any task.
from matplotlib.figure import Figure

from bot.votes.leaderboard import Leaderboard

BASE_COLOUR = "#d95f02"
INSTRUCT_COLOUR = "#1b9e77"


def win_rate_chart(board: Leaderboard, title: str = "Which twin do people prefer?") -> bytes:
    """PNG bytes; the caller posts them as an image."""
    records = board.records[:12]  # a readable chart, not every framing ever tried
    labels = [f"{r.pair}\n{r.framing} ({r.votes})" for r in records]
    figure = Figure(figsize=(8, 1.2 + 0.6 * max(1, len(records))), dpi=110)
    axes = figure.subplots()
    height = 0.38
    for offset, colour, name, rates in (
        (-height / 2, BASE_COLOUR, "base better", [r.base_rate for r in records]),
        (height / 2, INSTRUCT_COLOUR, "instruct better", [r.instruct_rate for r in records]),
    ):
        positions = [index + offset for index in range(len(records))]
        values = [rate.value * 100 for rate in rates]
        errors = [
            [(rate.value - rate.low) * 100 for rate in rates],
            [(rate.high - rate.value) * 100 for rate in rates],
        ]
        axes.barh(positions, values, height=height, color=colour, label=name, xerr=errors,
                  error_kw={"ecolor": "#333333", "capsize": 3, "linewidth": 1})  # fmt: skip
    axes.set_yticks(range(len(records)), labels)
    axes.invert_yaxis()
    axes.set_xlim(0, 100)
    axes.set_xlabel("share of votes (%), bars show 95% intervals")
    axes.set_title(title if records else "No votes yet")
    axes.legend(loc="lower right", fontsize="small")
    axes.grid(axis="x", alpha=0.3)
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()
