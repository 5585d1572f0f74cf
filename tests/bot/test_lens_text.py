"""The lens as monospace text (what a channel without pictures gets): bars line up in columns
whatever the tokens' width, Japanese included."""

from __future__ import annotations

from bot.domain import Role
from bot.engine.lens import Distribution, TokenChance
from bot.text.lens_picture import Panel, cells, lens_table


def test_bars_line_up_after_wide_and_narrow_tokens():
    chances = (TokenChance("こんにちは", 0.7), TokenChance("Hello", 0.2), TokenChance("!", 0.1))
    panel = Panel("Instruct · m", Distribution(Role.INSTRUCT, "m", chances), "#000")

    rows = lens_table([panel]).splitlines()[1:]

    starts = {cells(row[: row.index("█")]) for row in rows}
    assert len(starts) == 1, rows  # every bar starts in the same column
    assert cells('"こんにちは"') == 12 and cells('"Hello"') == 7
