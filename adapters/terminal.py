"""The terminal front end: both outputs live, side by side, with rich."""

from __future__ import annotations

from rich.cells import cell_len
from rich.console import Console, ConsoleOptions, Group, RenderableType, RenderResult
from rich.live import Live
from rich.panel import Panel
from rich.segment import Segment
from rich.table import Table
from rich.text import Text

from adapters.terminal_fit import Lines, Styled, Tail, head_lines, short_tag
from bot.domain import CompareSnapshot, SideSnapshot, SideStatus
from bot.text.render import ROLE_BLURBS, ROLE_LABELS, framed_preview, stats_line
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


def _dim(text: str) -> Text:
    return Text(text, style="dim")


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


# Cells a shortened tag needs to stay telling (`…instruct…`); below, the role shrinks to a letter.
_SMALLEST_TAG = 10


def _side_title(side: SideSnapshot, twin: SideSnapshot, room: int) -> Text:
    """`Base · <tag>` within `room` cells: the tag shortened, never to nothing, so that the two
    sides stay apart in a narrow window (see short_tag)."""
    label = f"{ROLE_LABELS[side.role]} · "
    if room - cell_len(label) < _SMALLEST_TAG:
        label = f"{ROLE_LABELS[side.role][0]} "  # a very narrow window: `I …instruct…`
    tag = short_tag(side.model, twin.model, max(room - cell_len(label), 1))
    return shown(label + tag, "bold")


class SidePanel:
    """One side's output in a bordered panel. With `rows`, the live view: at most that many rows
    in all, the newest text and the stats line always in them; without, the whole text."""

    def __init__(self, side: SideSnapshot, twin: SideSnapshot, rows: int | None = None) -> None:
        self.side, self.twin, self.rows = side, twin, rows

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        side = self.side
        text = side.text
        styled: Styled = shown
        if not text:
            text = "(no text)" if side.finished else "…"
            styled = _dim
        failed = side.status is SideStatus.FAILED
        footer = shown("\n" + stats_line(side), "bold red" if failed else "dim")

        def panel(body: RenderableType) -> Panel:
            return Panel(
                body,
                # Panel draws `╭─ title ─╮`: a corner, a line and a space each side of it
                # (tests/adapters/test_terminal.py checks that a title fits whole).
                title=_side_title(side, self.twin, options.max_width - 6),
                title_align="left",
                border_style=_BORDER[side.status],
            )

        if self.rows is None:
            yield panel(Tail(text, styled, footer, None))
            return
        # The borders' rows, measured on a panel with nothing inside rather than assumed.
        border = len(console.render_lines(panel(Lines([])), options, pad=False))
        yield panel(Tail(text, styled, footer, max(self.rows - border, 1)))


def two_columns(base: RenderableType, instruct: RenderableType) -> Table:
    """Two equal columns; two such grids at one width line up column for column."""
    grid = Table.grid(expand=True, padding=(0, 1))
    grid.add_column(ratio=1)
    grid.add_column(ratio=1)
    grid.add_row(base, instruct)
    return grid


def _blurbs(snapshot: CompareSnapshot) -> Table:
    return two_columns(
        Text(ROLE_BLURBS[snapshot.base.role], style="dim italic"),
        Text(ROLE_BLURBS[snapshot.instruct.role], style="dim italic"),
    )


def _panels(snapshot: CompareSnapshot, rows: int | None = None) -> Table:
    return two_columns(
        SidePanel(snapshot.base, snapshot.instruct, rows),
        SidePanel(snapshot.instruct, snapshot.base, rows),
    )


def render(snapshot: CompareSnapshot) -> RenderableType:
    """The whole comparison, nothing cut: what stays on screen (or in a pipe) at the end."""
    notice = [shown(snapshot.notice, "bold yellow")] if snapshot.notice else []
    return Group(request_header(snapshot), _blurbs(snapshot), _panels(snapshot), *notice)


# Below this many rows for the panels (borders, a line of text, the stats), the blurbs give
# theirs up.
_SMALLEST_PANEL = 5


class LiveFrame:
    """The comparison while it streams, within the window's height: the header (at most a third
    of the window), and each side's newest lines with its stats. rich's Live would cut a taller
    frame at the bottom, exactly where the new text and "writing…" are."""

    def __init__(self, snapshot: CompareSnapshot) -> None:
        self.snapshot = snapshot

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        snapshot = self.snapshot
        height = options.height or options.size.height
        header = head_lines(console, request_header(snapshot), options, max(height // 3, 1))
        notice: list[list[Segment]] = []
        if snapshot.notice:
            notice = head_lines(console, shown(snapshot.notice, "bold yellow"), options, 2)
        blurbs = console.render_lines(_blurbs(snapshot), options.update(height=None), pad=False)
        rows = height - len(header) - len(notice)
        if rows - len(blurbs) < _SMALLEST_PANEL:
            blurbs = []
        yield Lines(header + blurbs)
        yield _panels(snapshot, rows - len(blurbs))
        yield Lines(notice)


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
        self._live = Live(LiveFrame(snapshot), console=self._console, auto_refresh=False)
        self._live.start()

    async def update(self, snapshot: CompareSnapshot) -> None:
        if self._live is not None:
            self._live.update(LiveFrame(snapshot), refresh=True)

    async def finish(self, snapshot: CompareSnapshot) -> None:
        if self._live is None:
            self._console.print(render(snapshot))
            return
        # Both outputs whole, printed once: Live.stop draws its last renderable uncut
        # (vertical_overflow "visible"), in place of the live frame.
        self._live.update(render(snapshot))
        self._live.stop()
        self._live = None
        if not self._console.is_terminal:
            self._console.line()  # a piped Live leaves the cursor at the end of its last line
