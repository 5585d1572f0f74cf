"""Fitting into the terminal: model tags shortened for narrow titles, and the tail of a text as
rich wraps it (wide characters included)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from rich.cells import cell_len
from rich.console import Console
from rich.text import Text

from adapters.terminal_fit import Tail, short_tag, tail_lines

LLAMA_BASE, LLAMA_INSTRUCT = "llama3.2:1b-text-q4_K_M", "llama3.2:1b-instruct-q4_K_M"


@pytest.mark.parametrize(
    ("tag", "twin", "room", "short"),
    [
        (LLAMA_INSTRUCT, LLAMA_BASE, 40, LLAMA_INSTRUCT),
        (LLAMA_INSTRUCT, LLAMA_BASE, 22, "llama3.2:1b-instruct…"),
        (LLAMA_BASE, LLAMA_INSTRUCT, 20, "llama3.2:1b-text-q4…"),
        (LLAMA_INSTRUCT, LLAMA_BASE, 18, "llama3.2…instruct…"),
        (LLAMA_INSTRUCT, LLAMA_BASE, 15, "…1b-instruct…"),
        (LLAMA_INSTRUCT, LLAMA_BASE, 10, "…instruct…"),
        (LLAMA_INSTRUCT, LLAMA_BASE, 6, "…inst…"),
        # A base tag that is the instruct tag minus a word keeps the word where they part.
        ("Qwen/Qwen2.5-0.5B", "Qwen/Qwen2.5-0.5B-Instruct", 10, "Qwen…0.5B"),
        ("qwen2.5-0.5b-instruct", "qwen2.5-0.5b", 16, "qwen2.5…instruct"),
        ("llama2:chat", "llama2:text", 1, "…"),
        ("llama2:chat", "llama2:text", 0, ""),
    ],
)
def test_a_tag_keeps_what_tells_it_from_its_twin(tag: str, twin: str, room: int, short: str):
    assert short_tag(tag, twin, room) == short


tags = st.text(st.sampled_from("ab:-_/.語"), min_size=1, max_size=30)


@given(tags, tags, st.integers(min_value=0, max_value=40))
def test_a_short_tag_fits_and_is_the_tag_when_it_can_be(tag: str, twin: str, room: int):
    short = short_tag(tag, twin, room)
    assert cell_len(short) <= room
    assert (short == tag) == (cell_len(tag) <= room)
    if room:
        assert short  # never cut to nothing


def lines_of(text: str, width: int, rows: int) -> tuple[list[str], bool]:
    console = Console(width=width)
    lines, cut = tail_lines(console, text, Text, console.options, rows)
    return ["".join(segment.text for segment in line).rstrip() for line in lines], cut


def test_the_tail_is_the_last_lines_rich_would_draw():
    text = "".join(f"{n:02}今日は晴れ、明日は雨。" for n in range(30)) + "\nend"
    whole = Console(width=21, record=True)
    whole.print(Text(text, overflow="fold"))
    drawn = whole.export_text().rstrip("\n").split("\n")

    for rows in (1, 5, len(drawn) - 1):
        lines, cut = lines_of(text, 21, rows)
        assert lines == [line.rstrip() for line in drawn[-rows:]] and cut
    assert lines_of(text, 21, len(drawn)) == ([line.rstrip() for line in drawn], False)
    assert all(cell_len(line) <= 21 for line in lines_of(text, 21, 99)[0])


def test_a_cut_tail_says_so_and_keeps_its_footer():
    console = Console(width=30, record=True)
    text = "\n".join(f"line {n}" for n in range(50))
    console.print(Tail(text, Text, Text("\nwriting…"), 6))
    assert console.export_text().splitlines() == [
        "… (earlier text above)",
        "line 47",
        "line 48",
        "line 49",
        "",
        "writing…",
    ]


@given(
    st.text(st.sampled_from("ab 語\n\t、"), max_size=200),
    st.integers(min_value=2, max_value=30),
    st.integers(min_value=0, max_value=40),
)
def test_the_tail_matches_rich_wrapping_the_whole_text(text: str, width: int, rows: int):
    console = Console(width=width)
    whole = console.render_lines(Text(text, overflow="fold"), console.options, pad=False)
    expected = ["".join(segment.text for segment in line).rstrip() for line in whole]
    lines, cut = lines_of(text, width, rows)
    assert lines == expected[len(expected) - min(rows, len(expected)) :]
    assert cut == (rows < len(expected))
