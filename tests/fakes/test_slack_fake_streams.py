"""The fake's streaming methods, driven by the real AsyncWebClient and slack-sdk's helper."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from .slack_fake import MARKDOWN_LIMIT, SlackFake

RECIPIENT = {"recipient_user_id": "U0HUMAN01", "recipient_team_id": "T0TWINBOT"}


@pytest.fixture
async def fake() -> AsyncIterator[SlackFake]:
    async with SlackFake() as slack:
        yield slack


def client_for(fake: SlackFake) -> AsyncWebClient:
    return AsyncWebClient(token=fake.bot_token, base_url=fake.api_url, retry_handlers=[])


async def parent(fake: SlackFake, client: AsyncWebClient) -> str:
    posted = await client.chat_postMessage(channel=fake.channel_id, text="the prompt")
    return str(posted["ts"])


async def error_of(call: asyncio.Future[object] | object) -> str:
    with pytest.raises(SlackApiError) as caught:
        await call  # type: ignore[misc]
    return str(caught.value.response["error"])


async def test_the_sdk_helper_streams_a_reply_and_stops_it(fake: SlackFake) -> None:
    client = client_for(fake)
    thread = await parent(fake, client)
    stream = await client.chat_stream(
        channel=fake.channel_id, thread_ts=thread, buffer_size=1, **RECIPIENT
    )
    await stream.append(markdown_text="Once ")
    await stream.append(markdown_text="upon ")
    await stream.stop(markdown_text="a time.", blocks=[{"type": "divider"}])
    assert stream.ts is not None
    message = fake.message(fake.channel_id, stream.ts)
    assert (message.text, message.thread_ts, message.streaming) == (
        "Once upon a time.",
        thread,
        False,
    )
    assert message.blocks == [{"type": "divider"}]  # rendered under the streamed text
    assert [m.method for m in fake.calls[-3:]] == [
        "chat.startStream",
        "chat.appendStream",
        "chat.stopStream",
    ]


async def test_a_stream_is_a_reply_to_someone(fake: SlackFake) -> None:
    client = client_for(fake)
    thread = await parent(fake, client)
    assert await error_of(client.chat_startStream(channel=fake.channel_id, thread_ts="")) == (
        "invalid_arguments"
    )
    # In a channel Slack must know who the stream answers; in a DM it knows.
    started = client.chat_startStream(channel=fake.channel_id, thread_ts=thread)
    assert await error_of(started) == "invalid_arguments"
    assert fake.calls[-1].response["response_metadata"]["messages"] == [
        "[ERROR] missing required field: recipient_user_id"
    ]
    fake.add_channel("D0DIRECT")
    dm_parent = await client.chat_postMessage(channel="D0DIRECT", text="hi")
    await client.chat_startStream(channel="D0DIRECT", thread_ts=str(dm_parent["ts"]))


async def test_a_stopped_or_unknown_stream_takes_no_more_text(fake: SlackFake) -> None:
    client = client_for(fake)
    thread = await parent(fake, client)
    started = await client.chat_startStream(channel=fake.channel_id, thread_ts=thread, **RECIPIENT)
    ts = str(started["ts"])
    empty = client.chat_appendStream(channel=fake.channel_id, ts=ts, markdown_text="")
    assert await error_of(empty) == "invalid_arguments"
    too_long = "x" * (MARKDOWN_LIMIT + 1)
    long = client.chat_appendStream(channel=fake.channel_id, ts=ts, markdown_text=too_long)
    assert await error_of(long) == "invalid_arguments"
    await client.chat_stopStream(channel=fake.channel_id, ts=ts)
    late = client.chat_appendStream(channel=fake.channel_id, ts=ts, markdown_text="more")
    assert await error_of(late) == "message_not_in_streaming_state"
    unknown = client.chat_appendStream(channel=fake.channel_id, ts="1.000001", markdown_text="x")
    assert await error_of(unknown) == "message_not_found"
    # A stopped stream is an ordinary message: chat.update replaces its text.
    await client.chat_update(channel=fake.channel_id, ts=ts, text="replaced")
    assert fake.message(fake.channel_id, ts).text == "replaced"


async def test_each_streaming_method_has_its_own_budget() -> None:
    """appendStream is Tier 4 (here scaled down to 3 a minute); chat.update keeps its own."""
    async with SlackFake(stream_limits={"chat.appendStream": 3}) as fake:
        await _budgeted(fake)


async def _budgeted(fake: SlackFake) -> None:
    client = client_for(fake)
    thread = await parent(fake, client)
    started = await client.chat_startStream(channel=fake.channel_id, thread_ts=thread, **RECIPIENT)
    ts = str(started["ts"])
    for word in ("a", "b", "c"):
        await client.chat_appendStream(channel=fake.channel_id, ts=ts, markdown_text=word)
    with pytest.raises(SlackApiError) as caught:
        await client.chat_appendStream(channel=fake.channel_id, ts=ts, markdown_text="d")
    assert caught.value.response.status_code == 429
    assert int(caught.value.response.headers["Retry-After"]) >= 1
    assert fake.ratelimited["chat.appendStream"] == 1
    await client.chat_stopStream(channel=fake.channel_id, ts=ts, markdown_text="!")
    await client.chat_update(channel=fake.channel_id, ts=ts, text="abc!")
    assert fake.message(fake.channel_id, ts).text == "abc!"


async def test_an_expired_stream_falls_back_to_chat_update() -> None:
    async with SlackFake(stream_ttl=0.0) as fake:
        client = client_for(fake)
        thread = await parent(fake, client)
        started = await client.chat_startStream(
            channel=fake.channel_id, thread_ts=thread, markdown_text="Once", **RECIPIENT
        )
        ts = str(started["ts"])
        late = client.chat_appendStream(channel=fake.channel_id, ts=ts, markdown_text=" upon")
        assert await error_of(late) == "message_not_in_streaming_state"
        await client.chat_update(channel=fake.channel_id, ts=ts, text="Once upon a time.")
        assert fake.message(fake.channel_id, ts).text == "Once upon a time."
