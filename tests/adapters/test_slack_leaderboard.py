"""`/leaderboard`: the chart uploaded as files_upload_v2 does, then the board as blocks; filters."""

from __future__ import annotations

from collections.abc import Callable
from html import unescape

from bot.config import Settings
from bot.domain import ModelPair
from tests.adapters.slack_harness import Slack, eventually, slack_bot
from tests.board_votes import assert_every_model_and_rating, board_of, seed_five_by_five, seed_pair
from tests.fakes.ollama_fake import OllamaFake
from tests.fakes.slack_fake import Message

PNG = b"\x89PNG\r\n\x1a\n"
# A hang guard, not a speed test: a big board's ratings and chart take seconds on a busy machine.
BIG_BOARD_WAIT = 60.0


async def vote(slack: Slack, prompt: str, reaction: str, user: str) -> None:
    """Run a comparison and vote on it, end to end (each in its own channel: no post pacing)."""
    before = len(await slack.bot.runtime.store.votes())
    channel = f"C0{user}"
    assert (await slack.command(prompt, channel_id=channel)).status == 200
    await slack.settled()
    [parent] = slack.parents(channel)
    await slack.react(reaction, parent.ts, user=user, channel=channel)
    store = slack.bot.runtime.store

    async def counted() -> bool:
        return len(await store.votes()) == before + 1

    await eventually(counted)


async def answered(slack: Slack, text: str = "", **fields: str) -> str:
    response = await slack.leaderboard(text, **fields)
    assert response.status == 200
    return await response.text()


def shown(message: Message) -> list[str]:
    """The mrkdwn of each block of a posted board, unescaped."""
    assert message.blocks is not None
    return [unescape(block["text"]["text"]) for block in message.blocks]


def by_title(texts: list[str]) -> dict[str, str]:
    """The board's sections by title (`*title*` and a code block; the header has neither)."""
    return {t.split("\n", 1)[0].strip("*"): t for t in texts if "\n```\n" in t}


async def test_the_chart_and_the_board_are_posted(settings: Settings, ollama: OllamaFake):
    async with slack_bot(settings) as slack:
        await vote(slack, "one", "a", "U0VOTER1")
        await vote(slack, "two", "b", "U0VOTER2")
        await vote(slack, "three", "b", "U0VOTER3")
        assert await answered(slack, "--all-votes") == ""  # a bare ack; the answer follows
        await slack.settled()
        fake = slack.fake
        [upload] = fake.files.values()
        assert upload.data is not None and upload.data.startswith(PNG)
        assert upload.length == len(upload.data) and upload.channel == fake.channel_id
        assert upload.filename == "twinbot-leaderboard.png" and upload.alt_txt
        chart, board = slack.parents()
        assert chart.files == [upload.id] and chart.text == "*Leaderboard* · all votes"
        assert board.text == "*Leaderboard* · all votes"  # the fallback
        head, notes, pair = shown(board)
        assert head == "*Leaderboard* · all votes"
        assert "All votes counted, blind or not." in notes
        assert pair.startswith("*llama3.2-1b*\n```\n#1 llama3.2:1b-") and pair.endswith("\n```")
        row = pair.split("\n")[-2]
        assert row.startswith("raw            3  33% ")


async def test_ten_models_keep_every_rating(settings: Settings):
    async with slack_bot(settings) as slack:
        await seed_five_by_five(slack.bot.runtime.store, settings)
        board = await board_of(slack.bot.runtime.store)
        assert sum(len(g.ratings) for g in board.groups) == 10
        await answered(slack, "--all-votes")
        await slack.settled(BIG_BOARD_WAIT)
        _, posted = slack.parents()  # the fake checked each block against Slack's limits
        assert_every_model_and_rating(by_title(shown(posted)), board)


async def test_a_board_of_more_than_fifty_blocks_continues_in_the_next_message(
    settings: Settings,
):
    async with slack_bot(settings) as slack:
        for number in range(60):  # 60 pairs, a block each: more than one message may hold
            pair = ModelPair(f"pair-{number:02d}", f"base-{number:02d}", f"instruct-{number:02d}")
            await seed_pair(slack.bot.runtime.store, settings, pair, [{"1": "🅰️", "2": "🅱️"}])
        board = await board_of(slack.bot.runtime.store)
        await answered(slack, "--all-votes")
        await slack.settled(BIG_BOARD_WAIT)
        _, first, second = slack.parents()
        assert first.text == "*Leaderboard* · all votes (part 1 of 2)"
        assert second.text == "*Leaderboard* · all votes (part 2 of 2)"
        assert len(shown(first)) == 50 and len(shown(second)) == 12
        assert_every_model_and_rating(by_title(shown(first) + shown(second)), board)


async def test_no_votes_posts_the_table_alone(settings: Settings):
    async with slack_bot(settings) as slack:
        await answered(slack)
        await slack.settled()
        [message] = slack.parents()
        assert message.text == (
            "*Leaderboard* · blind votes only\n```\nNo votes yet. React to a comparison to "
            "vote.\n```"
        )
        assert slack.fake.files == {}


async def test_filters_are_read_and_named(settings: Settings, ollama: OllamaFake):
    async with slack_bot(settings) as slack:
        await vote(slack, "one", "a", "U0VOTER1")
        await answered(slack, "--channel <#C0OTHER|other> --since 7d --blind-only --pair=llama")
        await slack.settled()
        [board] = slack.parents()
        assert board.text.split("\n")[0] == (
            "*Leaderboard* · in <#C0OTHER> · pair `llama` · since 7d · blind votes only"
        )
        assert "No votes yet." in board.text  # none in that channel, blind, for that pair
        await answered(slack, "--channel C0U0VOTER1 --since 2020-01-01 --all-votes")
        await slack.settled()
        posted = slack.parents()[-1]
        assert posted.text == "*Leaderboard* · in <#C0U0VOTER1> · since 2020-01-01 · all votes"
        assert shown(posted)[2].startswith("*llama3.2-1b*\n```\n#1 ")  # its one vote
        await answered(slack, "--channel here", channel_id="C0U0VOTER1")
        await slack.settled()
        assert slack.parents("C0U0VOTER1")[-1].text == (
            "*Leaderboard* · in <#C0U0VOTER1> · blind votes only\n```\nNo blind votes yet (1 "
            "cast with the names shown are left out; all votes: --all-votes).\n```"
        )  # its one vote was cast with the names shown


async def test_bad_filters_get_a_short_ephemeral_answer(settings: Settings):
    async with slack_bot(settings) as slack:
        for text, start in [
            ("--since yesterday", "`yesterday` is not a time: use a date like 2026-05-01"),
            ("--colour red", "Unknown option `--colour`."),
            ("--channel", "`--channel` needs a value."),
            ("--channel <!here>", "`--channel` takes a channel, like `--channel #general`"),
        ]:
            response = await slack.leaderboard(text)
            body = await response.json()
            assert body["response_type"] == "ephemeral"
            assert body["text"].startswith(start), body["text"]
            assert "<" not in body["text"]  # escaped: `@here` is shown, not sent
        await slack.settled()
        assert slack.fake.calls_to("chat.postMessage") == []


async def test_a_refused_upload_still_posts_the_table(settings: Settings, ollama: OllamaFake):
    async with slack_bot(settings) as slack:
        await vote(slack, "one", "a", "U0VOTER1")
        slack.fake.fail_next("files.getUploadURLExternal", error="missing_scope")
        await answered(slack, "--all-votes")
        await slack.settled()
        [board] = slack.parents()  # no chart: the board alone
        texts = shown(board)
        assert texts[0] == "*Leaderboard* · all votes" and texts[2].startswith("*llama3.2-1b*")
        assert texts[-1] == "_(the chart could not be uploaded: `missing_scope`)_"


async def test_outside_a_channel_it_is_in_it_asks_to_be_invited(settings: Settings):
    async with slack_bot(settings) as slack:
        slack.fake.add_channel("C0PRIVATE", member=False)
        await answered(slack, channel_id="C0PRIVATE")
        await slack.settled()
        [notice] = slack.fake.responses
        assert notice.body["text"].startswith("I am not a member of this channel")


async def test_one_channel_gets_two_boards_a_minute_admins_more(
    make_settings: Callable[..., Settings], ollama: OllamaFake
):
    settings = make_settings(ollama_host=ollama.url, slack_admin_users="U0ADMIN")
    async with slack_bot(settings) as slack:
        assert await answered(slack) == "" and await answered(slack) == ""
        third = await (await slack.leaderboard("")).json()
        assert third["text"].startswith("A leaderboard was posted here moments ago. Try again in")
        assert await answered(slack, user_id="U0ADMIN") == ""
        assert await answered(slack, channel_id="C0ELSEWHERE") == ""
        await slack.settled()
