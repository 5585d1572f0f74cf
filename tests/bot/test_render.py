"""Labels, footers and splitting: the text every front end shows."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from bot.domain import Role, SideSnapshot, SideStats, SideStatus
from bot.text.render import (
    FENCE_RESERVE,
    open_fence_after,
    side_title,
    split_markdown,
    split_text,
    stats_line,
)


def side(status: SideStatus, **fields) -> SideSnapshot:
    values = {"text": "", "stats": SideStats(), "error_kind": None, "error": None, **fields}
    return SideSnapshot(Role.BASE, "llama3.2:1b-text-q4_K_M", status=status, **values)


def test_title_names_role_and_model():
    assert side_title(side(SideStatus.WAITING)) == "Base · llama3.2:1b-text-q4_K_M"


def test_stats_line_uses_ollamas_figures():
    stats = SideStats(
        done_reason="length", eval_count=100, eval_duration_ns=2_000_000_000, first_token_s=0.456
    )
    assert stats_line(side(SideStatus.DONE, text="Once", stats=stats)) == (
        "100 tokens · 50.0 tok/s · first token 0.46 s · hit the token limit"
    )


def test_one_token_is_singular():
    stats = SideStats(done_reason="stop", eval_count=1)
    assert stats_line(side(SideStatus.DONE, text="a", stats=stats)) == "1 token · stopped"


def test_a_side_that_finished_without_text_says_so():
    # Ollama's end-of-text as the first token: one token counted, no eval_duration, no text.
    stats = SideStats(done_reason="stop", eval_count=1, first_token_s=0.1)
    assert stats_line(side(SideStatus.DONE, stats=stats)) == (
        "no text · 1 token · first token 0.10 s · stopped"
    )
    assert stats_line(side(SideStatus.WAITING)) != stats_line(side(SideStatus.DONE, stats=stats))


def test_an_answer_that_only_loaded_the_model_says_so():
    stats = SideStats(done_reason="load")
    assert stats_line(side(SideStatus.DONE, stats=stats)) == "no text · only loaded the model"


def test_stats_line_for_failure_and_progress():
    assert stats_line(side(SideStatus.FAILED, error="boom")) == "failed: boom"
    assert stats_line(side(SideStatus.STREAMING, text="a")) == "writing…"
    assert stats_line(side(SideStatus.WAITING)) == "waiting for the first token…"
    assert stats_line(side(SideStatus.CANCELLED)) == "stopped before the model finished"


def test_split_prefers_newlines_then_spaces():
    text = "first line\nsecond line is longer\nthird"
    assert split_text(text, 25) == ["first line\n", "second line is longer\n", "third"]
    assert split_text("aaaa bbbb cccc", 10) == ["aaaa bbbb ", "cccc"]
    assert split_text("x" * 25, 10) == ["x" * 10, "x" * 10, "x" * 5]


@given(st.text(), st.integers(min_value=1, max_value=60))
def test_split_loses_and_duplicates_nothing(text: str, limit: int):
    pieces = split_text(text, limit)
    assert "".join(pieces) == text
    assert all(len(piece) <= limit for piece in pieces)
    assert all(pieces[:-1]), "no empty piece before the last"


def test_a_code_block_cut_by_a_split_is_closed_and_reopened():
    text = "intro\n```python\n" + "x = 1\n" * 40 + "```\nafter"
    pieces = split_markdown(text, 100)
    assert len(pieces) > 2
    assert pieces[0].endswith("\n```")
    assert pieces[1].startswith("```python\n")
    assert all(len(piece) <= 100 for piece in pieces)
    assert all(open_fence_after(piece) is None for piece in pieces), "every piece renders balanced"


markdownish = st.lists(
    st.sampled_from(
        ["a", "bc ", " ", "\n", "`", "```", "```py\n", "~~~", "`````", "```python3-long\n"]
    )
).map("".join)


@given(markdownish, st.integers(40, 120))
def test_split_markdown_stays_within_the_limit_and_keeps_all_text(text: str, limit: int):
    pieces = split_markdown(text, limit)
    room = limit - FENCE_RESERVE
    raw = split_text(text, room) if len(text) > room else [text]
    assert len(pieces) == len(raw)
    for piece, original in zip(pieces, raw, strict=True):
        assert len(piece) <= limit
        # Each piece is its slice of the text, with at most a fence line added at either end.
        assert original in piece
        assert piece.startswith(original) or piece.split("\n", 1)[1].startswith(original)
