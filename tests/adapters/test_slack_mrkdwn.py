"""Escaping disarms every mention and link a model can write; splitting loses nothing."""

from __future__ import annotations

import json
import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from adapters.slack_app.mrkdwn import clip, command_text, escape, split_escaped, unescape
from bot.text.render import split_text

FIXTURES = "/work/shared/fixtures/slack"

# Every special form Slack parses out of `text` (https://api.slack.com/reference/surfaces/formatting).
MENTIONS = [
    "<!channel>",
    "<!here>",
    "<!everyone>",
    "<!group>",
    "<!channel|channel>",
    "<!here|here>",
    "<!everyone|everyone>",
    "<@U024BE7LH>",
    "<@U024BE7LH|bob>",
    "<@W123ABC>",
    "<#C024BE7LR>",
    "<#C024BE7LR|general>",
    "<!subteam^SAZ94GDB8>",
    "<!subteam^SAZ94GDB8|@devs>",
    "<!date^1392734382^{date_num} {time_secs}|Feb 18, 2014 6:39 AM>",
    "<https://evil.example/phish|click here>",
    "<mailto:a@b.example|mail me>",
    "<slack://open?team=T1>",
]
LIVE = re.compile(r"<[^<>]*>")  # what Slack would turn into a mention or a link


def sdk_rendered_links() -> list[str]:
    with open(f"{FIXTURES}/mentions.sdk_tests.json", encoding="utf-8") as file:
        return list(json.load(file)["sdk_rendered_link_strings"].values())


@pytest.mark.parametrize("mention", MENTIONS + sdk_rendered_links())
def test_every_mention_form_is_inert(mention: str):
    sent = escape(f"hey {mention} look")
    assert "<" not in sent and ">" not in sent
    assert not LIVE.search(sent)
    assert unescape(sent) == f"hey {mention} look"


def test_escape_examples():
    assert escape("a & b < c > d") == "a &amp; b &lt; c &gt; d"
    assert escape("&lt;!here&gt;") == "&amp;lt;!here&amp;gt;"  # shows literally, not as "<!here>"


@given(st.text())
def test_no_live_sequence_survives_escaping(text: str):
    sent = escape(text)
    assert "<" not in sent and ">" not in sent
    assert unescape(sent) == text
    # Every & starts one of the three entities, so Slack cannot read any other entity in it.
    assert re.fullmatch(r"(?:[^&]|&amp;|&lt;|&gt;)*", sent, flags=re.DOTALL)


@given(st.lists(st.sampled_from([*MENTIONS, "&", "<", ">", " ", "\n", "x", "&amp;"])))
def test_mention_soup_is_inert(pieces: list[str]):
    text = "".join(pieces)
    assert not LIVE.search(escape(text))
    assert unescape(escape(text)) == text


@pytest.mark.parametrize(
    ("wire", "typed"),
    [
        ("hello &lt;there&gt; &amp; you", "hello <there> & you"),
        ("ask <@U123|ann> in <#C9|general>", "ask @ann in #general"),
        ("<@U123> hi", "@U123 hi"),
        ("<!here> and <!channel|channel> and <!everyone>", "@here and @channel and @everyone"),
        ("<!subteam^S1|@devs> and <!subteam^S2>", "@devs and @S2"),
        (
            "see <https://example.com|example.com> or <https://x.example>",
            "see example.com or https://x.example",
        ),
        ("<!date^1392734382^{date}|Feb 18, 2014>", "Feb 18, 2014"),
        ("&amp;lt;", "&lt;"),
        ('plain -- text "quoted"', 'plain -- text "quoted"'),
    ],
)
def test_command_text_reads_what_the_user_typed(wire: str, typed: str):
    assert command_text(wire) == typed


@given(st.text())
def test_command_text_of_escaped_text_is_the_text(text: str):
    assert command_text(escape(text)) == text


@given(st.text(), st.integers(min_value=5, max_value=300))
def test_split_escaped_loses_duplicates_and_reorders_nothing(text: str, limit: int):
    sent = escape(text)
    pieces = split_escaped(sent, limit)
    assert "".join(pieces) == sent
    assert all(len(piece) <= limit for piece in pieces)
    assert all(pieces[:-1]), "only the last piece may be empty"
    # No piece cuts an entity in half: each unescapes on its own, and together give the text.
    assert "".join(unescape(piece) for piece in pieces) == text
    for piece in pieces:
        assert re.fullmatch(r"(?:[^&]|&amp;|&lt;|&gt;)*", piece, flags=re.DOTALL)


@given(st.text(alphabet="ab \n", min_size=1), st.integers(min_value=5, max_value=50))
def test_split_escaped_cuts_where_split_text_does_without_entities(text: str, limit: int):
    # With no & < > in the text, the cut points are exactly the core renderer's.
    assert split_escaped(text, limit) == split_text(text, limit)


def test_split_prefers_line_then_word_boundaries():
    text = "first line\nsecond line goes on\n" + "word " * 10
    pieces = split_escaped(text, 35)
    assert pieces[0] == "first line\nsecond line goes on\n"  # 31 characters, at a newline
    assert all(p.endswith((" ", "\n")) for p in pieces[:-1])


def test_hard_cut_backs_off_an_entity():
    text = "x" * 8 + "&amp;" + "y" * 8  # no whitespace: a hard cut at 10 would split &amp;
    assert split_escaped(text, 10) == ["x" * 8, "&amp;" + "y" * 5, "yyy"]


def test_split_needs_room_for_an_entity():
    with pytest.raises(ValueError):
        split_escaped("abc", 4)


def test_clip_keeps_entities_whole():
    assert clip("abc", 5) == "abc"
    assert clip("ab&amp;cd", 5) == "ab…"
    assert len(clip(escape("<" * 100), 50)) <= 50
