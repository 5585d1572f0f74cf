"""Control characters are shown as escapes, never dropped, never sent raw."""

from __future__ import annotations

import re

from hypothesis import given
from hypothesis import strategies as st

from bot.text.visible import CONTROL, control_pieces, show_controls

controls = st.sampled_from([chr(c) for c in (*range(0x00, 0x20), *range(0x7F, 0xA0))])
hostile = st.lists(
    controls
    | st.sampled_from(["\x1b[2J", "\x1b]0;title\x07", "\x1b]52;c;ZXZpbA==\x07"])
    | st.text(max_size=8),
    max_size=40,
).map("".join)
ESCAPE = re.compile(r"\\x([0-9a-f]{2})")


@given(hostile.filter(lambda t: "\\" not in t))
def test_every_control_but_newline_and_tab_becomes_its_escape_and_comes_back(text: str) -> None:
    shown = show_controls(text)
    assert not CONTROL.search(shown)
    assert shown.count("\n") == text.count("\n") and shown.count("\t") == text.count("\t")
    assert ESCAPE.sub(lambda m: chr(int(m.group(1), 16)), shown) == text  # nothing dropped


@given(hostile)
def test_pieces_join_to_the_shown_text_and_mark_only_escapes(text: str) -> None:
    pieces = list(control_pieces(text))
    assert "".join(piece for piece, _ in pieces) == show_controls(text)
    for piece, escaped in pieces:
        assert ESCAPE.fullmatch(piece) if escaped else not CONTROL.search(piece)


def test_the_named_sequences() -> None:
    assert show_controls("\x1b]0;pwned\x07a\rb\x9b2J\x7f") == r"\x1b]0;pwned\x07a\x0db\x9b2J\x7f"
    assert show_controls("line\n\tindented") == "line\n\tindented"
