"""Links stay text on Discord: a masked link `[text](https://…)` from a model or a prompt
shows as written, URL visible, and a bare URL in message content gets no preview."""

from __future__ import annotations

import re
from collections.abc import Callable

from hypothesis import given
from hypothesis import strategies as st

# isort: off
from tests.adapters.discord_harness import discord_bot  # first: silences the audioop warning

# isort: on
from adapters.discord_bot.display import ZWSP, disarm_links, quiet_urls
from adapters.discord_bot.texts import output_messages, split_for_discord
from bot.config import Settings
from bot.domain import CompareSnapshot, Role, SideStatus
from tests.adapters.test_discord_texts import REQUEST, side
from tests.fakes.ollama_fake import OllamaFake, Script

MASKED = "[click here](https://evil.example/a?b=c)"
link_piece = st.sampled_from(
    [MASKED, "[", "]", "(", ")", "](", "[x](<https://e.example>)", "https://e.example/p",
     "<https://q.example>", "<", ">", " ", "\n", "|", "||", "\\", "x" * 90]
)  # fmt: skip
link_text = st.lists(link_piece | st.text(max_size=6), max_size=200).map("".join)
code_piece = st.sampled_from(["`", "``", "```", "```py\n", "\\`"])
coded_text = st.lists(link_piece | code_piece | st.text(max_size=6), max_size=120).map("".join)
URL = re.compile(r"https?://")


@given(text=link_text.filter(lambda t: "`" not in t and ZWSP not in t))
def test_no_masked_link_survives_and_nothing_but_a_zwsp_is_added(text: str) -> None:
    shown = disarm_links(text)
    assert "](" not in shown
    assert shown.replace("]" + ZWSP + "(", "](") == text


@given(text=coded_text.filter(lambda t: ZWSP not in t))
def test_with_code_about_only_zwsps_are_added_and_only_after_a_bracket(text: str) -> None:
    shown = disarm_links(text)
    assert shown.replace(ZWSP, "") == text
    assert all(shown[i - 1 : i + 2] == "]" + ZWSP + "(" for i, c in enumerate(shown) if c == ZWSP)


def test_code_keeps_its_brackets_and_text_around_it_does_not() -> None:
    text = "call `handlers[key](event)` or\n```py\nf[0](x)\n```\nsee [a](https://e.example)"
    assert disarm_links(text) == text.replace("[a](", "[a]" + ZWSP + "(")
    # An escaped backtick opens no code: the link after it is disarmed.
    assert disarm_links(r"\`[a](u)`") == r"\`[a]" + ZWSP + "(u)`"


@given(text=link_text.filter(lambda t: "`" not in t))
def test_content_urls_are_wrapped_so_discord_shows_no_preview(text: str) -> None:
    shown = quiet_urls(text)
    assert "](" not in shown
    wrapped = [m.span() for m in re.finditer(r"<[^<>\s]+>", shown)]
    for match in URL.finditer(shown):
        assert any(start < match.start() < end for start, end in wrapped), shown


@given(text=link_text | coded_text, limit=st.integers(min_value=60, max_value=4096))
def test_splits_still_fit_with_every_link_disarmed(text: str, limit: int) -> None:
    for concealed in (False, True):
        parts = split_for_discord(text, limit, concealed=concealed)
        assert "".join(p.raw for p in parts) == text
        assert all(len(p.shown) <= limit for p in parts)
        if "`" not in text:
            assert all("](" not in p.shown for p in parts)


def test_a_failure_naming_a_url_shows_it_without_a_preview() -> None:
    error = "the server said: see https://evil.example/help and [docs](https://evil.example)"
    snapshot = CompareSnapshot(
        1,
        REQUEST,
        side(Role.BASE, "", SideStatus.FAILED, error),
        side(Role.INSTRUCT, "ok", SideStatus.DONE),
    )
    [first] = output_messages(snapshot)
    assert first.content is not None
    assert "<https://evil.example/help>" in first.content and "](" not in first.content
    assert "[docs]" + ZWSP + "(<https://evil.example>)" in first.content


async def test_over_the_wire_masked_links_in_output_and_prompt_stay_text(
    make_settings: Callable[..., Settings], ollama: OllamaFake
) -> None:
    tokens = ["Read ", MASKED, " now.\n", "```py\nf[0](x)\n```\n", "[a](https://e.example)"]
    ollama.default_script = Script(tokens=tokens, delay=0.01)
    prompt = f"summarise {MASKED}"
    async with discord_bot(make_settings(ollama_host=ollama.url, discord_edit_interval=0.2)) as bot:
        rec = await bot.compare(prompt)
        await bot.settled()
        assert bot.parent(rec).embeds[0]["description"] == prompt.replace("](", "]" + ZWSP + "(")
        [both] = bot.outputs(rec)
        for embed in both.embeds:
            shown = embed["description"]
            assert shown.replace(ZWSP, "") == "".join(tokens)  # every character still there
            assert "https://evil.example/a?b=c" in shown and "f[0](x)" in shown  # code as typed
            assert shown.count("](") == 1  # only the one inside the code block
        stored = await bot.runtime.store.outputs(1)
        assert stored[Role.BASE]["text"] == "".join(tokens)  # display only
