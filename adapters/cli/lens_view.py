"""The lens in the terminal: each twin's next-token probabilities as bars, side by side."""

from __future__ import annotations

from rich.console import Group, RenderableType
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from bot.domain import Role
from bot.engine.lens import Distribution
from bot.text.visible import show_token

BAR_WIDTH = 24  # characters for 100%: both sides share the scale, so bars compare directly
_EIGHTHS = " ▏▎▍▌▋▊▉"
_TITLES = {Role.BASE: "Base", Role.INSTRUCT: "Instruct"}


def bar(probability: float, width: int = BAR_WIDTH) -> str:
    """A bar of `probability` × `width` characters, to an eighth of one."""
    eighths = round(max(0.0, min(1.0, probability)) * width * 8)
    full, rest = divmod(eighths, 8)
    return "█" * full + (_EIGHTHS[rest] if rest else "")


def percent(probability: float) -> str:
    return f"{probability * 100:.1f}%"


def side_table(distribution: Distribution) -> Panel:
    table = Table.grid(padding=(0, 1))
    table.add_column(no_wrap=True)
    table.add_column(no_wrap=True, min_width=BAR_WIDTH)
    table.add_column(justify="right", no_wrap=True)
    for chance in distribution.chances:
        # Text, never markup: a token such as "[b]" stays as the model wrote it.
        table.add_row(
            Text(show_token(chance.token)),
            Text(bar(chance.probability), style="cyan"),
            Text(percent(chance.probability)),
        )
    footer = Text(
        f"top {len(distribution.chances)} hold {percent(distribution.covered)}", style="dim"
    )
    title = Text(f"{_TITLES[distribution.role]} · {distribution.model}", style="bold")
    return Panel(Group(table, footer), title=title, title_align="left")


def lens_view(prompt: str, framed: str, sides: dict[Role, Distribution]) -> RenderableType:
    header = Text()
    header.append("next token after: ", style="bold")
    header.append(show_token(prompt))
    if framed != prompt:
        header.append("\nbase sees: ", style="bold")
        header.append(show_token(framed), style="dim")
    grid = Table.grid(expand=True, padding=(0, 1))
    grid.add_column(ratio=1)
    grid.add_column(ratio=1)
    grid.add_row(side_table(sides[Role.BASE]), side_table(sides[Role.INSTRUCT]))
    return Group(header, grid)
