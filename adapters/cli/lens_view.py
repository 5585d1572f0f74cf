"""The lens in the terminal: next-token probabilities as bars side by side, sampled answers as
histograms with their entropy and distance from uniform, and the token shift as the instruct
twin's answer with the tokens alignment moved marked."""

from __future__ import annotations

from rich.console import Group, RenderableType
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from adapters.terminal import two_columns
from bot.domain import Role
from bot.engine.lens import Distribution
from bot.engine.lens_samples import SampleRun, SideSamples
from bot.engine.lens_shift import ShiftKind, ShiftReport
from bot.engine.lens_stats import AnswerStats
from bot.text.visible import show_controls, show_token

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
    parts: list[RenderableType] = [table, footer]
    if distribution.prefix:
        parts.insert(0, Text(f"after {show_token(distribution.prefix)}", style="dim"))
    return Panel(Group(*parts), title=title, title_align="left")


def lens_view(prompt: str, framed: str, sides: dict[Role, Distribution]) -> RenderableType:
    header = _prompt_header("next token after", prompt, framed)
    return Group(
        header, two_columns(side_table(sides[Role.BASE]), side_table(sides[Role.INSTRUCT]))
    )


def _prompt_header(label: str, prompt: str, framed: str) -> Text:
    header = Text()
    header.append(f"{label}: ", style="bold")
    header.append(show_token(prompt))
    if framed != prompt:
        header.append("\nbase sees: ", style="bold")
        header.append(show_token(framed), style="dim")
    return header


# --- samples ---------------------------------------------------------------------------------

HISTOGRAM_ROWS = 12  # text answers: the commonest; numbers and digits: every value


def histogram_table(stats: AnswerStats) -> Table:
    # Text answers need room for the answer itself: half a bar (the scale is the same across
    # both panels, as both sides show the same kind of answers).
    width = BAR_WIDTH if stats.kind != "text" else BAR_WIDTH // 2
    table = Table.grid(padding=(0, 1))
    table.add_column(no_wrap=True, max_width=22, overflow="ellipsis")
    table.add_column(no_wrap=True, min_width=width)
    table.add_column(justify="right", no_wrap=True, min_width=11)
    rows = stats.counts if stats.kind != "text" else stats.counts[:HISTOGRAM_ROWS]
    total = stats.total or 1
    for value, count in rows:
        table.add_row(
            Text(show_controls(value)),
            Text(bar(count / total, width), style="cyan"),
            Text(f"{count} · {percent(count / total)}"),
        )
    if len(rows) < len(stats.counts):
        rest = sum(count for _, count in stats.counts[len(rows) :])
        table.add_row(Text(f"{len(stats.counts) - len(rows)} more", style="dim"), "", str(rest))
    return table


def stats_lines(stats: AnswerStats) -> list[str]:
    values = len(stats.counts)
    lines = [f"entropy {stats.entropy_bits:.2f} bits over {values} distinct answers"]
    uniform = stats.uniformity
    if uniform is not None:
        lines[0] = f"entropy {stats.entropy_bits:.2f} bits (uniform: {_log2(uniform.size):.2f})"
        unit = "digits" if stats.kind == "digits" else "answers"
        lines.append(
            f"from uniform over {uniform.low}–{uniform.high}: total variation "
            f"{uniform.total_variation:.2f} (a fair source, {uniform.draws} {unit}: "
            f"{uniform.uniform_total_variation:.2f}), chi² {uniform.chi_square:.1f} "
            f"({uniform.size - 1} df)"
        )
    return lines


def _log2(size: int) -> float:
    import math

    return math.log2(size) if size > 0 else 0.0


def samples_panel(side: SideSamples) -> Panel:
    title = Text(f"{_TITLES[side.role]} · {side.model}", style="bold")
    footer = Text("\n".join(stats_lines(side.stats)), style="dim")
    return Panel(Group(histogram_table(side.stats), footer), title=title, title_align="left")


def samples_view(prompt: str, framed: str, run: SampleRun) -> RenderableType:
    header = _prompt_header(f"{len(run.seeds)} samples a side of", prompt, framed)
    seeds = f"{run.seeds[0]}" if len(run.seeds) == 1 else f"{run.seeds[0]}–{run.seeds[-1]}"
    note = Text(
        f"seeds {seeds} (the same on both sides), temperature {run.temperature:g}, "
        f"at most {run.max_tokens} tokens each; counted by the first line, normalised",
        style="dim",
    )
    grid = two_columns(samples_panel(run.sides[Role.BASE]), samples_panel(run.sides[Role.INSTRUCT]))
    return Group(header, note, grid)


# --- token shift -----------------------------------------------------------------------------

_SHIFT_STYLES = {
    ShiftKind.UNSHIFTED: "",
    ShiftKind.MARGINAL: "yellow",
    ShiftKind.SHIFTED: "bold red",
}


def marked_answer(report: ShiftReport) -> Text:
    """The answer as written, marginal tokens in yellow, shifted ones in red and ⟦brackets⟧
    (the brackets survive where colour does not: a pipe, a log)."""
    text = Text()
    for token in report.tokens:
        shown = show_controls(token.token)
        if token.kind is ShiftKind.SHIFTED:
            shown = f"⟦{shown}⟧"
        text.append(shown, style=_SHIFT_STYLES[token.kind])
    return text


def shift_view(prompt: str, report: ShiftReport) -> RenderableType:
    header = _prompt_header("token shift for", prompt, prompt)
    count = len(report.tokens)
    shares = " · ".join(f"{kind.value} {percent(report.share(kind))}" for kind in ShiftKind)
    capped = " (the answer went on: only these were scored)" if report.capped else ""
    summary = Text(f"{shares} of {count} tokens{capped}", style="bold")
    legend = Text(
        f"rank of each token of {report.instruct_model}'s answer among {report.base_model}'s "
        "likeliest next tokens, same text before it: 1 unshifted, 2–3 marginal (yellow), "
        "beyond shifted (red, ⟦marked⟧)",
        style="dim",
    )
    answer = Panel(marked_answer(report), title=Text("Instruct answer", style="bold"),
                   title_align="left")  # fmt: skip
    parts: list[RenderableType] = [header, legend, answer, summary]
    shifted = report.most_shifted()
    if shifted:
        table = Table(title="most shifted", title_justify="left", box=None, padding=(0, 1))
        table.add_column("token")
        table.add_column("base rank", justify="right")
        table.add_column("base", justify="right")
        table.add_column("instruct", justify="right")
        for token in shifted:
            base = percent(token.base_probability) if token.base_probability is not None else "–"
            table.add_row(
                Text(show_token(token.token)),
                token.rank_text,
                base,
                "–" if token.instruct_probability is None else percent(token.instruct_probability),
            )
        parts.append(table)
    return Group(*parts)
