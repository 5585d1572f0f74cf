"""Display-only changes to text twinbot did not write: prompts, model output, error lines.

Nothing here changes what is stored or sent to a model; it only decides how Discord shows it.

- Bidi controls: an explicit embedding, override or isolate (U+202A-U+202E, U+2066-U+2069)
  still open at the end of its line would turn whatever follows on that line, twinbot's own
  words included. Such an opener is replaced by U+FFFD, one character for one, so lengths and
  split points do not move. A pair closed on its own line stays: it only turns the writer's
  own text. A line is the unit because renderers differ on whether a newline ends a bidi
  paragraph; closing per line is safe either way.
- Spoilers: `||` inside concealed text would close Discord's spoiler early and show the rest.
  A zero-width space goes between two pipes (invisible, also inside a code block, where a
  backslash escape would show), and between the text and our bars where a `|` or `\\` touches.
- Links: a masked link `[text](https://…)` (base models write them) would show as `text`
  and hide where it goes. A zero-width space between `]` and `(` makes it plain text, the URL
  visible, outside code only (in code Discord renders no link, and the ZWSP would break copied
  code such as `handlers[key](event)`). A bare URL in message content is wrapped in `<…>`,
  which keeps it visible and clickable but stops Discord's preview; in an embed a URL never
  gets a preview, so embeds keep it as written.
- Invisible prompts: a prompt made only of zero-width, format or blank characters would show
  as nothing anywhere; twinbot says so instead of running it.
"""

from __future__ import annotations

import re
from collections.abc import Callable

REPLACEMENT = "\ufffd"
ZWSP = "\u200b"
_EMBEDDINGS = frozenset("\u202a\u202b\u202d\u202e")  # LRE RLE LRO RLO, closed by PDF
_PDF = "\u202c"
_ISOLATES = frozenset("\u2066\u2067\u2068")  # LRI RLI FSI, closed by PDI
_PDI = "\u2069"
_BIDI = _EMBEDDINGS | _ISOLATES | {_PDF, _PDI}
# UAX #9 paragraph separators (type B): each ends every open embedding and isolate.
_PARAGRAPH_ENDS = frozenset("\n\r\x1c\x1d\x1e\x85\u2029")
_PIPE_PAIR = re.compile(r"\|(?=\|)")
SPOILER_RESERVE = 6  # two bars on each side and a zero-width space at each end


def contain_bidi(text: str) -> str:
    """`text` with every bidi opener left open at the end of its line replaced by U+FFFD."""
    if _BIDI.isdisjoint(text):
        return text
    shown = list(text)
    open_: list[tuple[int, bool]] = []  # (index, is an isolate)

    def close_line() -> None:
        for index, _ in open_:
            shown[index] = REPLACEMENT
        open_.clear()

    for index, char in enumerate(text):
        if char in _PARAGRAPH_ENDS:
            close_line()
        elif char in _EMBEDDINGS:
            open_.append((index, False))
        elif char in _ISOLATES:
            open_.append((index, True))
        elif char == _PDF:
            # A PDF closes the innermost embedding, never across an isolate; else it is ignored.
            if open_ and not open_[-1][1]:
                open_.pop()
        elif char == _PDI and any(isolate for _, isolate in open_):
            # A PDI closes its isolate and every embedding opened inside it.
            while not open_.pop()[1]:
                pass
    close_line()
    return "".join(shown)


_BLOCK = re.compile(r"```[\s\S]+?```")
_INLINE = re.compile(r"(`+)([\s\S]*?[^`])\1(?!`)")  # Discord's inline-code rule
# Already wrapped, or a bare URL ending before trailing punctuation, as a reader would end it.
_URL = re.compile(r"<https?://[^\s<>]+>|https?://[^\s<>]*[^\s<>.,;:!?)\]'\"]")
LINK_GROWTH = 2  # disarm_links at most doubles a text (one ZWSP per two characters)


def _code_spans(text: str) -> list[tuple[int, int]]:
    """Where Discord shows code: blocks, then inline spans, left to right as its parser goes.
    A backtick after a backslash counts as text (it is escaped or, `\\``, near enough):
    erring towards text only costs an invisible character inside code."""
    spans, at = [], 0
    while (tick := text.find("`", at)) != -1:
        found = None
        if not (tick and text[tick - 1] == "\\"):
            found = _BLOCK.match(text, tick) or _INLINE.match(text, tick)
        if found is None:
            at = tick + 1
            continue
        spans.append(found.span())
        at = found.end()
    return spans


def _outside_code(text: str, change: Callable[[str], str]) -> str:
    if "`" not in text:
        return change(text)
    out, at = [], 0
    for start, end in _code_spans(text):
        out += [change(text[at:start]), text[start:end]]
        at = end
    out.append(change(text[at:]))
    return "".join(out)


def disarm_links(text: str) -> str:
    """`text` with no masked link outside code: a ZWSP between every `]` and `(` there."""
    if "](" not in text:
        return text
    return _outside_code(text, lambda part: part.replace("](", "]" + ZWSP + "("))


def quiet_urls(text: str) -> str:
    """For message content: masked links disarmed and each bare URL outside code wrapped in
    `<…>` (visible, no preview)."""
    return _outside_code(disarm_links(text), lambda part: _URL.sub(_wrap, part))


def _wrap(match: re.Match[str]) -> str:
    url = match.group()
    return url if url.startswith("<") else f"<{url}>"


def escape_pipes(text: str) -> str:
    """`text` with no two pipes in a row: safe inside `||...||`."""
    return _PIPE_PAIR.sub("|" + ZWSP, text)


def spoiler(text: str) -> str:
    """`text` hidden behind a Discord spoiler that nothing inside it can close early.
    At most `2 * len(text) + SPOILER_RESERVE - 1` characters."""
    inner = escape_pipes(text)
    if inner.startswith("|"):
        inner = ZWSP + inner
    if inner.endswith(("|", "\\")):
        inner += ZWSP  # else `|||` or `\||` would eat one of the closing bars
    return f"||{inner}||"
