"""Faults on either side of the bot: Discord 429s and 5xx on edits, Ollama killed mid-stream,
busy, a model gone between two requests. The user reads a short line in the thread, the other
side and other comparisons carry on, and the bot serves the next request.

Also covered elsewhere: gateway disconnect and resume mid-comparison, a 503 on the final edit
(test_discord_compare.py), Ollama unreachable, slow first token, a mid-stream error line.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import pytest

# isort: off
from tests.adapters.discord_harness import discord_bot, thread_writes  # first: audioop warning

# isort: on
from bot.config import Settings
from tests.adapters.discord_harness import settings_maker
from tests.conftest import SMALL_PAIR
from tests.fakes.ollama_fake import OllamaFake, Script

BASE, INSTRUCT = SMALL_PAIR
QWEN = ("qwen2.5:0.5b-base", "qwen2.5:0.5b-instruct")  # a second pair, scripted apart


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


def words(count: int, word: str = "w") -> list[str]:
    return [f"{word}{i} " for i in range(count)]


def counted_429s(bot: Any) -> float:
    return float(bot.runtime.metrics.platform_429.labels("discord")._value.get())


async def test_429s_on_edits_are_waited_out_counted_and_the_final_text_arrives(
    bot_settings: Callable[..., Settings], ollama: OllamaFake
) -> None:
    tokens = words(12)
    ollama.script(BASE, Script(tokens=tokens, delay=0.1))
    async with discord_bot(bot_settings()) as bot:
        rec = await bot.compare("hi")
        await bot.fake.wait_for_request(lambda r: r.method == "PATCH")
        bot.fake.fail_next_edits(3, status=429, retry_after=0.2)
        await bot.settled()
        [both] = bot.outputs(rec)
        assert both.embeds[0]["description"] == "".join(tokens)
        assert both.embeds[0]["footer"]["text"].startswith("13 tokens")
        statuses = [r.status for r in thread_writes(bot.fake, bot.thread(rec).id)]
        print(f"\n429 fault: thread writes {statuses}, metric {counted_429s(bot):g}")
        assert statuses.count(429) == 3 and statuses[-1] == 200
        assert bot.fake.rate_limit_hits == 3 == counted_429s(bot)


async def test_ollama_killed_mid_stream_fails_that_side_only_and_other_comparisons_go_on(
    bot_settings: Callable[..., Settings], ollama: OllamaFake
) -> None:
    ollama.models.update(QWEN)
    ollama.script(BASE, Script(tokens=words(10), delay=0.05, drop_after=4))
    ollama.script(INSTRUCT, Script(tokens=words(6, "i"), delay=0.05))
    ollama.default_script = Script(tokens=words(8, "q"), delay=0.05)  # the qwen pair
    async with discord_bot(bot_settings()) as bot:
        broken, fine = await asyncio.gather(
            bot.compare("hi"), bot.compare("hi", pair="qwen2.5-0.5b")
        )
        await bot.settled()
        [both] = bot.outputs(broken)
        assert both.content == (  # the cause in words, not an httpx class name
            # The address stays visible but previews nothing (wrapped in <>).
            f"⚠️ **Base `{BASE}`** failed: The connection to Ollama at <{ollama.url}> closed "
            "mid-answer: the server stopped or restarted. The text so far is kept."
        )
        assert both.embeds[0]["description"] == "".join(words(4))  # what came before stays
        assert both.embeds[1]["description"] == "".join(words(6, "i"))
        [other] = bot.outputs(fine)
        assert other.content == "" and other.embeds[0]["description"] == "".join(words(8, "q"))
        statuses = {await status(bot, n) for n in (1, 2)}
        assert statuses == {"done"}  # a failed side is a finished comparison, stored
        ollama.script(BASE, Script(tokens=["back"]))
        after = await bot.compare("again")
        await bot.settled()
        assert bot.outputs(after)[0].embeds[0]["description"] == "back"


async def status(bot: Any, comparison_id: int) -> str:
    row = await bot.runtime.store.comparison(comparison_id)
    assert row is not None
    return str(row["status"])


async def test_a_busy_ollama_then_a_recovered_one(
    bot_settings: Callable[..., Settings], ollama: OllamaFake
) -> None:
    ollama.busy = True
    async with discord_bot(bot_settings()) as bot:
        refused = await bot.compare("hi")
        await bot.settled()
        assert bot.outputs(refused)[0].content.count("Ollama is busy") == 2
        ollama.busy = False
        ollama.default_script = Script(tokens=["ok"])
        served = await bot.compare("hi")
        await bot.settled()
        [both] = bot.outputs(served)
        assert both.content == "" and [e["description"] for e in both.embeds] == ["ok", "ok"]


async def test_a_model_removed_between_two_requests_gets_the_pull_line(
    bot_settings: Callable[..., Settings], ollama: OllamaFake
) -> None:
    ollama.default_script = Script(tokens=["fine"])
    async with discord_bot(bot_settings()) as bot:
        before = await bot.compare("one")
        await bot.settled()
        assert bot.outputs(before)[0].content == ""
        ollama.models.discard(BASE)  # `ollama rm`, or a server restarted without it
        gone = await bot.compare("two")
        await bot.settled()
        [both] = bot.outputs(gone)
        assert both.content == (
            f"⚠️ **Base `{BASE}`** failed: The model `{BASE}` is not pulled on the Ollama "
            f"server: run `ollama pull {BASE}`."
        )
        assert both.embeds[1]["description"] == "fine"
        ollama.models.add(BASE)
        again = await bot.compare("three")
        await bot.settled()
        assert bot.outputs(again)[0].content == ""


async def test_a_model_reloading_slowly_still_streams_within_the_deadline(
    bot_settings: Callable[..., Settings], ollama: OllamaFake
) -> None:
    # Unloaded after OLLAMA_KEEP_ALIVE: the next request waits for the load, then streams.
    ollama.script(BASE, Script(tokens=words(3), first_delay=0.8))
    async with discord_bot(bot_settings(first_token_timeout=3.0)) as bot:
        rec = await bot.compare("hi")
        await bot.settled()
        [both] = bot.outputs(rec)
        assert both.content == "" and both.embeds[0]["description"] == "".join(words(3))
        waiting = [embeds[0]["description"] for _, embeds in both.history]
        assert waiting[0] == "*waiting for the first token…*"
