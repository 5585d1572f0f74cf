"""Model text for Slack's streaming methods, which render standard markdown, shown as written.

`chat.appendStream` text is markdown (a markdown block's rules): `**bold**`, `[label](url)`,
headings, lists, code. Slack documents the backslash escape for special characters, so every
ASCII punctuation character is escaped and none of it formats or links. What no escape
reaches, Slack's own linking of bare URLs and of broadcast words, is broken by a zero-width
space after each `:` and `@` and before the `.` of `www.`.

Each character's output depends only on the text before it, so the escaped text of a prefix
is a prefix of the escaped whole: a stream appends `escaped(all) - escaped(before)` safely,
however the text was cut into tokens.
"""

from __future__ import annotations

import string

ZWSP = "\u200b"
_PUNCTUATION = frozenset(string.punctuation)


def _one(text: str, at: int) -> str:
    ch = text[at]
    if ch not in _PUNCTUATION:
        return ch
    if ch in ":@":
        return "\\" + ch + ZWSP
    if ch == "." and text[max(0, at - 3) : at].lower() == "www":
        return ZWSP + "\\."
    return "\\" + ch


def escape_markdown(text: str, start: int = 0) -> str:
    """`text[start:]` escaped, reading what came before `start` for context."""
    return "".join(_one(text, at) for at in range(start, len(text)))
