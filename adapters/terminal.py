"""The terminal front end: both outputs live, side by side, with rich."""

from __future__ import annotations

from rich.console import Console, Group, RenderableType
from rich.live import Live
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from bot.domain import CompareSnapshot, SideSnapshot, SideStatus
from bot.text.render import ROLE_BLURBS, framed_preview, side_title, stats_line
from bot.text.visible import control_pieces

# How an escaped control character looks: apart from text that merely spells `\x1b`.
ESCAPE_STYLE = "reverse"

_BORDER = {
    SideStatus.WAITING: "grey50",
    SideStatus.STREAMING: "cyan",
    SideStatus.DONE: "green",
    SideStatus.FAILED: "red",
    SideStatus.CANCELLED: "yellow",
}


def shown(text: str, style: str = "") -> Text:
    """Model (or server) text for the terminal: control characters as styled escapes, never
    sent raw (see bot/visible.py); Text, never markup, so [brackets] stay as written."""
    out = Text()
    for piece, escaped in control_pieces(text):
        out.append(piece, style=f"{style} {ESCAPE_STYLE}".strip() if escaped else style)
    return out


def request_header(snapshot: CompareSnapshot) -> Text:
    request = snapshot.request
    options = request.options
    header = Text()
    header.append(f"#{snapshot.comparison_id} ", style="bold")
    header.append(f"pair {request.pair.name} · framing {request.framing.name} · ")
    header.append(f"max tokens {options.max_tokens} · temperature {options.temperature:g}")
    if options.seed is not None:
        header.append(f" · seed {options.seed}")
    header.append("\nprompt: ", style="bold")
    header.append_text(shown(request.prompt))
    if request.framed_prompt != request.prompt:
        # What the base model continues from: the framing around the prompt, on one line.
        header.append("\nbase sees: ", style="bold")
        header.append(framed_preview(request), style="dim")
    return header


def side_panel(side: SideSnapshot) -> Panel:
    body = Text(overflow="fold")  # fold, not ellipsis: text without spaces (CJK) must stay whole
    placeholder = Text("(no text)" if side.finished else "…", style="dim")
    body.append_text(shown(side.text) if side.text else placeholder)
    failed = side.status is SideStatus.FAILED
    body.append_text(shown("\n\n" + stats_line(side), "bold red" if failed else "dim"))
    return Panel(
        body,
        title=shown(side_title(side), "bold"),
        title_align="left",
        border_style=_BORDER[side.status],
    )


def render(snapshot: CompareSnapshot) -> RenderableType:
    grid = Table.grid(expand=True, padding=(0, 1))
    grid.add_column(ratio=1)
    grid.add_column(ratio=1)
    grid.add_row(
        Text(ROLE_BLURBS[snapshot.base.role], style="dim italic"),
        Text(ROLE_BLURBS[snapshot.instruct.role], style="dim italic"),
    )
    grid.add_row(side_panel(snapshot.base), side_panel(snapshot.instruct))
    if snapshot.notice:
        return Group(request_header(snapshot), grid, shown(snapshot.notice, "bold yellow"))
    return Group(request_header(snapshot), grid)


class TerminalView:
    """A CompareView drawing into one rich Live region."""

    def __init__(self, console: Console, refresh_interval: float) -> None:
        self._console = console
        self._interval = refresh_interval
        self._live: Live | None = None

    @property
    def update_interval(self) -> float:
        return self._interval

    async def start(self, snapshot: CompareSnapshot) -> None:
        # auto_refresh off: our throttle decides when to draw, so a frame is never stale.
        self._live = Live(render(snapshot), console=self._console, auto_refresh=False)
        self._live.start()

    async def update(self, snapshot: CompareSnapshot) -> None:
        if self._live is not None:
            self._live.update(render(snapshot), refresh=True)

    async def finish(self, snapshot: CompareSnapshot) -> None:
        if self._live is None:
            self._console.print(render(snapshot))
            return
        self._live.update(render(snapshot), refresh=True)
        self._live.stop()
        self._live = None
        if not self._console.is_terminal:
            self._console.line()  # a piped Live leaves the cursor at the end of its last line
