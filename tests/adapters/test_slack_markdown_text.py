"""Streamed model text stays text: no markdown, mention, link or broadcast survives."""

from __future__ import annotations

import re

from hypothesis import given
from hypothesis import strategies as st

from adapters.slack_app.markdown_text import ZWSP, escape_markdown
from tests.fakes.slack_fake import live_markdown

HOSTILE = [
    "<!channel>", "<@U123>", "<https://evil.example|x>", "[click](https://evil.example)",
    "![img](https://e.example/i.png)", "https://e.example/p", "www.e.example", "@here",
    "@everyone", "**bold**", "# head", "`code`", "```", "\\", "\\*", ":", "/", "@", "w", ".",
]  # fmt: skip
pieces = st.lists(st.sampled_from(HOSTILE) | st.text(max_size=4), max_size=60)


def shown(escaped: str) -> str:
    """What a reader sees: escapes resolved, zero-width spaces invisible."""
    return re.sub(r"\\(.)", r"\1", escaped, flags=re.DOTALL).replace(ZWSP, "")


@given(parts=pieces)
def test_nothing_live_survives_and_every_character_shows(parts: list[str]) -> None:
    text = "".join(parts).replace(ZWSP, "")
    escaped = escape_markdown(text)
    assert live_markdown(escaped) == []
    assert shown(escaped) == text


@given(parts=pieces)
def test_appending_the_escaped_tail_equals_escaping_the_whole(parts: list[str]) -> None:
    """However the model's tokens fall, the stream's appends add up to the escaped text."""
    text, appended = "", ""
    for part in parts:
        before = len(text)
        text += part
        appended += escape_markdown(text, before)
    assert appended == escape_markdown(text)


def test_the_fake_sees_live_forms_in_raw_text() -> None:
    """So the tests above can fail: unescaped, each hostile form is live."""
    for form in HOSTILE[:9]:
        assert live_markdown(form), form
    # Escaping alone does not stop Slack linking the text it shows.
    assert live_markdown(r"https\:\/\/e\.example") and live_markdown(r"\@here")
