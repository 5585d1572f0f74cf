"""`/leaderboard`: a table in a code block, the chart uploaded as files_upload_v2 does, filters."""

from __future__ import annotations

from collections.abc import Callable

from bot.config import Settings
from tests.adapters.slack_harness import Slack, eventually, slack_bot
from tests.fakes.ollama_fake import OllamaFake

PNG = b"\x89PNG\r\n\x1a\n"


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


async def test_the_table_and_the_chart_are_posted_together(settings: Settings, ollama: OllamaFake):
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
        [shared] = slack.parents()
        assert shared.files == [upload.id]
        head, table = shared.text.split("\n", 1)
        assert head == "*Leaderboard* · all votes"
        assert table.startswith("```\npair ") and table.endswith("\n```")
        row = table.split("\n")[2]
        assert row.startswith("llama3.2-1b") and " 3  33% (" in row


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
        assert slack.parents()[-1].text.startswith(
            "*Leaderboard* · in <#C0U0VOTER1> · since 2020-01-01 · all votes\n```\npair "
        )  # its one vote
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
        board = slack.parents()[-1]
        assert board.text.startswith("*Leaderboard* · all votes\n```\npair")
        assert board.text.endswith("\n_(the chart could not be uploaded: `missing_scope`)_")


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
