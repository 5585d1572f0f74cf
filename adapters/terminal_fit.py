"""Fitting a comparison into a terminal window: a model tag into a narrow title, and the newest
lines of a long output into the rows that are left. Heights and widths are rich's own (wrapping,
wide characters), measured by rendering, never counted by hand."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator

from rich.cells import cell_len
from rich.console import Console, ConsoleOptions, RenderableType, RenderResult
from rich.segment import Segment
from rich.text import Text

# A tag's words start at these separators: `llama3.2` `:1b` `-instruct` `-q4` `_K` `_M`.
_WORD = re.compile(r"[:/_-]?[^:/_-]*")
_SEPARATORS = ":/_-"
_GAP = "…"


def _words(tag: str) -> list[str]:
    return [word for word in _WORD.findall(tag) if word]


def _shown(words: list[str], kept: set[int]) -> str:
    """The kept words in order, each run of left-out words as one `…`."""
    out, gap = "", False
    for index, word in enumerate(words):
        if index not in kept:
            gap = True
            continue
        if gap:
            out += _GAP + word.lstrip(_SEPARATORS)  # `…instruct`, not `…-instruct`
        else:
            out += word
        gap = False
    return out + (_GAP if gap else "")


def short_tag(tag: str, twin: str, room: int) -> str:
    """`tag` in at most `room` cells, still telling it apart from `twin` (the other side's tag).

    The words that differ from the twin stay; then, while they fit: the first word (the family,
    `llama3.2`), the words just before the difference (the size, `1b`), the words after it (the
    quantisation). `llama3.2:1b-instruct-q4_K_M` beside `llama3.2:1b-text-q4_K_M` becomes
    `llama3.2:1b-instruct…`, then `llama3.2…instruct…`, then `…instruct…`.
    """
    if room < 1:
        return ""
    if cell_len(tag) <= room:
        return tag
    words, others = _words(tag), _words(twin)
    same_start = 0
    while same_start < min(len(words), len(others)) and words[same_start] == others[same_start]:
        same_start += 1
    same_end = 0
    limit = min(len(words), len(others)) - same_start
    while same_end < limit and words[-1 - same_end] == others[-1 - same_end]:
        same_end += 1
    first, last = same_start, len(words) - same_end
    if first == last:
        # Nothing of its own (`qwen2.5:0.5b` beside `qwen2.5:0.5b-instruct`): the word before the
        # twin's extra words is where they part.
        first = max(first - 1, 0)
        last = first + 1
    kept = set(range(first, last))
    if cell_len(_shown(words, kept)) > room:
        return _crop(_shown(words, kept), room)
    # Each run is taken word by word while it fits, and stops at the first that does not: a
    # word beyond a gap (`llama3.2…-q4…`) would say less than it costs.
    for run in ([0], range(first - 1, 0, -1), range(last, len(words))):
        for index in run:
            wider = kept | {index}
            if cell_len(_shown(words, wider)) > room:
                break
            kept = wider
    return _shown(words, kept)


def _crop(text: str, room: int) -> str:
    cropped = Text(text)
    cropped.truncate(room, overflow="ellipsis")
    return cropped.plain


# Model text (a paragraph of it) as the terminal shows it: escapes and styles applied.
Styled = Callable[[str], Text]


def _paragraphs_from_end(text: str) -> Iterator[tuple[int, str]]:
    """Each paragraph with where it starts, the last first."""
    end = len(text)
    while True:
        start = text.rfind("\n", 0, end) + 1
        yield start, text[start:end]
        if start == 0:
            return
        end = start - 1


def tail_lines(
    console: Console, text: str, styled: Styled, options: ConsoleOptions, rows: int
) -> tuple[list[list[Segment]], bool]:
    """The last `rows` lines of `text` as rich wraps it at `options.max_width`, and whether
    lines above them were left out. Paragraphs wrap independently, so only the last ones are
    styled and rendered: a long output costs little more per frame than the window shows."""
    options = options.update(height=None, overflow="fold")
    lines: list[list[Segment]] = []
    for start, paragraph in _paragraphs_from_end(text):
        lines[:0] = console.render_lines(styled(paragraph), options, pad=False)
        if len(lines) >= rows:
            return lines[len(lines) - rows :] if rows else [], len(lines) > rows or start > 0
    return lines, False


class Tail:
    """A side's body: `text` styled by `styled` (wrapped with fold, not ellipsis: text without
    spaces, such as Japanese, must stay whole), then `footer` (the stats). With `rows`, the live
    view: only the newest lines of text that fit in `rows` with the footer whole."""

    def __init__(self, text: str, styled: Styled, footer: Text, rows: int | None) -> None:
        self.text, self.styled = text, styled
        self.footer = footer
        self.rows = rows

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        options = options.update(height=None, overflow="fold")
        footer = console.render_lines(self.footer, options, pad=False)
        if self.rows is None:
            lines = console.render_lines(self.styled(self.text), options, pad=False)
        else:
            room = max(self.rows - len(footer), 0)
            lines, cut = tail_lines(console, self.text, self.styled, options, room)
            if cut and room > 1:
                # Say that the top is hidden, not lost: it prints whole at the end.
                marker = Text(f"{_GAP} (earlier text above)", style="dim", overflow="ellipsis")
                above = console.render_lines(marker, options.update(no_wrap=True), pad=False)
                lines = above[:1] + lines[1:]
        yield from _joined(lines + footer)


def _joined(lines: list[list[Segment]]) -> RenderResult:
    new_line = Segment.line()
    for line in lines:
        yield from line
        yield new_line


class Lines:
    """Lines rendered already, drawn as they are."""

    def __init__(self, lines: list[list[Segment]]) -> None:
        self.lines = lines

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        yield from _joined(self.lines)


def head_lines(
    console: Console, renderable: RenderableType, options: ConsoleOptions, rows: int
) -> list[list[Segment]]:
    """The first `rows` lines of `renderable`, the last of them `…` when some were left out."""
    lines = console.render_lines(renderable, options.update(height=None), pad=False)
    if len(lines) <= rows:
        return lines
    more = console.render_lines(Text(_GAP, style="dim"), options, pad=False)
    return lines[: max(rows - 1, 0)] + more
