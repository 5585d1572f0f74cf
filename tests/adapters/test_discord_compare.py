"""/compare on Discord, end to end: a real discord.py client against the fake Discord and Ollama."""

from __future__ import annotations

import asyncio
import itertools
import socket
from collections.abc import Callable
from typing import Any

import pytest

# isort: off
from tests.adapters.discord_harness import (  # first: it silences discord.py's audioop warning
    FAST_FAKE,
    assert_no_pings,
    discord_bot,
    thread_writes,
)

# isort: on
from adapters.discord_bot.pacing import DISCORD_BUDGET
from adapters.discord_bot.texts import split_for_discord
from bot.config import Settings
from bot.domain import Role
from tests.adapters.discord_harness import settings_maker
from tests.conftest import SMALL_PAIR
from tests.fakes.discord_fake import FLAG_EPHEMERAL, Channel, DiscordFake
from tests.fakes.ollama_fake import OllamaFake, Script

BASE, INSTRUCT = SMALL_PAIR


@pytest.fixture
def bot_settings(
    make_settings: Callable[..., Settings], ollama: OllamaFake
) -> Callable[..., Settings]:
    return settings_maker(
        make_settings,
        ollama.url,
        first_token_timeout=5.0,
        total_timeout=10.0,
        discord_edit_interval=0.2,
    )


@pytest.fixture
def closed_port() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{sock.getsockname()[1]}"


def words(count: int, word: str = "word") -> list[str]:
    return [f"{word}{i} " for i in range(count)]


async def test_compare_posts_a_parent_opens_a_thread_and_streams_both_sides(
    bot_settings: Callable[..., Settings], ollama: OllamaFake
) -> None:
    base_tokens, instruct_tokens = words(12, "base"), words(8, "inst")
    ollama.script(BASE, Script(tokens=base_tokens, delay=0.05))
    ollama.script(INSTRUCT, Script(tokens=instruct_tokens, delay=0.05))
    async with discord_bot(bot_settings()) as bot:
        rec = await bot.compare("こんにちは", framing="qa", seed=7)
        await bot.settled()
        fake = bot.fake

        first = rec.attempts[0]
        assert (first.status, first.type) == (200, 4)  # the reply itself is the parent message
        parent = bot.parent(rec)
        assert parent.content.startswith(f"<@{fake.user_id}> asked both twins")
        assert "pair `llama3.2-1b`" in parent.content and "framing `qa`" in parent.content
        assert "seed 7" in parent.content and "temperature 0.7" in parent.content
        # The prompt as typed, then what the base model saw with the qa framing, on one line.
        assert parent.embeds[0]["description"] == "こんにちは\n-# base sees: Q: こんにちは\\nA:"

        thread = bot.thread(rec)
        assert (thread.type, thread.parent_id, thread.name) == (
            11,
            fake.channel_id,
            "#1 · こんにちは",
        )
        [both] = bot.outputs(rec)
        a, b = both.embeds
        assert a["title"] == f"🅰️ Base · {BASE}" and b["title"] == f"🅱️ Instruct · {INSTRUCT}"
        assert a["description"] == "".join(base_tokens)
        assert b["description"] == "".join(instruct_tokens)
        assert a["footer"]["text"].startswith(
            "13 tokens · "
        )  # 12 and end-of-text and "stopped" in a["footer"]["text"]
        assert b["footer"]["text"].startswith("9 tokens · ")
        assert both.content == ""
        # Streamed: the message was shown growing before the final text.
        growing = [embeds[0]["description"] for _, embeds in both.history]
        assert len(growing) >= 3 and growing[1] != growing[-1]
        assert both.reactions == {e: {fake.bot_id} for e in ("🅰️", "🅱️", "🤝", "👎")}

        store = bot.runtime.store
        comparison = await store.comparison(1)
        assert comparison is not None and comparison["thread_id"] == str(thread.id)
        assert comparison["status"] == "done" and comparison["channel_id"] == str(fake.channel_id)
        parent_ref = await store.message_ref("discord", str(fake.channel_id), str(parent.id))
        both_ref = await store.message_ref("discord", str(thread.id), str(both.id))
        assert parent_ref is not None and parent_ref.kind == "parent"
        assert both_ref is not None and (both_ref.role, both_ref.part) == (None, 0)
        outputs = await store.outputs(1)
        assert outputs[Role.BASE]["text"] == "".join(base_tokens)
        assert fake.rate_limit_hits == 0
        assert_no_pings(fake)


async def test_long_output_continues_in_more_messages_with_code_blocks_reopened(
    bot_settings: Callable[..., Settings], ollama: OllamaFake
) -> None:
    code = "```python\n" + "".join(f"x_{i} = {i}  # a line of code\n" for i in range(200)) + "```\n"
    text = "Intro line.\n" + code + "Outro " + "words " * 300
    tokens = [text[i : i + 97] for i in range(0, len(text), 97)]
    ollama.script(BASE, Script(tokens=tokens, delay=0.005))
    ollama.script(INSTRUCT, Script(tokens=["short"]))
    async with discord_bot(bot_settings()) as bot:
        rec = await bot.compare("def f():", max_tokens=1024)
        await bot.settled()
        messages = bot.outputs(rec)
        pieces = split_for_discord(text)
        assert len(pieces) >= 3 and len(messages) == len(pieces)
        shown = [messages[0].embeds[0]["description"]] + [
            m.embeds[0]["description"] for m in messages[1:]
        ]
        assert shown == [p.shown for p in pieces]
        assert "".join(p.raw for p in pieces) == text  # nothing lost or repeated
        assert shown[0].endswith("\n```") and shown[1].startswith("```python\n")
        titles = [m.embeds[0]["title"] for m in messages[1:]]
        assert titles == [f"🅰️ Base · {BASE} · part {n}" for n in range(2, len(pieces) + 1)]
        assert messages[0].embeds[1]["description"] == "short"
        assert "footer" not in messages[0].embeds[0] and messages[-1].embeds[0]["footer"]
        for part, message in enumerate(messages[1:], start=1):
            ref = await bot.runtime.store.message_ref(
                "discord", str(bot.thread(rec).id), str(message.id)
            )
            assert ref is not None and (ref.role, ref.part) == (Role.BASE, part)
        assert bot.fake.rate_limit_hits == 0
        assert_no_pings(bot.fake)


async def test_mentions_in_prompt_and_outputs_ping_nobody(
    bot_settings: Callable[..., Settings], ollama: OllamaFake
) -> None:
    pings = ["@everyone ", "@here ", "<@123456789012345678> ", "<@&223456789012345678> ", "<@!1>"]
    ollama.script(BASE, Script(tokens=pings, delay=0.02))
    ollama.script(INSTRUCT, Script(tokens=list(reversed(pings)), delay=0.02))
    async with discord_bot(bot_settings()) as bot:
        rec = await bot.compare("@everyone say <@123> and @here")
        await bot.settled()
        [both] = bot.outputs(rec)
        assert both.embeds[0]["description"] == "".join(pings)
        assert_no_pings(bot.fake)
        assert all(m.allowed_mentions == {"parse": []} for m in [bot.parent(rec), both])


async def test_acknowledged_at_once_while_ollama_is_slow(
    bot_settings: Callable[..., Settings], ollama: OllamaFake
) -> None:
    ollama.default_script = Script(tokens=["late"], first_delay=2.0)
    settings = bot_settings(channel_burst=20, channel_comparisons_per_minute=600, max_running=10)
    fake = DiscordFake(ack_deadline=1.0, **FAST_FAKE)
    async with fake, discord_bot(settings, fake) as bot:
        users = [fake.add_user(f"u{i}")["id"] for i in range(10)]
        records = await asyncio.gather(*(bot.compare("hi", user_id=int(u)) for u in users))
        delays = [r.attempts[0] for r in records]
        assert [(a.status, a.type) for a in delays] == [(200, 4)] * 10
        assert all(r.acked for r in records)
        await bot.settled()
        assert len(fake.threads()) == 10


async def test_a_busy_ollama_is_a_line_in_the_thread(
    bot_settings: Callable[..., Settings], ollama: OllamaFake
) -> None:
    ollama.busy = True
    async with discord_bot(bot_settings()) as bot:
        rec = await bot.compare("hi")
        await bot.settled()
        [both] = bot.outputs(rec)
        lines = both.content.splitlines()
        assert lines == [  # "try again" once: Ollama's own "please try again" is dropped
            f"⚠️ **Base `{BASE}`** failed: Ollama is busy (server busy; maximum pending "
            "requests exceeded). Try again in a minute.",
            f"⚠️ **Instruct `{INSTRUCT}`** failed: Ollama is busy (server busy; maximum "
            "pending requests exceeded). Try again in a minute.",
        ]
        assert [e["footer"]["text"] for e in both.embeds] == ["failed (the reason is above)"] * 2


async def test_unreachable_ollama_names_the_host(
    bot_settings: Callable[..., Settings], closed_port: str
) -> None:
    async with discord_bot(bot_settings(ollama_host=closed_port)) as bot:
        rec = await bot.compare("hi")
        await bot.settled()
        [both] = bot.outputs(rec)
        assert both.content.count("Cannot reach Ollama at") == 2
        assert "TWINBOT_OLLAMA_HOST" in both.content


async def test_a_model_not_pulled_gives_the_pull_line_and_the_other_side_finishes(
    bot_settings: Callable[..., Settings], ollama: OllamaFake
) -> None:
    ollama.models.discard(INSTRUCT)
    ollama.script(BASE, Script(tokens=["fine"]))
    async with discord_bot(bot_settings()) as bot:
        rec = await bot.compare("hi")
        await bot.settled()
        [both] = bot.outputs(rec)
        assert both.content == (
            f"⚠️ **Instruct `{INSTRUCT}`** failed: The model `{INSTRUCT}` is not pulled on the "
            f"Ollama server: run `ollama pull {INSTRUCT}`."
        )
        assert both.embeds[0]["description"] == "fine"
        assert both.embeds[0]["footer"]["text"].startswith("2 tokens")  # one token and end-of-text


async def test_a_timeout_on_one_side_and_a_stream_error_on_the_other(
    bot_settings: Callable[..., Settings], ollama: OllamaFake
) -> None:
    ollama.script(BASE, Script(tokens=["never"], first_delay=2.0))
    ollama.script(INSTRUCT, Script(tokens=["a", "b", "c"], error_after=2, error="GPU fell over"))
    async with discord_bot(bot_settings(first_token_timeout=0.5)) as bot:
        rec = await bot.compare("hi")
        await bot.settled()
        [both] = bot.outputs(rec)
        base_line, instruct_line = both.content.splitlines()
        assert base_line.startswith(f"⚠️ **Base `{BASE}`** failed: Timed out after 0.5 s")
        assert instruct_line.endswith("The model stopped with an error: GPU fell over")
        assert both.embeds[1]["description"] == "ab"  # what it wrote before failing stays


async def test_without_thread_permission_the_outputs_follow_the_reply(
    bot_settings: Callable[..., Settings], ollama: OllamaFake
) -> None:
    ollama.script(BASE, Script(tokens=["b"]))
    async with discord_bot(bot_settings()) as bot:
        bot.fake.deny_threads = True
        rec = await bot.compare("hi")
        await bot.settled()
        assert bot.fake.threads() == []
        channel = bot.fake.channel_messages(bot.fake.channel_id)
        assert channel[0].id == bot.parent(rec).id
        [outputs] = channel[1:]
        assert outputs.webhook_id == bot.fake.app_id  # a follow-up: needs no channel permission
        assert "**Create Public Threads**" in outputs.content
        assert outputs.embeds[0]["description"] == "b"
        ref = await bot.runtime.store.message_ref(
            "discord", str(bot.fake.channel_id), str(outputs.id)
        )
        assert ref is not None and ref.role is None
        assert_no_pings(bot.fake)


async def test_without_permission_to_post_in_the_thread_the_outputs_follow_the_reply(
    bot_settings: Callable[..., Settings], ollama: OllamaFake
) -> None:
    fake = DiscordFake(**FAST_FAKE)
    async with fake:
        thread_id = fake.snowflake()
        fake.channels[thread_id] = Channel(
            thread_id, 11, "an old thread", fake.channel_id, owner_id=fake.owner_id
        )
        fake.deny_send(thread_id)
        async with discord_bot(bot_settings(), fake) as bot:
            rec = await bot.compare("hi", channel_id=thread_id)
            await bot.settled()
            messages = fake.channel_messages(thread_id)
            assert [m.webhook_id for m in messages] == [fake.app_id, fake.app_id]
            assert "**Send Messages in Threads**" in messages[1].content
            refused = fake.calls("POST", f"/channels/{thread_id}/messages")
            assert [r.status for r in refused] == [403]
            assert rec.acked


async def test_a_channel_outside_the_allowlist_gets_a_private_refusal(
    bot_settings: Callable[..., Settings],
) -> None:
    async with discord_bot(bot_settings(discord_channels=["1"])) as bot:
        rec = await bot.compare("hi")
        attempt = rec.attempts[0]
        assert attempt.type == 4 and attempt.data is not None
        assert attempt.data["flags"] & FLAG_EPHEMERAL
        assert attempt.data["content"].startswith(
            "twinbot does not run comparisons in this channel"
        )
        assert bot.fake.threads() == [] and await bot.runtime.store.comparison(1) is None


async def test_an_allowed_channel_works(bot_settings: Callable[..., Settings]) -> None:
    fake = DiscordFake(**FAST_FAKE)
    async with (
        fake,
        discord_bot(bot_settings(discord_channels=[str(fake.channel_id)]), fake) as bot,
    ):
        await bot.compare("hi")
        await bot.settled()
        assert len(fake.threads()) == 1


async def test_a_rate_limited_user_is_told_when_to_try_again(
    bot_settings: Callable[..., Settings],
) -> None:
    settings = bot_settings(user_burst=1, user_comparisons_per_minute=1)
    async with discord_bot(settings) as bot:
        await bot.compare("one")
        second = await bot.compare("two")
        attempt = second.attempts[0]
        assert attempt.data is not None and attempt.data["flags"] & FLAG_EPHEMERAL
        assert attempt.data["content"].startswith(
            "You have reached the comparison limit. Try again in "
        )
        await bot.settled()
        assert len(bot.fake.threads()) == 1


async def test_bad_input_is_a_private_reply_naming_the_problem(
    bot_settings: Callable[..., Settings],
) -> None:
    async with discord_bot(bot_settings()) as bot:
        rec = await bot.compare("hi", pair="nope")
        attempt = rec.attempts[0]
        assert attempt.data is not None and attempt.data["flags"] & FLAG_EPHEMERAL
        assert attempt.data["content"].startswith("Unknown pair `nope`. Known pairs:")
        over = await bot.compare("hi", max_tokens=5000)
        assert over.attempts[0].data is not None
        assert over.attempts[0].data["content"] == "max tokens must be between 1 and 1024."


async def test_finish_retries_an_edit_that_fails(
    bot_settings: Callable[..., Settings], ollama: OllamaFake
) -> None:
    ollama.script(BASE, Script(tokens=["one ", "two"], delay=0.6))
    async with discord_bot(bot_settings()) as bot:
        rec = await bot.compare("hi")
        await bot.fake.wait_for_request(lambda r: r.method == "PATCH")
        bot.fake.fail_next_edits(2, status=503)
        await bot.settled()
        [both] = bot.outputs(rec)
        assert both.embeds[0]["description"] == "one two"
        assert both.embeds[0]["footer"]["text"].startswith("3 tokens")  # with end-of-text
        statuses = [r.status for r in bot.fake.calls("PATCH", "/channels/*/messages/*")]
        assert statuses.count(503) == 2 and statuses[-1] == 200


async def test_the_gateway_drops_mid_comparison_and_resumes(
    bot_settings: Callable[..., Settings], ollama: OllamaFake
) -> None:
    tokens = words(10)
    ollama.script(BASE, Script(tokens=tokens, delay=0.1))
    async with discord_bot(bot_settings()) as bot:
        rec = await bot.compare("hi")
        await bot.fake.wait_for_request(lambda r: r.method == "PATCH")
        await bot.fake.disconnect_gateway(code=4000)
        both = bot.outputs(rec)[0]
        await bot.fake.dispatch_reaction_add(bot.thread(rec).id, both.id, bot.fake.user_id, "🅱️")
        await bot.settled()
        assert bot.fake.resume_count == 1 and bot.fake.identify_count == 1
        assert bot.outputs(rec)[0].embeds[0]["description"] == "".join(tokens)
        await bot.fake.wait_until(lambda: bot.fake.replayed >= 1)
        votes = await wait_for_votes(bot.runtime.store, 1)
        assert [v.choice for v in votes] == ["instruct_better"]


async def wait_for_votes(store: Any, count: int, within: float = 5.0) -> list[Any]:
    for _ in range(int(within / 0.02)):
        votes = await store.votes()
        if len(votes) >= count:
            return list(votes)
        await asyncio.sleep(0.02)
    raise AssertionError(f"fewer than {count} votes after {within} s")


def _shown_text(body: Any) -> str:
    return "\n".join(str(e.get("description") or "") for e in body.get("embeds") or [])


async def test_a_write_shows_the_newest_text_when_its_turn_comes(
    bot_settings: Callable[..., Settings], ollama: OllamaFake
) -> None:
    """The model goes on while a write waits for the channel's budget: what goes out when the
    turn comes is the newest text, never the frame from before the wait."""
    ollama.script(BASE, Script(tokens=words(30, "base"), delay=0.02))
    ollama.script(INSTRUCT, Script(tokens=words(30, "inst"), delay=0.02))
    # A turn every 3 s: the model is done long before the second write may go.
    async with discord_bot(bot_settings(discord_edit_interval=3.0)) as bot:
        rec = await bot.compare("hi")
        await bot.settled(within=20)
        texts = [_shown_text(r.json) for r in thread_writes(bot.fake, bot.thread(rec).id)]
        assert bot.fake.rate_limit_hits == 0
    with_text = [text for text in texts if "base0" in text or "inst0" in text]
    # The first text goes at once; the next write (the only other) shows everything.
    assert len(with_text) == 2, texts
    assert "base29" in with_text[1] and "inst29" in with_text[1]


async def test_a_normal_comparison_stays_inside_the_real_budget(
    make_settings: Callable[..., Settings], ollama: OllamaFake
) -> None:
    """Production figures: Discord's 5 writes per 5 s, one edit a second, a 5 s stream."""
    text = "".join(f"line {i} of a long and steady answer\n" for i in range(150))
    tokens = [text[i : i + 40] for i in range(0, len(text), 40)]
    ollama.script(BASE, Script(tokens=tokens, delay=0.025))
    ollama.script(INSTRUCT, Script(tokens=words(40), delay=0.1))
    settings = make_settings(ollama_host=ollama.url, max_tokens=1024)
    async with DiscordFake() as fake, discord_bot(settings, fake, budget=DISCORD_BUDGET) as bot:
        rec = await bot.compare("hi")
        await bot.settled(within=20)
        writes = thread_writes(fake, bot.thread(rec).id)
        times = [r.at for r in writes]
        gaps = [b - a for a, b in itertools.pairwise(times)]
        span = DISCORD_BUDGET.span  # 5 s and a margin for latency jitter
        busiest = max(sum(1 for t in times if start <= t < start + span) for start in times)
        print(
            f"\nthread writes {len(writes)} ({sum(r.method == 'POST' for r in writes)} creates) "
            f"over {times[-1] - times[0]:.1f} s, min gap "
            f"{min(gaps):.2f} s, busiest {span:g} s window {busiest}, 429s {fake.rate_limit_hits}"
        )
        # Discord's own rule, as its fake enforces it: not one 429. (The figures above are
        # printed, not asserted: a loaded machine shifts when writes land.)
        assert fake.rate_limit_hits == 0
        assert len(bot.outputs(rec)) == len(split_for_discord(text))
        assert "".join(
            [bot.outputs(rec)[0].embeds[0]["description"]]
            + [m.embeds[0]["description"] for m in bot.outputs(rec)[1:]]
        ) == "".join(p.shown for p in split_for_discord(text))
