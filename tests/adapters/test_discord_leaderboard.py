"""/leaderboard on Discord: the table in a code block, the chart as an image, the filters."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import pytest

# isort: off
from tests.adapters.discord_harness import Bot, discord_bot  # first: silences audioop warning

# isort: on
from bot.config import Settings
from bot.domain import ModelPair
from tests.board_votes import assert_every_model_and_rating, board_of, seed_five_by_five, seed_pair
from tests.fakes.discord_fake import FLAG_EPHEMERAL, InteractionRecord, RecordedRequest
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


# A hang guard, not a speed test: a big board's ratings and chart take seconds on a busy machine.
BIG_BOARD_WAIT = 60.0


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
        ),
        timeout=BIG_BOARD_WAIT,
    )
    return rec, answer.json


def webhook_posts(bot: Bot, rec: InteractionRecord) -> list[RecordedRequest]:
    """Every follow-up the bot sent for this /leaderboard, in order."""
    path = f"/webhooks/{bot.fake.app_id}/{rec.token}"
    return [r for r in bot.fake.requests if r.method == "POST" and r.path.startswith(path)]


def fields_of(posts: list[RecordedRequest]) -> list[dict[str, str]]:
    assert all(post.status is not None and post.status < 300 for post in posts)
    return [f for post in posts for e in post.json.get("embeds") or [] for f in e["fields"]]


async def test_leaderboard_posts_the_board_and_the_chart(bot_settings: Settings) -> None:
    async with discord_bot(bot_settings) as bot:
        await voted(bot)
        rec, answer = await leaderboard(bot, all_votes=True)
        assert rec.attempts[0].type == 5  # deferred: the ratings and the chart take a moment
        assert answer["content"] == "**Leaderboard** · all votes"
        [embed] = answer["embeds"]
        assert embed["title"] == "Ratings and win shares"
        assert "All votes counted, blind or not." in embed["description"]
        [field] = embed["fields"]
        assert field["name"] == "llama3.2-1b"
        rows = field["value"].strip("`\n").splitlines()
        assert rows[0].startswith("#1 llama3.2:1b-")
        assert [row.split()[:2] for row in rows[5:]] == [["raw", "2"], ["qa", "1"]]
        assert answer["attachments"] == [{"id": 0, "filename": "leaderboard.png"}]
        assert answer["allowed_mentions"] == {"parse": []}
        assert bot.fake.message(rec.original_message_id or 0).embeds == answer["embeds"]


async def test_five_pairs_by_five_framings_keep_every_rating(bot_settings: Settings) -> None:
    async with discord_bot(bot_settings) as bot:
        await seed_five_by_five(bot.runtime.store, bot_settings)
        board = await board_of(bot.runtime.store)
        assert sum(len(g.ratings) for g in board.groups) == 10 and len(board.records) == 25
        rec, answer = await leaderboard(bot, all_votes=True)
        fields = fields_of(webhook_posts(bot, rec))
        assert len(fields) == 5  # one per pair, in one message: the fake checked its limits
        assert_every_model_and_rating({f["name"]: f["value"] for f in fields}, board)
        assert answer["attachments"] == [{"id": 0, "filename": "leaderboard.png"}]


async def test_a_board_too_big_for_one_message_continues_in_the_next(
    bot_settings: Settings,
) -> None:
    async with discord_bot(bot_settings) as bot:
        for number in range(30):  # 30 pairs: more fields than one embed may hold
            pair = ModelPair(f"pair-{number:02d}", f"base-{number:02d}", f"instruct-{number:02d}")
            await seed_pair(bot.runtime.store, bot_settings, pair, [{"1": "🅰️", "2": "🅱️"}])
        board = await board_of(bot.runtime.store)
        rec, _ = await leaderboard(bot, all_votes=True)
        await bot.fake.wait_until(lambda: len(webhook_posts(bot, rec)) == 2, BIG_BOARD_WAIT)
        posts = webhook_posts(bot, rec)
        first, second = (post.json for post in posts)
        assert second["content"] == "**Leaderboard** · all votes (continued)"
        assert [e["footer"]["text"] for e in (*first["embeds"], *second["embeds"])] == [
            "page 1 of 2",
            "page 2 of 2",
        ]
        assert "attachments" in first and not second.get("attachments")
        fields = fields_of(posts)
        assert len(fields) == 30
        assert_every_model_and_rating({f["name"]: f["value"] for f in fields}, board)


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
        assert recent["embeds"][0]["fields"][0]["name"] == "llama3.2-1b"


async def test_a_time_that_is_not_a_time_gets_a_private_reply(bot_settings: Settings) -> None:
    async with discord_bot(bot_settings) as bot:
        rec, answer = await leaderboard(bot, since="last tuesday")
        assert rec.attempts[0].type == 4 and answer["flags"] & FLAG_EPHEMERAL
        assert answer["content"].startswith("`last tuesday` is not a time")
