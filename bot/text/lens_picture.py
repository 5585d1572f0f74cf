"""The next-token lens as a chat shows it: both twins' bars side by side in a PNG, and the same
bars as monospace text for a platform that cannot take the picture.

Tokens are shown, never obeyed: quoted, controls and every invisible or layout character
written as an escape (a token's newline or space is the very thing the model chose), lone
surrogates (half an emoji from the server) as their escape, and in the picture also every
character the installed fonts cannot draw, so no glyph turns into an empty box. Labels are
never read as mathtext (`$x$` stays as written). The platform escapes the text for itself.
"""

from __future__ import annotations

import functools
import io
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from bot.domain import CompareRequest, Role
from bot.engine.lens import Distribution
from bot.text.visible import show_token

LABEL_MAX = 24  # characters of a token label, quotes and escapes included
TEXT_BAR = 20  # characters for 100% in the text bars
_EIGHTHS = " ▏▎▍▌▋▊▉"
# Tried in this order for each character; only those installed are used (see `_fonts`).
FONT_FAMILIES = ("DejaVu Sans", "Noto Sans CJK JP", "Noto Sans CJK SC", "Noto Sans")
_INVISIBLE = {"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp", "Zs"}
ROLE_COLOURS = {Role.BASE: "#d95f02", Role.INSTRUCT: "#1b9e77"}  # the leaderboard chart's
BLIND_COLOURS = ("#5865f2", "#7f8c8d")  # by position only: a colour must not name a side
ROLE_TITLES = {Role.BASE: "Base", Role.INSTRUCT: "Instruct"}


@dataclass(frozen=True, slots=True)
class Panel:
    """One twin as the picture shows it: a title (a role and model, or "Model A"), its bars,
    and a colour."""

    title: str
    distribution: Distribution
    colour: str


def lens_panels(sides: dict[Role, Distribution], request: CompareRequest) -> list[Panel]:
    """The twins in the order the comparison shows them. Blind, they are "Model A" and
    "Model B" like the outputs, with no model name or role colour until the reveal names them."""
    first = request.shown_first if request.blind else Role.BASE
    order = (first, Role.INSTRUCT if first is Role.BASE else Role.BASE)
    if request.blind:
        return [
            Panel(f"Model {letter}", sides[role], colour)
            for letter, role, colour in zip("AB", order, BLIND_COLOURS, strict=True)
        ]
    return [
        Panel(f"{ROLE_TITLES[role]} · {sides[role].model}", sides[role], ROLE_COLOURS[role])
        for role in order
    ]


def _escape_char(char: str) -> str:
    code = ord(char)
    return f"\\u{code:04x}" if code <= 0xFFFF else f"\\U{code:08x}"


def token_label(
    token: str, drawable: Callable[[str], bool] | None = None, limit: int = LABEL_MAX
) -> str:
    """`token` quoted with everything invisible (and, given `drawable`, every character it
    cannot draw) escaped, clipped to `limit` characters."""
    quoted = show_token(token)  # quotes, controls, newline and tab
    shown = "".join(
        _escape_char(char)
        if (char != " " and unicodedata.category(char) in _INVISIBLE)
        or (drawable is not None and not drawable(char))
        else char
        for char in quoted
    )
    return shown if len(shown) <= limit else shown[: limit - 2] + "…" + shown[-1]


def percent(probability: float) -> str:
    return f"{probability * 100:.1f}%"


def text_bar(probability: float, width: int = TEXT_BAR) -> str:
    eighths = round(max(0.0, min(1.0, probability)) * width * 8)
    full, rest = divmod(eighths, 8)
    return "█" * full + (_EIGHTHS[rest] if rest else "")


def cells(text: str) -> int:
    """Columns a monospace font gives the text: wide (CJK) characters take two."""
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def pad(text: str, width: int) -> str:
    """Left-aligned in `width` columns, so bars after a Japanese token still line up."""
    return text + " " * max(0, width - cells(text))


def lens_table(panels: Sequence[Panel]) -> str:
    """The bars as monospace lines, one block per twin (a platform puts them in code)."""
    blocks = []
    for panel in panels:
        chances = panel.distribution.chances
        labels = [token_label(chance.token) for chance in chances]
        width = max((cells(label) for label in labels), default=0)
        lines = [f"{panel.title} (top {len(chances)} hold {percent(panel.distribution.covered)})"]
        for label, chance in zip(labels, chances, strict=True):
            bar = text_bar(chance.probability).ljust(TEXT_BAR)
            lines.append(f"{pad(label, width)} {bar} {percent(chance.probability):>6}")
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks)


def lens_alt(panels: Sequence[Panel], limit: int = 900) -> str:
    """One line for a screen reader: each twin's likeliest tokens and their shares."""
    parts = []
    for panel in panels:
        top = ", ".join(
            f"{token_label(c.token)} {percent(c.probability)}"
            for c in panel.distribution.chances[:5]
        )
        parts.append(f"{panel.title}: {top}")
    alt = "Next-token bars. " + "; ".join(parts) + "."
    return alt if len(alt) <= limit else alt[: limit - 1] + "…"


@functools.cache
def _fonts() -> tuple[tuple[str, frozenset[int]], ...]:
    """The installed families of FONT_FAMILIES, each with the characters it can draw."""
    from matplotlib import font_manager
    from matplotlib.ft2font import FT2Font

    found = []
    names = {entry.name for entry in font_manager.fontManager.ttflist}
    for family in FONT_FAMILIES:
        if family not in names:
            continue
        path = font_manager.findfont(
            font_manager.FontProperties(family=family), fallback_to_default=False
        )
        found.append((family, frozenset(FT2Font(path).get_charmap())))
    return tuple(found)


def drawable(char: str) -> bool:
    return any(ord(char) in charmap for _, charmap in _fonts())


def lens_png(panels: Sequence[Panel], headline: str) -> bytes:
    """Both twins' bars side by side on one scale (0–100%), as PNG bytes. CPU work: call it
    off the event loop."""
    # A bare Figure, not pyplot: no global state, safe from any thread (bot/votes/chart.py).
    from matplotlib.figure import Figure

    families = [family for family, _ in _fonts()]
    text = {"parse_math": False, "fontfamily": families}
    rows = max((len(p.distribution.chances) for p in panels), default=1)
    figure = Figure(figsize=(10, 1.4 + 0.34 * max(rows, 3)), dpi=110)
    axes_row = figure.subplots(1, len(panels), squeeze=False)[0]
    for axes, panel in zip(axes_row, panels, strict=True):
        chances = panel.distribution.chances
        values = [chance.probability * 100 for chance in chances]
        positions = list(range(len(chances)))
        axes.barh(positions, values, color=panel.colour, height=0.7)
        labels = [token_label(chance.token, drawable) for chance in chances]
        axes.set_yticks(positions, labels, **text)
        for position, value in zip(positions, values, strict=True):
            axes.text(value + 1.5, position, f"{value:.1f}%", va="center", fontsize="small",
                      **text)  # fmt: skip
        axes.set_ylim(rows - 0.5, -0.5)  # likeliest on top; bars as thick on both sides
        axes.set_xlim(0, 112)  # room for the figures after a bar near 100%
        axes.set_xticks([0, 25, 50, 75, 100])
        axes.grid(axis="x", alpha=0.3)
        covered = percent(panel.distribution.covered)
        axes.set_title(f"{panel.title}\ntop {len(chances)} hold {covered}", fontsize="medium",
                       **text)  # fmt: skip
        axes.set_xlabel("probability (%)")
    figure.suptitle(headline, **text)
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()
