"""/leaderboard on Discord: the table in a code block, the chart as an image, the filters."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import pytest

# isort: off
from tests.adapters.discord_harness import Bot, discord_bot  # first: silences audioop warning

# isort: on
from adapters.discord_bot.leaderboard import table_message
from bot.config import Settings
from tests.fakes.discord_fake import FLAG_EPHEMERAL, InteractionRecord
from tests.fakes.ollama_fake import OllamaFake


@pytest.fixture
def bot_settings(make_settings: Callable[..., Settings], ollama: OllamaFake) -> Settings:
    return make_settings(ollama_host=ollama.url, discord_edit_interval=0.2)


async def voted(bot: Bot) -> None:
    """Two comparisons (framings raw and qa) and three votes through reactions."""
    fake = bot.fake
    for framing in ("raw", "qa"):
        rec = await bot.compare("hi", framing=framing)
        await bot.settled()
        thread, both = bot.thread(rec).id, bot.outputs(rec)[0].id
        emoji = ["🅱️", "🅱️"] if framing == "raw" else ["🅰️"]
        for index, choice in enumerate(emoji):
            user = int(fake.add_user(f"{framing}{index}")["id"])
            await fake.dispatch_reaction_add(thread, both, user, choice)
    for _ in range(250):
        if len(await bot.runtime.store.votes()) == 3:
            return
        await asyncio.sleep(0.02)
    raise AssertionError("the votes did not arrive")


async def leaderboard(bot: Bot, **options: Any) -> tuple[InteractionRecord, dict[str, Any]]:
    """/leaderboard; the record and the follow-up that answered it."""
    rec = await bot.fake.dispatch_slash_command("leaderboard", options)
    first = await rec.wait_callback()
    if first.type == 4:
        assert first.data is not None
        return rec, first.data
    answer = await bot.fake.wait_for_request(
        lambda r: (
            r.method == "POST" and r.path.startswith(f"/webhooks/{bot.fake.app_id}/{rec.token}")
        )
    )
    return rec, answer.json


async def test_leaderboard_posts_the_table_and_the_chart(bot_settings: Settings) -> None:
    async with discord_bot(bot_settings) as bot:
        await voted(bot)
        rec, answer = await leaderboard(bot, all_votes=True)
        assert rec.attempts[0].type == 5  # deferred: the ratings and the chart take a moment
        content = answer["content"]
        assert content.startswith("**Leaderboard** · all votes\n```\npair ")
        rows = content.split("```")[1].splitlines()
        assert rows[2].split()[:3] == ["llama3.2-1b", "raw", "2"]
        assert rows[3].split()[:3] == ["llama3.2-1b", "qa", "1"]
        assert answer["attachments"] == [{"id": 0, "filename": "leaderboard.png"}]
        assert answer["allowed_mentions"] == {"parse": []}
        assert bot.fake.message(rec.original_message_id or 0).content == content


async def test_filters_narrow_the_votes(bot_settings: Settings) -> None:
    async with discord_bot(bot_settings) as bot:
        await voted(bot)
        _, other_pair = await leaderboard(bot, pair="qwen2.5-0.5b")
        assert (
            "No votes yet" in other_pair["content"]
            and "pair `qwen2.5-0.5b`" in other_pair["content"]
        )
        assert other_pair.get("attachments") in (None, [])
        _, blind = await leaderboard(bot)  # the votes were cast with the names shown
        assert "blind votes only" in blind["content"]
        assert (
            "No blind votes yet (3 cast with the names shown are left out; all votes: "
            "all_votes: True)" in blind["content"]
        )
        _, recent = await leaderboard(bot, since="1h", channel=bot.fake.channel_id, all_votes=True)
        assert f"in <#{bot.fake.channel_id}> · since 1h · all votes" in recent["content"]
        assert "llama3.2-1b" in recent["content"]


async def test_a_time_that_is_not_a_time_gets_a_private_reply(bot_settings: Settings) -> None:
    async with discord_bot(bot_settings) as bot:
        rec, answer = await leaderboard(bot, since="last tuesday")
        assert rec.attempts[0].type == 4 and answer["flags"] & FLAG_EPHEMERAL
        assert answer["content"].startswith("`last tuesday` is not a time")


def test_a_long_table_is_cut_at_a_line_to_fit_one_message() -> None:
    table = "\n".join(f"row {i:04d} " + "x" * 60 for i in range(100))
    message = table_message("**Leaderboard**", table)
    assert len(message) <= 2000 and message.endswith("more lines (use `twinbot stats`)\n```")
    kept = message.split("```")[1].strip("\n").splitlines()
    assert kept[0] == table.splitlines()[0] and all(line in table for line in kept[:-1])
