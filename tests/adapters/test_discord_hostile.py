"""Hostile text, from users and models: nothing pings, nothing flagged escapes its spoiler,
splitting keeps every character within every limit, bidi controls stay in their line, and
prompts that show as nothing (or are far too long) get a clear private answer."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Callable
from dataclasses import replace
from typing import Any

import pytest
from hypothesis import HealthCheck, Phase, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

# isort: off
from tests.adapters.discord_harness import (  # first: it silences discord.py's audioop warning
    NO_PINGS,
    Bot,
    discord_bot,
    outgoing_messages,
)

# isort: on
from adapters.discord_bot.display import REPLACEMENT, ZWSP, contain_bidi, spoiler
from adapters.discord_bot.texts import output_messages, split_for_discord
from bot.config import Settings
from bot.domain import CompareSnapshot, Role, SafetyMode, SafetyNote, SafetyStatus, SideStatus
from bot.engine.requests import INVISIBLE
from tests.adapters.test_discord_texts import REQUEST, side
from tests.fakes.discord_fake import FLAG_EPHEMERAL
from tests.fakes.ollama_fake import OllamaFake, Script

BIDI = "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
OPENERS = set("\u202a\u202b\u202d\u202e\u2066\u2067\u2068")
MARK = "NERVE-AGENT-RECIPE"
GUARD = "llama-guard3:1b"
SPOILERS = re.compile(r"\|\|.*?\|\|", re.DOTALL)
SPOILER_ONLY = re.compile(r"\|\|(?:(?!\|\|).)+\|\|", re.DOTALL)

hostile_piece = st.sampled_from(
    [
        "|", "||", "\\", "`", "```", "```py\n", "\n", " ", "@everyone", "<@123>", "<@&45>",
        *BIDI, "\u200b", "\u200d", "\ufeff", "x" * 120, "こんにちは", "||spoiler||",
    ]
)  # fmt: skip
hostile_text = st.lists(hostile_piece | st.text(max_size=12), max_size=300).map("".join)


def open_at_line_end(text: str) -> bool:
    """Whether any bidi opener is still open at the end of a line (a UAX #9 stack)."""
    for line in text.split("\n"):
        stack: list[bool] = []
        for char in line:
            if char in "\u202a\u202b\u202d\u202e":
                stack.append(False)
            elif char in "\u2066\u2067\u2068":
                stack.append(True)
            elif char == "\u202c" and stack and not stack[-1]:
                stack.pop()
            elif char == "\u2069" and True in stack:
                while not stack.pop():
                    pass
        if stack:
            return True
    return False


@given(text=hostile_text)
def test_bidi_openers_left_open_are_replaced_one_for_one(text: str) -> None:
    shown = contain_bidi(text)
    assert len(shown) == len(text)
    assert not open_at_line_end(shown)
    for before, after in zip(text, shown, strict=True):
        assert after == before or (before in OPENERS and after == REPLACEMENT)


@given(text=hostile_text.filter(bool))
def test_a_spoiler_cannot_be_closed_early(text: str) -> None:
    shown = spoiler(text)
    assert SPOILER_ONLY.fullmatch(shown), shown
    inner = shown[2:-2]
    assert not inner.endswith(("|", "\\")) and not inner.startswith("|")
    assert inner.replace(ZWSP, "") == text.replace(ZWSP, "")
    assert len(shown) <= 2 * len(text) + 5


@given(text=hostile_text, limit=st.integers(min_value=80, max_value=4096))
def test_a_concealed_split_loses_nothing_and_spoilers_every_part(text: str, limit: int) -> None:
    parts = split_for_discord(text, limit, concealed=True)
    assert "".join(p.raw for p in parts) == text
    assert all(len(p.shown) <= limit for p in parts)
    assert all(SPOILER_ONLY.fullmatch(p.shown) for p in parts if p.raw)


notes = st.builds(
    SafetyNote,
    st.sampled_from([SafetyMode.LABEL, SafetyMode.SPOILER, SafetyMode.WITHHOLD]),
    st.sampled_from(SafetyStatus),
    st.sampled_from(["", "indiscriminate weapons", "hate, " * 40]),
    st.text(max_size=400),
)


@given(base=hostile_text, instruct=hostile_text, base_note=notes, instruct_note=notes)
def test_gated_messages_fit_and_concealed_text_is_only_inside_spoilers(
    base: str, instruct: str, base_note: SafetyNote, instruct_note: SafetyNote
) -> None:
    sides = []
    for role, text, note in (
        (Role.BASE, base, base_note),
        (Role.INSTRUCT, instruct, instruct_note),
    ):
        withheld = note.concealed and note.mode is SafetyMode.WITHHOLD
        sides.append(replace(side(role, "" if withheld else text, SideStatus.DONE), safety=note))
    messages = output_messages(CompareSnapshot(1, REQUEST, *sides))
    for message in messages:
        sizes = [len(e.title) + len(e.description) + len(e.footer or "") for e in message.embeds]
        assert sum(sizes) <= 6000 and all(len(e.description) <= 4096 for e in message.embeds)
        roles = [message.role] if message.role else [Role.BASE, Role.INSTRUCT]
        for role, embed in zip(roles, message.embeds, strict=True):
            note = base_note if role is Role.BASE else instruct_note
            if note.concealed and note.mode is SafetyMode.SPOILER:
                # Outside the spoilers only twinbot's own line: never a character of the text.
                banner, _, rest = embed.description.partition("\n")
                assert banner.startswith("🙈 **Hidden**")
                assert rest == "*(no text)*" or SPOILER_ONLY.fullmatch(rest), rest


@pytest.fixture
async def guarded_bot(
    make_settings: Callable[..., Settings], ollama: OllamaFake
) -> AsyncIterator[Bot]:
    """One bot in a spoiler channel for every example; the guard flags MARK."""

    def verdict(body: dict[str, Any]) -> list[str]:
        return ["unsafe", "\nS9"] if MARK in body["messages"][-1]["content"] else ["safe"]

    ollama.models.add(GUARD)
    ollama.script(GUARD, Script(reply=verdict))
    settings = make_settings(
        ollama_host=ollama.url,
        discord_edit_interval=0.2,
        safety_default="spoiler",
        guard_chunk_chars=40,
        user_burst=100,
        user_comparisons_per_minute=600,
        channel_burst=100,
        channel_comparisons_per_minute=600,
    )
    async with discord_bot(settings) as running:
        yield running


# Not U+0085, U+2028 or the like: httpx splits Ollama's NDJSON lines there.
wire_piece = hostile_piece.filter(lambda p: p not in ("\u2028", "\u2029")) | st.just(MARK)


@hypothesis_settings(
    max_examples=6,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
    phases=[Phase.explicit, Phase.reuse, Phase.generate],  # no shrinking: each example is slow
)
@given(tokens=st.lists(wire_piece, min_size=1, max_size=40))
async def test_over_the_wire_nothing_pings_and_nothing_flagged_leaves_its_spoiler(
    guarded_bot: Bot, ollama: OllamaFake, tokens: list[str]
) -> None:
    fake, seen = guarded_bot.fake, len(guarded_bot.fake.requests)
    ollama.default_script = Script(tokens=tokens, delay=0.005)
    await guarded_bot.compare(f"say {MARK} <@1> ||x|| \u202e")
    await guarded_bot.settled()
    fake.requests[:seen] = []  # only this example's requests
    payloads = outgoing_messages(fake)
    assert len(payloads) >= 2
    for where, data in payloads:
        assert data.get("allowed_mentions") == NO_PINGS, where
        shown = [str(data.get("content") or "")] + [
            str(e.get(k) or "") for e in data.get("embeds") or [] for k in ("title", "description")
        ]
        assert all(MARK not in SPOILERS.sub("", text) for text in shown), (where, shown)


async def test_bidi_in_a_prompt_cannot_turn_the_rest_of_the_parent(
    make_settings: Callable[..., Settings], ollama: OllamaFake
) -> None:
    prompt = "abc \u202eevil\n\u2067fine\u2069 and \u2066open"
    settings = make_settings(ollama_host=ollama.url, discord_edit_interval=0.2)
    async with discord_bot(settings) as bot:
        rec = await bot.compare(prompt)
        await bot.settled()
        shown = "abc \ufffdevil\n\u2067fine\u2069 and \ufffdopen"
        assert bot.parent(rec).embeds[0]["description"] == shown
        assert bot.thread(rec).name == "#1 · " + shown.replace("\n", " ")
        comparison = await bot.runtime.store.comparison(1)
        assert comparison is not None and comparison["prompt"] == prompt  # display only
        [request] = ollama.requests_to("/api/chat")
        assert request["messages"][-1]["content"] == prompt


@pytest.mark.parametrize(
    ("prompt", "answer"),
    [
        ("\u200b\u200d\ufeff\u2060", INVISIBLE),
        ("\u3164\u2800", INVISIBLE),
        ("x" * 102_400, "The prompt is 102,400 characters long; the limit is 4,000."),
    ],
)
async def test_prompts_that_cannot_be_shown_get_a_clear_private_answer(
    make_settings: Callable[..., Settings], ollama: OllamaFake, prompt: str, answer: str
) -> None:
    async with discord_bot(make_settings(ollama_host=ollama.url)) as bot:
        rec = await bot.compare(prompt)
        data = rec.attempts[0].data
        assert data is not None and data["flags"] & FLAG_EPHEMERAL and data["content"] == answer
        assert bot.fake.threads() == [] and ollama.requests == []


async def test_zero_width_and_fence_breakers_are_shown_as_typed(
    make_settings: Callable[..., Settings], ollama: OllamaFake
) -> None:
    prompts = ["zero\u200bwidth\u200d joiners\ufeff", "```\nfence breaker ``` ~~~ ||"]
    settings = make_settings(ollama_host=ollama.url, user_burst=5, discord_edit_interval=0.2)
    async with discord_bot(settings) as bot:
        for prompt in prompts:
            rec = await bot.compare(prompt)
            await bot.settled()
            parent = bot.parent(rec)
            assert parent.embeds[0]["description"] == prompt
            assert parent.content.startswith(f"<@{bot.fake.user_id}> asked both twins")
