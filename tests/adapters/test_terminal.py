"""The terminal view's panels: what a side shows while waiting and once finished."""

from __future__ import annotations

from rich.console import Console

from adapters.terminal import side_panel
from bot.domain import Role, SideSnapshot, SideStats, SideStatus


def shown(side: SideSnapshot) -> str:
    console = Console(width=80, record=True)
    console.print(side_panel(side))
    return console.export_text()


def test_a_waiting_side_shows_an_ellipsis():
    waiting = SideSnapshot(Role.BASE, "m:1", "", SideStatus.WAITING, SideStats(), None, None)
    assert "…" in shown(waiting) and "no text" not in shown(waiting)


def test_a_side_that_finished_without_text_says_so():
    stats = SideStats(done_reason="stop", eval_count=1)
    done = SideSnapshot(Role.BASE, "m:1", "", SideStatus.DONE, stats, None, None)
    text = shown(done)
    assert "(no text)" in text and "no text · 1 token · stopped" in text
