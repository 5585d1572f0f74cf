"""Sides streamed by chat.startStream/appendStream/stopStream, and chat.update when they cannot."""

from __future__ import annotations

import re
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from typing import Any

from slack_sdk.web.async_client import AsyncWebClient

from adapters.slack_app.pacing import Budget
from adapters.slack_app.streams import StreamLane
from bot.config import Settings
from tests.adapters.slack_harness import Slack, side_output, slack_bot
from tests.conftest import SMALL_PAIR
from tests.fakes.ollama_fake import OllamaFake, Script
from tests.fakes.slack_fake import SlackFake, live_markdown

BASE, INSTRUCT = SMALL_PAIR
GUARD = "llama-guard3:1b"
HOSTILE = ["<!channel> ", "[win](https://evil.example) ", "@here ", "www.e.example ", "**b** "]
BASE_TOKENS = [HOSTILE[n % len(HOSTILE)] for n in range(20)]
INSTRUCT_TOKENS = [f"i{n} " for n in range(20)]
# Slack's floor for chat.update (Tier 3): with it, a stream gives a side more calls a minute.
SLACK_UPDATES = Budget(45, 60.0)


def shown(markdown: str) -> str:
    return re.sub(r"\\(.)", r"\1", markdown, flags=re.DOTALL).replace("\u200b", "")


def script(ollama: OllamaFake) -> None:
    ollama.script(BASE, Script(tokens=BASE_TOKENS, delay=0.1))
    ollama.script(INSTRUCT, Script(tokens=INSTRUCT_TOKENS, delay=0.1))


def streaming_bot(
    make_settings: Callable[..., Settings], ollama: OllamaFake, *, streams: bool = True, **fake: Any
) -> AbstractAsyncContextManager[Slack]:
    """The bot with Slack's real update budget, the models scripted, streams on or off."""
    script(ollama)
    settings = make_settings(ollama_host=ollama.url, slack_streams=streams)
    return slack_bot(settings, fake_options=fake, updates=SLACK_UPDATES)


async def a_story(slack: Slack) -> None:
    await slack.command("a story")
    await slack.settled(within=15)


def assert_usual_final_replies(slack: Slack) -> None:
    [parent] = slack.parents()
    replies = slack.replies(parent)
    assert len(replies) == 2  # one message a side: the streamed one became the reply
    base, base_footer, _ = side_output(replies, "Base")
    instruct, instruct_footer, _ = side_output(replies, "Instruct")
    assert (base, instruct) == ("".join(BASE_TOKENS), "".join(INSTRUCT_TOKENS))
    assert base_footer and base_footer.startswith(":white_check_mark:")
    assert instruct_footer and instruct_footer.startswith(":white_check_mark:")


def assert_streamed_to_the_end(slack: Slack) -> None:
    """Each side's stream is its reply: the whole text as written, the footer under it by
    chat.stopStream, and no chat.update ever."""
    [parent] = slack.parents()
    replies = slack.replies(parent)
    assert len(replies) == 2
    for reply, (label, model, tokens) in zip(
        replies, (("Base", BASE, BASE_TOKENS), ("Instruct", INSTRUCT, INSTRUCT_TOKENS)), strict=True
    ):
        assert shown(reply.text) == f"**{label}** · {model}\n\n" + "".join(tokens)
        assert reply.blocks is not None
        [context] = reply.blocks
        assert context["elements"][0]["text"].startswith(":white_check_mark:")
    assert {c.params.get("ts") for c in slack.fake.calls_to("chat.update")} & {
        r.ts for r in replies
    } == set()


async def test_each_side_streams_disarmed_text_to_its_end(
    make_settings: Callable[..., Settings], ollama: OllamaFake
) -> None:
    async with streaming_bot(make_settings, ollama) as slack:
        await a_story(slack)
        fake = slack.fake
        starts = fake.calls_to("chat.startStream")
        appends = [c for c in fake.calls_to("chat.appendStream") if c.response.get("ok")]
        assert len(starts) == 2 and all(c.response["ok"] for c in starts)
        assert appends, "no live text was streamed"
        assert {c.params["recipient_user_id"] for c in starts} == {fake.user_id}
        for call in starts + appends:
            text = str(call.params.get("markdown_text", ""))
            assert live_markdown(text) == [], text
        # What the base stream showed, title aside, is the model's text as written.
        [base_start] = [c for c in starts if "Base" in c.params["markdown_text"]]
        base_ts = base_start.response["ts"]
        streamed = "".join(
            str(c.params["markdown_text"]) for c in appends if c.params["ts"] == base_ts
        )
        assert shown(streamed) == "".join(BASE_TOKENS)
        stops = fake.calls_to("chat.stopStream")
        assert len(stops) == 2 and all(c.response["ok"] for c in stops)
        for call in stops:
            assert live_markdown(str(call.params.get("markdown_text", ""))) == []
        assert fake.ratelimited_total == 0
        assert_streamed_to_the_end(slack)


async def test_a_refused_stream_stop_ends_the_side_by_chat_update(
    make_settings: Callable[..., Settings], ollama: OllamaFake
) -> None:
    async with streaming_bot(make_settings, ollama) as slack:
        slack.fake.fail_next("chat.stopStream", times=2, error="internal_error", status=500)
        await a_story(slack)
        assert len(slack.fake.calls_to("chat.startStream")) == 2
        assert slack.fake.ratelimited_total == 0
        assert_usual_final_replies(slack)


async def test_a_refused_stream_start_posts_and_updates_as_usual(
    make_settings: Callable[..., Settings], ollama: OllamaFake
) -> None:
    async with streaming_bot(make_settings, ollama) as slack:
        slack.fake.fail_next("chat.startStream", times=2, error="invalid_arguments")
        await a_story(slack)
        assert slack.fake.calls_to("chat.appendStream") == []
        assert len(slack.fake.calls_to("chat.update")) >= 2
        assert_usual_final_replies(slack)


async def test_an_expired_stream_goes_on_by_chat_update(
    make_settings: Callable[..., Settings], ollama: OllamaFake
) -> None:
    async with streaming_bot(make_settings, ollama, stream_ttl=0.0) as slack:
        await a_story(slack)
        errors = {c.error for c in slack.fake.calls_to("chat.appendStream")}
        assert errors == {"message_not_in_streaming_state"}
        assert slack.fake.ratelimited_total == 0
        assert_usual_final_replies(slack)


async def test_streams_stay_off_when_turned_off(
    make_settings: Callable[..., Settings], ollama: OllamaFake
) -> None:
    async with streaming_bot(make_settings, ollama, streams=False) as slack:
        await a_story(slack)
        assert slack.fake.calls_to("chat.startStream") == []
        assert_usual_final_replies(slack)


async def test_a_channel_whose_gate_conceals_text_never_streams(
    make_settings: Callable[..., Settings], ollama: OllamaFake
) -> None:
    """Streamed text cannot be taken back, so spoiler mode keeps chat.update."""
    ollama.models.add(GUARD)
    ollama.script(GUARD, Script(tokens=["safe"]))
    script(ollama)
    settings = make_settings(ollama_host=ollama.url, slack_streams=True, safety_default="spoiler")
    async with slack_bot(settings, updates=SLACK_UPDATES) as slack:
        await slack.command("a story")
        await slack.settled(within=15)
        assert slack.fake.calls_to("chat.startStream") == []
        assert len(slack.replies(slack.parents()[0])) == 2


async def test_live_sides_share_the_two_budgets_so_each_gets_the_most_calls() -> None:
    """90 appends and 45 updates a minute over six live sides: four streams (22.5 calls a
    minute each), two edited (22.5 each); a side that ends frees its share."""
    async with SlackFake() as fake:
        client = AsyncWebClient(token=fake.bot_token, base_url=fake.api_url)
        lane = StreamLane(client)
        parent = await client.chat_postMessage(channel=fake.channel_id, text="prompt")
        who = {"user": fake.user_id, "team": fake.team_id}

        async def side() -> str | None:
            return await lane.start(
                fake.channel_id, str(parent["ts"]), "**A**\n\n", updates=SLACK_UPDATES, **who
            )

        started = [await side() for _ in range(6)]
        streams = [ts for ts in started if ts is not None]
        assert (len(streams), lane.streaming, lane.editing) == (4, 4, 2)
        assert len(fake.calls_to("chat.startStream")) == 4
        await lane.stop(fake.channel_id, streams[0])
        assert await side() is not None  # the stream's share is free again
        lane.release()
        lane.release()
        assert lane.editing == 0
        await lane.close()
        assert fake.ratelimited_total == 0
