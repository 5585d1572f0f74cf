"""Message texts: every reply under Slack's 4,000, the whole output recoverable from the parts."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from adapters.slack_app.texts import (
    MESSAGE_LIMIT,
    PROMPT_LIMIT,
    invite_message,
    letter,
    parent_text,
    shown_order,
    side_messages,
    side_replies,
)
from adapters.slack_app.vote_texts import reveal_text
from bot.chat.surface import Reveal
from bot.domain import (
    CompareSnapshot,
    Role,
    SafetyMode,
    SafetyNote,
    SafetyStatus,
    SideSnapshot,
    SideStats,
    SideStatus,
)
from tests.adapters.slack_harness import parse_part, side_output
from tests.fakes.slack_fake import Message

MODEL = "llama3.2:1b-text-q4_K_M"


def side(text: str, status: SideStatus = SideStatus.DONE, **kw: Any) -> SideSnapshot:
    stats = SideStats(done_reason="stop", eval_count=12, eval_duration_ns=10**9, first_token_s=0.5)
    return SideSnapshot(Role.BASE, MODEL, text, status, stats, kw.get("kind"), kw.get("error"))


def as_messages(texts: list[str]) -> list[Message]:
    return [Message("C", str(i), t, None, "1.0", "U", []) for i, t in enumerate(texts)]


def recovered(texts: list[str]) -> str:
    text, _, _ = side_output(as_messages(texts), "Base")
    return text


def test_short_output_is_one_reply_with_title_body_and_stats():
    [message] = side_messages(side("Hello <@U1> & bye"))
    assert message == (
        f"*Base* · `{MODEL}` _pre-trained only: it continues text_\n"
        "Hello &lt;@U1&gt; &amp; bye\n\n"
        ":white_check_mark: 12 tokens · 12.0 tok/s · first token 0.50 s · stopped"
    )


def test_waiting_side_shows_only_its_status():
    [message] = side_messages(side("", SideStatus.WAITING))
    part = parse_part(message)
    assert (part.body, part.footer) == ("", ":hourglass_flowing_sand: waiting for the first token…")


def test_a_side_that_finished_without_text_says_so_unlike_a_waiting_one():
    [message] = side_messages(side(""))
    part = parse_part(message)
    assert part.body == ""
    assert part.footer == (
        ":white_check_mark: no text · 12 tokens · 12.0 tok/s · first token 0.50 s · stopped"
    )


def test_failed_side_says_why_on_one_line_escaped():
    error = "Ollama rejected the request (400): bad <thing>\nsecond line"
    [message] = side_messages(side("partial", SideStatus.FAILED, kind="rejected", error=error))
    assert message.endswith(
        ":warning: failed: Ollama rejected the request (400): bad &lt;thing&gt; second line"
    )


def test_long_output_continues_in_numbered_parts():
    text = ("word " * 50 + "\n") * 30  # 7,530 characters
    messages = side_messages(side(text))
    assert len(messages) == 3
    assert [parse_part(m).number for m in messages] == [1, 2, 3]
    assert messages[1].startswith(f"*Base* · `{MODEL}` · part 2\n")
    assert [parse_part(m).footer is not None for m in messages] == [False, False, True]
    assert recovered(messages) == text


# Long texts made of short runs repeated: enough to need several parts, fast to generate.
TOKENS = st.sampled_from([*"ab <>&\n\t", "<!channel>", "<@U1|x>", "é", "漢字", "word "])
LONG_TEXT = st.tuples(st.lists(TOKENS, max_size=40), st.integers(1, 400)).map(
    lambda run: "".join(run[0]) * run[1]
)


@settings(max_examples=60, deadline=None)
@given(LONG_TEXT, st.sampled_from(list(SideStatus)))
def test_every_reply_fits_and_the_parts_give_back_the_output(text: str, status: SideStatus):
    messages = side_messages(side(text, status, error="boom"))
    assert all(len(m) <= MESSAGE_LIMIT for m in messages)
    assert all("<" not in m and ">" not in m for m in messages)
    assert recovered(messages) == text


@settings(deadline=None)
@given(LONG_TEXT)
def test_parts_are_stable_as_the_text_grows(text: str):
    # A part that has a successor never changes again, so it is edited at most once more.
    before = side_messages(side(text, SideStatus.STREAMING))
    after = side_messages(side(text + " more text " * 50, SideStatus.STREAMING))
    for old, new in zip(before[:-1], after, strict=False):
        assert old == new


def test_parent_names_the_options_and_quotes_the_prompt(
    make_request: Callable[..., Any],
):
    request = make_request("line <!here>\nline 2", framing="qa", seed=3)
    snapshot = CompareSnapshot(7, request, side(""), side(""))
    text = parent_text(snapshot, "ann")
    assert text.splitlines() == [
        "*twinbot #7*: a base model and its instruct twin, same prompt",
        "pair llama3.2-1b · framing qa · max tokens 256 · temperature 0.7 · seed 3 · asked by ann",
        ">line &lt;!here&gt;",
        ">line 2",
        "_base sees:_ Q: line &lt;!here&gt;\\nline 2\\nA:",  # escaped, on one line
        "Both answers stream into this thread.",
        "Vote with a reaction on this message: :a: base better · :b: instruct better · "
        ":handshake: tie · :-1: both bad.",
    ]


def test_parent_shortens_a_long_prompt(make_request: Callable[..., Any]):
    request = make_request("x" * 3900)
    text = parent_text(CompareSnapshot(1, request, side(""), side("")), "ann")
    assert len(text) < MESSAGE_LIMIT
    assert "x" * PROMPT_LIMIT not in text
    assert "(prompt shortened here; 3,900 characters in all)" in text


def test_invite_message_names_the_bot():
    assert "`/invite @twinbot`" in invite_message("twinbot", "C1")
    assert "channels" in invite_message("twinbot", "D1")


# ---- the safety gate's marks and blind labels ------------------------------------------------


def noted(text: str, mode: SafetyMode, status: SafetyStatus, done: bool = True, **kw: Any):
    note = SafetyNote(mode, status, kw.get("categories", ""), kw.get("detail", ""))
    return dataclasses.replace(
        side(text, SideStatus.DONE if done else SideStatus.STREAMING), safety=note
    )


def test_a_concealed_side_never_carries_its_text():
    secret = "the <secret> recipe " * 200  # long enough for several parts
    for mode in (SafetyMode.SPOILER, SafetyMode.WITHHOLD):
        for status in (SafetyStatus.UNSAFE, SafetyStatus.UNAVAILABLE):
            for done in (True, False):
                replies = side_replies(
                    noted(secret, mode, status, done, categories="hate", detail="down <x>"),
                    reveal_value="4:base",
                )
                assert len(replies) == 1
                [reply] = replies
                assert "secret" not in reply.text and "secret" not in str(reply.blocks)
                assert "<" not in reply.text.replace("&lt;", "")
                assert (reply.blocks is not None) == (mode is SafetyMode.SPOILER and done)


def test_the_spoiler_button_carries_the_comparison_and_side_only():
    [reply] = side_replies(
        noted("x", SafetyMode.SPOILER, SafetyStatus.UNSAFE, categories="hate"),
        reveal_value="4:base",
    )
    assert reply.blocks == [
        {"type": "section", "text": {"type": "mrkdwn", "text": reply.text}},
        {
            "type": "actions",
            "elements": [
                {
                    "type": "button",
                    "action_id": "twinbot_reveal",
                    "text": {"type": "plain_text", "text": "Show this output (only to you)"},
                    "value": "4:base",
                }
            ],
        },
    ]
    assert reply.text.split("\n")[1] == (
        ":see_no_evil: *Output hidden:* the guard model flagged this output (hate). "
        "The button shows it to you alone."
    )


def test_label_mode_warns_above_the_text_and_pending_hiding_modes_say_why_it_lags():
    [flagged] = side_messages(noted("hi", SafetyMode.LABEL, SafetyStatus.UNSAFE, categories="hate"))
    assert flagged.split("\n")[1:3] == [
        ":warning: *Content warning:* the guard model flagged this output (hate).",
        "hi",
    ]
    [clear] = side_messages(noted("hi", SafetyMode.LABEL, SafetyStatus.CLEAR))
    assert clear == side_messages(side("hi"))[0]
    [pending] = side_messages(noted("hi", SafetyMode.SPOILER, SafetyStatus.PENDING, done=False))
    assert pending.split("\n")[1] == "_checking this output before showing it…_"


def test_every_marked_reply_still_fits():
    long = "y " * 5000
    detail = "z" * 5000
    for mode in SafetyMode:
        for status in SafetyStatus:
            note_side = noted(long, mode, status, categories="c" * 500, detail=detail)
            for reply in side_replies(note_side, blind_letter="A", reveal_value="1:base"):
                assert len(reply.text) <= MESSAGE_LIMIT


def test_blind_titles_name_no_model(make_request: Callable[..., Any]):
    [reply] = side_replies(side("hi"), blind_letter="B")
    assert reply.text.startswith("*B* _names revealed after the first vote_\nhi")
    assert MODEL not in reply.text and "Base" not in reply.text
    request = dataclasses.replace(make_request("x"), blind=True, shown_first=Role.INSTRUCT)
    assert shown_order(request) == (Role.INSTRUCT, Role.BASE)
    assert (letter(request, Role.INSTRUCT), letter(request, Role.BASE)) == ("A", "B")
    assert letter(dataclasses.replace(request, blind=False), Role.BASE) is None
    assert shown_order(dataclasses.replace(request, blind=False)) == (Role.BASE, Role.INSTRUCT)


def test_the_reveal_names_both_sides_escaped():
    assert reveal_text(
        Reveal(None, None, Role.INSTRUCT, "b<1>", "i&2", "after the first vote")
    ) == (
        ":unlock: Names revealed (after the first vote): A was *Instruct* `i&amp;2`; "
        "B was *Base* `b&lt;1&gt;`."
    )
