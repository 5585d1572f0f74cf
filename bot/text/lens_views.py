"""The token shift and the samples as a chat shows them: a PNG, the same as monospace text for
a platform that cannot take the picture, and one line for a screen reader.

As in lens_picture: tokens and answers are shown, never obeyed (every control and invisible
character escaped, characters no installed font draws escaped in the picture, no mathtext),
and the platform escapes the text for itself.
"""

from __future__ import annotations

import io
import math
import textwrap
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from bot.domain import CompareRequest, Role
from bot.engine.lens_samples import SampleRun, SideSamples
from bot.engine.lens_shift import ShiftKind, ShiftReport, TokenShift
from bot.engine.lens_stats import AnswerStats
from bot.text.lens_picture import (
    BLIND_COLOURS,
    ROLE_COLOURS,
    ROLE_TITLES,
    _fonts,
    cells,
    drawable,
    pad,
    percent,
    text_bar,
    token_label,
)

SHIFT_COLOURS = {ShiftKind.UNSHIFTED: "#d9d9d9", ShiftKind.MARGINAL: "#f6c945",
                 ShiftKind.SHIFTED: "#e15759"}  # fmt: skip
MOST_SHIFTED = 8
HISTOGRAM_ROWS = 12  # bars a side: text answers show the commonest
LINE_COLUMNS = 96  # monospace columns of the marked answer in the picture
_NEWLINE = "↵"


# --- token shift ------------------------------------------------------------------------------


def visible_piece(token: str, marks: bool = False) -> str:
    """A token of the answer as written, every control and invisible character escaped but
    spaces (they are part of the text); a newline is shown as ↵."""
    out = []
    for char in token:
        if char == "\n":
            out.append(_NEWLINE)
        elif char != " " and unicodedata.category(char) in {"Cc", "Cf", "Cs", "Co", "Cn",
                                                            "Zl", "Zp", "Zs"}:  # fmt: skip
            code = ord(char)
            out.append(f"\\u{code:04x}" if code <= 0xFFFF else f"\\U{code:08x}")
        else:
            out.append(char)
    shown = "".join(out)
    return shown.replace("⟦", "[").replace("⟧", "]") if marks else shown


def shift_shares(report: ShiftReport) -> str:
    shares = " · ".join(f"{kind.value} {percent(report.share(kind))}" for kind in ShiftKind)
    capped = " (the answer went on: only these were scored)" if report.capped else ""
    return f"{shares} of {len(report.tokens)} tokens{capped}"


def _probability(value: float | None) -> str:
    return "–" if value is None else percent(value)


def shift_table(report: ShiftReport) -> str:
    """The answer with shifted tokens ⟦bracketed⟧ and marginal ones ‹angled›, the shares, and
    the most shifted tokens, as monospace text."""
    marked = []
    for token in report.tokens:
        piece = visible_piece(token.token, marks=True)
        if token.kind is ShiftKind.SHIFTED:
            piece = f"⟦{piece}⟧"
        elif token.kind is ShiftKind.MARGINAL:
            piece = f"‹{piece}›"
        marked.append(piece + ("\n" if "\n" in token.token else ""))
    lines = ["".join(marked), "", shift_shares(report)]
    shifted = report.most_shifted(MOST_SHIFTED)
    if shifted:
        labels = [token_label(t.token) for t in shifted]
        width = max(cells(label) for label in labels)
        lines += ["", f"{pad('most shifted', width)} base rank  base p"]
        for label, token in zip(labels, shifted, strict=True):
            lines.append(
                f"{pad(label, width)} {token.rank_text:>9}  {_probability(token.base_probability)}"
            )
    return "\n".join(lines)


def shift_alt(report: ShiftReport, limit: int = 900) -> str:
    shifted = ", ".join(
        f"{token_label(t.token)} rank {t.rank_text}" for t in report.most_shifted(5)
    )
    alt = f"Token shift: {shift_shares(report)}." + (
        f" Most shifted: {shifted}." if shifted else ""
    )
    return alt if len(alt) <= limit else alt[: limit - 1] + "…"


def _lines(tokens: Sequence[TokenShift]) -> list[list[tuple[str, ShiftKind]]]:
    """The marked answer cut into lines of LINE_COLUMNS, at newlines and between tokens."""
    lines: list[list[tuple[str, ShiftKind]]] = [[]]
    used = 0
    for token in tokens:
        piece = "".join(
            c if c == " " or drawable(c) else f"\\u{ord(c):04x}" for c in visible_piece(token.token)
        )
        width = cells(piece)
        if used and used + width > LINE_COLUMNS:
            lines.append([])
            used = 0
        lines[-1].append((piece, token.kind))
        used += width
        if "\n" in token.token:
            lines.append([])
            used = 0
    return [line for line in lines if line] or [[]]


def shift_png(report: ShiftReport, headline: str) -> bytes:
    """The answer in monospace with marginal tokens on yellow and shifted ones on red, the three
    shares as one bar, and the most shifted tokens. CPU work: call it off the event loop."""
    from matplotlib.figure import Figure

    families = ["DejaVu Sans Mono", *(family for family, _ in _fonts())]
    text: dict[str, Any] = {"parse_math": False, "fontfamily": families}
    lines = _lines(report.tokens)
    shifted = report.most_shifted(MOST_SHIFTED)
    title = textwrap.wrap(headline, 100)
    points = 10.0  # font size; DejaVu Sans Mono's advance is 0.6 em
    line_height, width_in = 16.0, 10.0
    top = 20.0 + 16 * len(title)
    height = top + line_height * len(lines) + 80 + 16 * (len(shifted) + 1) + 10
    figure = Figure(figsize=(width_in, height / 72), dpi=110)

    def at(x_points: float, y_points: float) -> tuple[float, float]:
        return x_points / (width_in * 72), 1 - y_points / height

    figure.text(*at(24, 10), "\n".join(title), va="top", fontsize="medium",
                parse_math=False, fontfamily=families[1:] or None)  # fmt: skip
    for row, line in enumerate(lines):
        column = 0
        for piece, kind in line:
            box = None
            if kind is not ShiftKind.UNSHIFTED:
                box = {"facecolor": SHIFT_COLOURS[kind], "edgecolor": "none", "pad": 1.0}
            figure.text(*at(24 + column * points * 0.6, top + row * line_height), piece,
                        fontsize=points, va="top", bbox=box, **text)  # fmt: skip
            column += cells(piece)
    top += line_height * len(lines) + 16
    bar = figure.add_axes((24 / (width_in * 72), 1 - (top + 18) / height, 0.6, 18 / height))
    left = 0.0
    for kind in ShiftKind:
        share = report.share(kind)
        bar.barh([0], [share * 100], left=[left], color=SHIFT_COLOURS[kind], height=1.0)
        left += share * 100
    bar.set_xlim(0, 100)
    bar.set_axis_off()
    figure.text(*at(24, top + 26), shift_shares(report), va="top", fontsize=points, **text)
    top += 56
    if shifted:
        rows = [f"{'most shifted':<26}{'base rank':>10}{'base p':>9}"]
        rows += [
            f"{token_label(t.token, drawable, 24):<26}{t.rank_text:>10}"
            f"{_probability(t.base_probability):>9}"
            for t in shifted
        ]
        for index, row_text in enumerate(rows):
            x, y = at(24, top + index * 16)
            figure.text(x, y, row_text, fontsize=points, va="top",
                        fontweight="bold" if index == 0 else "normal", **text)  # fmt: skip
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()


# --- samples ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SamplesPanel:
    """One twin's samples as a chat shows them: "Base · model" or, blind, "Model A"."""

    title: str
    side: SideSamples
    colour: str


def samples_panels(run: SampleRun, request: CompareRequest) -> list[SamplesPanel]:
    """In the order the comparison shows the twins; blind, by letter with no role colour."""
    first = request.shown_first if request.blind else Role.BASE
    order = (first, Role.INSTRUCT if first is Role.BASE else Role.BASE)
    if request.blind:
        return [
            SamplesPanel(f"Model {letter}", run.sides[role], colour)
            for letter, role, colour in zip("AB", order, BLIND_COLOURS, strict=True)
        ]
    return [
        SamplesPanel(f"{ROLE_TITLES[r]} · {run.sides[r].model}", run.sides[r], ROLE_COLOURS[r])
        for r in order
    ]


def stats_lines(stats: AnswerStats) -> list[str]:
    """Entropy, and for digits and numbers the distance from uniform."""
    lines = [f"entropy {stats.entropy_bits:.2f} bits over {len(stats.counts)} distinct answers"]
    uniform = stats.uniformity
    if uniform is not None:
        lines[0] = f"entropy {stats.entropy_bits:.2f} bits (uniform {math.log2(uniform.size):.2f})"
        lines.append(
            f"from uniform over {uniform.low}–{uniform.high}: TV {uniform.total_variation:.2f} "
            f"(fair source: {uniform.uniform_total_variation:.2f}), chi² {uniform.chi_square:.1f}"
        )
    return lines


def histogram_rows(stats: AnswerStats) -> tuple[list[tuple[str, int]], int]:
    """The bars shown (every value of a small range, else the commonest) and how many more."""
    counts = list(stats.counts)
    if stats.kind == "text" or len(counts) > HISTOGRAM_ROWS:
        counts = sorted(counts, key=lambda pair: -pair[1])[:HISTOGRAM_ROWS]
    return counts, len(stats.counts) - len(counts)


def samples_table(panels: Sequence[SamplesPanel], run: SampleRun) -> str:
    blocks = []
    for panel in panels:
        stats = panel.side.stats
        rows, more = histogram_rows(stats)
        labels = [token_label(value) for value, _ in rows]
        width = max((cells(label) for label in labels), default=0)
        total = stats.total or 1
        lines = [f"{panel.title} ({stats.total} counted, {stats.kind})", *stats_lines(stats)]
        for label, (_, count) in zip(labels, rows, strict=True):
            lines.append(f"{pad(label, width)} {text_bar(count / total).ljust(20)} {count:>3}")
        if more:
            lines.append(f"… {more} more")
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks) + "\n\n" + seeds_line(run)


def seeds_line(run: SampleRun) -> str:
    return (
        f"seeds {run.seeds[0]}–{run.seeds[-1]} (the same on both sides), temperature "
        f"{run.temperature:g}, at most {run.max_tokens} tokens each"
    )


def samples_alt(panels: Sequence[SamplesPanel], limit: int = 900) -> str:
    parts = []
    for panel in panels:
        rows, _ = histogram_rows(panel.side.stats)
        top = ", ".join(f"{token_label(v)} {c}" for v, c in rows[:5])
        parts.append(f"{panel.title}: {top}; {'; '.join(stats_lines(panel.side.stats))}")
    alt = "Sampled answers. " + " | ".join(parts) + "."
    return alt if len(alt) <= limit else alt[: limit - 1] + "…"


def samples_png(panels: Sequence[SamplesPanel], headline: str) -> bytes:
    """Both twins' histograms side by side (counts), entropy and distance from uniform under
    each. CPU work: call it off the event loop."""
    from matplotlib.figure import Figure

    families = [family for family, _ in _fonts()]
    text: dict[str, Any] = {"parse_math": False, "fontfamily": families}
    shown = [histogram_rows(panel.side.stats) for panel in panels]
    rows = max((len(r) for r, _ in shown), default=1)
    figure = Figure(figsize=(10, 2.0 + 0.3 * max(rows, 3)), dpi=110)
    axes_row = figure.subplots(1, len(panels), squeeze=False)[0]
    most = max((c for r, _ in shown for _, c in r), default=1)
    for axes, panel, (bars, more) in zip(axes_row, panels, shown, strict=True):
        positions = list(range(len(bars)))
        counts = [count for _, count in bars]
        axes.barh(positions, counts, color=panel.colour, height=0.7)
        axes.set_yticks(positions, [token_label(v, drawable) for v, _ in bars], **text)
        for position, count in zip(positions, counts, strict=True):
            axes.text(count + most * 0.02, position, str(count), va="center", fontsize="small",
                      **text)  # fmt: skip
        axes.set_ylim(rows - 0.5, -0.5)
        axes.set_xlim(0, most * 1.15)
        axes.grid(axis="x", alpha=0.3)
        stats = panel.side.stats
        axes.set_title(f"{panel.title}\n{stats.total} counted ({stats.kind})",
                       fontsize="medium", **text)  # fmt: skip
        footer = "\n".join(stats_lines(stats) + ([f"… {more} more"] if more else []))
        axes.set_xlabel(footer, fontsize="small", **text)
    figure.suptitle(headline, **text)
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()
