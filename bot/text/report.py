"""One self-contained HTML page of the demo experiments: readable offline and printable."""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from bot.domain import CompareRequest, CompareSnapshot, Role, SideSnapshot
from bot.engine.demos import Demo
from bot.engine.lens_record import NextTokenView, SamplesView, ShiftView
from bot.engine.lens_shift import ShiftKind
from bot.text.lens_picture import ROLE_COLOURS, ROLE_TITLES, percent, token_label
from bot.text.lens_views import histogram_rows, seeds_line, shift_shares, stats_lines
from bot.text.render import ROLE_BLURBS, framed_preview, side_title, stats_line
from bot.text.visible import control_pieces
from bot.votes.mapping import Choice

_CHOICE_WORDS = {
    Choice.BASE_BETTER: "base better",
    Choice.INSTRUCT_BETTER: "instruct better",
    Choice.TIE: "tie",
    Choice.BOTH_BAD: "both bad",
}

_STYLE = """
body { font: 15px/1.5 system-ui, sans-serif; margin: 2rem auto; max-width: 72rem; color: #222; }
h1 { font-size: 1.6rem; } h2 { font-size: 1.2rem; margin: 2rem 0 .3rem; }
.explain { color: #555; margin: 0 0 .6rem; }
.prompt { background: #f4f4f4; padding: .5rem .8rem; white-space: pre-wrap; border-radius: 4px; }
.framed { margin: .3rem 0 0; color: #555; font-size: .9rem; }
.framed summary { cursor: pointer; overflow-wrap: anywhere; }
.framed code { font-size: .85rem; }
.framed pre { background: #faf6f0; padding: .5rem .8rem; white-space: pre-wrap; margin: .3rem 0; }
.sides { display: grid; grid-template-columns: 1fr 1fr; gap: 1rem; margin-top: .6rem; }
.side { border: 2px solid #ccc; border-radius: 6px; padding: .6rem .8rem; }
.side.base { border-color: #d95f02; } .side.instruct { border-color: #1b9e77; }
.side h3 { font-size: 1rem; margin: 0; } .blurb { color: #777; font-style: italic; margin: 0; }
.output { white-space: pre-wrap; overflow-wrap: anywhere; margin: .5rem 0; }
.ctl { background: #fde2e2; color: #8a1010; font-family: monospace; border-radius: 2px; }
.stats, .votes { color: #555; font-size: .9rem; } .failed { color: #b00020; }
.lens { margin-top: .8rem; } .lens h3 { font-size: 1rem; margin: 0 0 .3rem; }
.bars { display: grid; grid-template-columns: max-content 1fr 4rem; gap: .15rem .5rem;
  align-items: center; font-size: .9rem; }
.bars .token { font-family: monospace; white-space: pre; }
.bars .track { background: #f0f0f0; height: .9rem; border-radius: 2px; }
.bars .bar { height: 100%; border-radius: 2px; print-color-adjust: exact; }
.bars .share { text-align: right; color: #555; }
.shift { white-space: pre-wrap; overflow-wrap: anywhere; background: #fafafa;
  padding: .5rem .8rem; font-family: monospace; border-radius: 4px; }
.shift .marginal { background: #f6c945; print-color-adjust: exact; }
.shift .shifted { background: #e15759; color: #fff; print-color-adjust: exact; }
.shifted-list td { padding: 0 .6rem 0 0; font-size: .9rem; }
.shifted-list td.n { text-align: right; }
section { break-inside: avoid; }
@media print { body { margin: 0; max-width: none; } .sides { gap: .5rem; } }
"""


def _text(text: str) -> str:
    """Model text as HTML: escaped, and each control character shown as a marked escape
    (bot/visible.py), since a browser drops or garbles them."""
    return "".join(
        f'<span class="ctl">{html.escape(piece)}</span>' if escaped else html.escape(piece)
        for piece, escaped in control_pieces(text)
    )


@dataclass(frozen=True, slots=True)
class DemoResult:
    demo: Demo
    snapshot: CompareSnapshot
    tallies: Mapping[Choice, int]
    lens: NextTokenView | None = None  # as stored with the comparison
    lens_note: str | None = None  # why there is no lens, when one was asked for
    shift: ShiftView | None = None  # the token shift stored with it (a chat's `lens: shift`)
    samples: SamplesView | None = None  # the samples stored with it


def _bars(view: NextTokenView, role: Role) -> str:
    """One twin's next-token bars as HTML (no picture: it prints, and its text can be copied)."""
    side = view.sides[role]
    rows = "".join(
        f'<span class="token">{html.escape(token_label(chance.token, limit=40))}</span>'
        f'<span class="track"><span class="bar" style="display:block;'
        f'width:{chance.probability * 100:.1f}%;background:{ROLE_COLOURS[role]}"></span></span>'
        f'<span class="share">{percent(chance.probability)}</span>'
        for chance in side.chances
    )
    title = (
        f"{ROLE_TITLES[role]} · {side.model}: top {len(side.chances)} hold {percent(side.covered)}"
    )
    return f'<div><h3>{html.escape(title)}</h3><div class="bars">{rows}</div></div>'


def _cost(view: NextTokenView | ShiftView | SamplesView) -> str:
    cost = f"{view.requests} requests"
    return cost + (f", {view.seconds:.2f} s" if view.seconds is not None else "")


def _lens(result: DemoResult) -> str:
    if result.lens_note:
        return f'<p class="lens stats">Lens not shown: {_text(result.lens_note)}</p>'
    parts = [_shift(result.shift), _samples(result.samples)]
    view = result.lens
    if view is not None:
        parts.insert(
            0,
            '<div class="lens"><p class="explain">The lens: where each twin puts its probability '
            f"for the first token of its answer (top {view.top_k}; {_cost(view)}).</p>"
            f'<div class="sides">{_bars(view, Role.BASE)}{_bars(view, Role.INSTRUCT)}</div></div>',
        )
    return "".join(parts)


def _shift(view: ShiftView | None) -> str:
    """The instruct answer with marginal tokens on yellow and shifted ones on red (each with its
    base rank as a tooltip), the shares, and the most shifted tokens."""
    if view is None:
        return ""
    report = view.report
    spans = []
    for token in report.tokens:
        text = _text(token.token)
        if token.kind is ShiftKind.UNSHIFTED:
            spans.append(text)
        else:
            title = html.escape(f"base rank {token.rank_text}", quote=True)
            spans.append(f'<span class="{token.kind.value}" title="{title}">{text}</span>')
    rows = "".join(
        f"<tr><td>{html.escape(token_label(t.token, limit=40))}</td>"
        f'<td class="n">{t.rank_text}</td>'
        f'<td class="n">{percent(t.base_probability) if t.base_probability is not None else "–"}'
        "</td></tr>"
        for t in report.most_shifted()
    )
    table = (
        '<table class="shifted-list"><tr><th>most shifted</th><th>base rank</th><th>base p</th>'
        f"</tr>{rows}</table>"
        if rows
        else ""
    )
    return (
        '<div class="lens"><p class="explain">Token shift: each token of '
        f"{html.escape(report.instruct_model)}'s answer ranked by {html.escape(report.base_model)}"
        " reading the same text (rank 1 unshifted, 2–3 marginal on yellow, beyond shifted on "
        f"red; {_cost(view)}).</p>"
        f'<div class="shift">{"".join(spans)}</div>'
        f'<p class="stats">{html.escape(shift_shares(report))}</p>{table}</div>'
    )


def _samples(view: SamplesView | None) -> str:
    if view is None:
        return ""
    run = view.run
    sides = []
    for role in (Role.BASE, Role.INSTRUCT):
        side = run.sides[role]
        shown, more = histogram_rows(side.stats)
        total = side.stats.total or 1
        rows = "".join(
            f'<span class="token">{html.escape(token_label(value, limit=40))}</span>'
            f'<span class="track"><span class="bar" style="display:block;'
            f'width:{count / total * 100:.1f}%;background:{ROLE_COLOURS[role]}"></span></span>'
            f'<span class="share">{count}</span>'
            for value, count in shown
        )
        lines = stats_lines(side.stats) + ([f"… {more} more"] if more else [])
        sides.append(
            f"<div><h3>{html.escape(f'{ROLE_TITLES[role]} · {side.model}')}</h3>"
            f'<div class="bars">{rows}</div>'
            f'<p class="stats">{"<br>".join(html.escape(line) for line in lines)}</p></div>'
        )
    return (
        f'<div class="lens"><p class="explain">Samples: {len(run.seeds)} answers a twin, counted '
        f"by their first line ({html.escape(seeds_line(run))}; {_cost(view)}).</p>"
        f'<div class="sides">{"".join(sides)}</div></div>'
    )


def _side(side: SideSnapshot) -> str:
    failed = " failed" if side.error else ""
    return (
        f'<div class="side {side.role.value}">'
        f"<h3>{_text(side_title(side))}</h3>"
        f'<p class="blurb">{html.escape(ROLE_BLURBS[side.role])}</p>'
        f'<div class="output">{_text(side.text) or "<em>(no output)</em>"}</div>'
        f'<p class="stats{failed}">{_text(stats_line(side))}</p>'
        "</div>"
    )


def _framed(request: CompareRequest) -> str:
    """What the base model saw: one line in the summary, the whole text when opened."""
    if request.framed_prompt == request.prompt:
        return '<p class="framed">The base model saw the prompt as typed.</p>'
    return (
        '<details class="framed"><summary>The base model saw: '
        f"<code>{html.escape(framed_preview(request))}</code></summary>"
        f"<pre>{html.escape(request.framed_prompt)}</pre></details>"
    )


def _tallies(tallies: Mapping[Choice, int]) -> str:
    total = sum(tallies.values())
    if not total:
        return "No votes yet."
    parts = ", ".join(f"{_CHOICE_WORDS[c]} {tallies.get(c, 0)}" for c in Choice)
    return f"Votes so far ({total}): {parts}."


def render_report(results: Sequence[DemoResult], pair_name: str) -> str:
    sections = []
    for result in results:
        demo, snapshot = result.demo, result.snapshot
        options = snapshot.request.options
        sections.append(
            f'<section id="{html.escape(demo.name)}">'
            f"<h2>{html.escape(demo.title)}</h2>"
            f'<p class="explain">{html.escape(demo.explain)}</p>'
            f'<div class="prompt">{_text(demo.prompt)}</div>'
            f"{_framed(snapshot.request)}"
            f'<div class="sides">{_side(snapshot.base)}{_side(snapshot.instruct)}</div>'
            f"{_lens(result)}"
            f'<p class="votes">{html.escape(_tallies(result.tallies))} '
            f"Framing: {html.escape(demo.framing)}, max tokens {options.max_tokens},"
            f" temperature {options.temperature:g}.</p>"
            "</section>"
        )
    generated = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>twinbot: base vs instruct ({html.escape(pair_name)})</title>"
        f"<style>{_STYLE}</style></head><body>"
        f"<h1>What post-training changes: {html.escape(pair_name)}</h1>"
        f"<p>Each experiment sends one prompt to the base model and its instruct twin at once. "
        f"Generated {generated} by twinbot.</p>" + "".join(sections) + "</body></html>\n"
    )
