"""What the Discord messages say, and how long output is split: properties over any text."""

from __future__ import annotations

import itertools
from dataclasses import replace

from hypothesis import given
from hypothesis import strategies as st

from adapters.discord_bot.parent import parent_content
from adapters.discord_bot.texts import (
    EMBED_TEXT_MAX,
    output_messages,
    reveal_text,
    split_for_discord,
    thread_name,
)
from bot.chat.surface import Reveal
from bot.domain import (
    CompareRequest,
    CompareSnapshot,
    Framing,
    GenerationOptions,
    ModelPair,
    Requester,
    Role,
    SideSnapshot,
    SideStats,
    SideStatus,
)
from bot.votes.mapping import other

PAIR = ModelPair("llama3.2-1b", "llama3.2:1b-text-q4_K_M", "llama3.2:1b-instruct-q4_K_M")
REQUEST = CompareRequest(
    prompt="こんにちは",
    pair=PAIR,
    framing=Framing("raw", "{prompt}", ("\n\n\n\n",)),
    options=GenerationOptions(max_tokens=256, temperature=0.7),
    requester=Requester("discord", "42"),
)

# Text a model might write: prose, newlines, long words, code fences, CJK, emoji, mentions.
pieces = st.sampled_from(
    ["```", "```python\n", "\n", " ", "word ", "x" * 150, "こんにちは", "👍", "@everyone ", "`"]
)
model_text = st.lists(pieces | st.text(max_size=30), max_size=400).map("".join)


def side(role: Role, text: str, status: SideStatus, error: str | None = None) -> SideSnapshot:
    stats = SideStats(done_reason="stop", eval_count=12, eval_duration_ns=10**9)
    return SideSnapshot(role, PAIR.tag(role), text, status, stats, "busy" if error else None, error)


def embed_size(embed: dict[str, str | None]) -> int:
    return sum(len(embed[k] or "") for k in ("title", "description", "footer"))


@given(text=model_text, limit=st.integers(min_value=60, max_value=4096))
def test_split_loses_repeats_and_reorders_nothing_and_fits(text: str, limit: int) -> None:
    parts = split_for_discord(text, limit)
    assert "".join(p.raw for p in parts) == text
    assert all(len(p.shown) <= limit for p in parts)
    assert all(p.raw for p in parts) or parts == [split_for_discord("", limit)[0]]
    for before, after in itertools.pairwise(parts):
        # A block left open by one piece is closed there and reopened in the next.
        assert bool(before.suffix) == bool(after.prefix)
        assert after.prefix == "" or (
            after.prefix.startswith("```") and after.prefix.endswith("\n")
        )
    assert all(p.suffix in ("", "\n```") for p in parts)


def test_a_code_block_cut_by_a_split_is_closed_and_reopened_with_its_language() -> None:
    text = "intro\n```python\n" + "print(1)\n" * 40 + "```\nafter"
    first, second, *rest = split_for_discord(text, 200)
    assert first.raw.startswith("intro\n```python\n") and first.suffix == "\n```"
    assert second.prefix == "```python\n"
    assert "".join(p.raw for p in [first, second, *rest]) == text
    assert rest[-1].suffix == ""  # the model closed it itself


def test_splits_prefer_a_line_then_a_word() -> None:
    first, *_ = split_for_discord("a" * 50 + "\n" + "b" * 100, 100)
    assert first.raw == "a" * 50 + "\n"
    first, *_ = split_for_discord("aaa " * 40, 100)
    assert first.raw.endswith(" ") and len(first.raw) <= 100


@given(
    base=model_text,
    instruct=model_text,
    statuses=st.tuples(st.sampled_from(SideStatus), st.sampled_from(SideStatus)),
    blind=st.booleans(),
    first=st.sampled_from(Role),
    error=st.text(max_size=3000),
)
def test_every_message_fits_discords_limits(
    base: str,
    instruct: str,
    statuses: tuple[SideStatus, SideStatus],
    blind: bool,
    first: Role,
    error: str,
) -> None:
    request = replace(REQUEST, blind=blind, shown_first=first if blind else Role.BASE)
    snapshot = CompareSnapshot(
        1,
        request,
        side(Role.BASE, base, statuses[0], error),
        side(Role.INSTRUCT, instruct, statuses[1], error),
    )
    messages = output_messages(snapshot, notice="n" * 300)
    for message in messages:
        assert len(message.content or "") <= 2000 and len(message.embeds) <= 10
        embeds = [
            {"title": e.title, "description": e.description, "footer": e.footer}
            for e in message.embeds
        ]
        assert all(len(e.description) <= 4096 and len(e.title) <= 256 for e in message.embeds)
        assert all(len(e.footer or "") <= 2048 for e in message.embeds)
        assert sum(embed_size(e) for e in embeds) <= 6000
    # Each side's text, message by message, is exactly its split.
    order = (first, other(first)) if blind else (Role.BASE, Role.INSTRUCT)
    for position, role in enumerate(order):
        text = base if role is Role.BASE else instruct
        if not text:
            continue
        shown = [messages[0].embeds[position].description] + [
            m.embeds[0].description for m in messages[1:] if m.role is role
        ]
        assert shown == [p.shown for p in split_for_discord(text)]


@given(text=model_text, first=st.sampled_from(Role))
def test_blind_messages_name_no_model(text: str, first: Role) -> None:
    request = replace(REQUEST, blind=True, shown_first=first)
    error = f"The model `{PAIR.instruct}` is not pulled: run `ollama pull {PAIR.instruct}`."
    snapshot = CompareSnapshot(
        3,
        request,
        side(Role.BASE, text, SideStatus.DONE),
        side(Role.INSTRUCT, "", SideStatus.FAILED, error),
    )
    messages = output_messages(snapshot)
    shown = parent_content(request, 42) + "".join(
        f"{m.content}{e.title}{e.footer}" for m in messages for e in m.embeds
    )
    for tag in (PAIR.base, PAIR.instruct, "Base", "Instruct"):
        assert tag not in shown
    titles = [e.title for e in messages[0].embeds]
    assert titles == ["🅰️ Model A", "🅱️ Model B"]
    letter = "A" if first is Role.INSTRUCT else "B"
    assert f"⚠️ **Model {letter}** failed: The model `(hidden)` is not pulled" in (
        messages[0].content or ""
    )


def test_not_blind_shows_roles_and_tags_base_first() -> None:
    snapshot = CompareSnapshot(
        1,
        REQUEST,
        side(Role.BASE, "", SideStatus.WAITING),
        side(Role.INSTRUCT, "", SideStatus.WAITING),
    )
    [message] = output_messages(snapshot)
    assert [e.title for e in message.embeds] == [
        f"🅰️ Base · {PAIR.base}",
        f"🅱️ Instruct · {PAIR.instruct}",
    ]
    assert [e.description for e in message.embeds] == ["*waiting for the first token…*"] * 2
    assert message.content is None and (message.role, message.part) == (None, 0)


def test_thread_name_parent_and_reveal() -> None:
    assert thread_name(12, "  two\nlines  ") == "#12 · two lines"
    assert len(thread_name(1, "x" * 500)) == 100
    assert parent_content(replace(REQUEST, options=GenerationOptions(99, 0.5, 7)), 42) == (
        "<@42> asked both twins · pair `llama3.2-1b` · framing `raw` · max tokens 99 · "
        "temperature 0.5 · seed 7\n"
        "Vote with a reaction on the outputs: 🅰️ or 🅱️ is better, 🤝 a tie, 👎 both bad."
    )
    assert reveal_text(Reveal(None, None, Role.INSTRUCT, "b:1", "i:1", "after the first vote")) == (
        "🔓 Names revealed (after the first vote): 🅰️ Model A was **Instruct** `i:1`; "
        "🅱️ Model B was **Base** `b:1`."
    )
    assert EMBED_TEXT_MAX * 2 + 2 * (100 + 200) <= 6000


def test_notices_come_first_then_each_failed_side() -> None:
    snapshot = CompareSnapshot(
        1,
        REQUEST,
        side(Role.BASE, "", SideStatus.FAILED, "Ollama is busy (503). Try again in a minute."),
        side(Role.INSTRUCT, "ok", SideStatus.CANCELLED),
        notice="This comparison was not fully saved: disk full",
    )
    [message] = output_messages(snapshot, notice="The outputs follow here.")
    assert (message.content or "").splitlines() == [
        "⚠️ The outputs follow here.",
        "⚠️ This comparison was not fully saved: disk full",
        f"⚠️ **Base `{PAIR.base}`** failed: Ollama is busy (503). Try again in a minute.",
        f"⏹️ **Instruct `{PAIR.instruct}`** was stopped before the model finished.",
    ]
    footers = [e.footer for e in message.embeds]
    assert footers == ["failed (the reason is above)", "stopped before the model finished"]
