"""A real bolt AsyncApp and slack_sdk clients against the Slack fake, in both modes."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestClient, TestServer
from slack_bolt.adapter.socket_mode.aiohttp import AsyncSocketModeHandler
from slack_bolt.async_app import AsyncApp
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_async_handlers import AsyncRateLimitErrorRetryHandler
from slack_sdk.web.async_client import AsyncWebClient

from .slack_fake import SlackFake, sign


@dataclass
class Bot:
    app: AsyncApp
    done: asyncio.Event = field(default_factory=asyncio.Event)
    errors: list[BaseException] = field(default_factory=list)
    reactions: list[dict[str, Any]] = field(default_factory=list)
    reacted: asyncio.Event = field(default_factory=asyncio.Event)


def build_bot(fake: SlackFake) -> Bot:
    """A miniature /compare: ack, parent message, thread reply, stream an edit."""
    client = AsyncWebClient(token=fake.bot_token, base_url=fake.api_url)
    bot = Bot(AsyncApp(signing_secret=fake.signing_secret, client=client))

    @bot.app.command("/compare")
    async def compare(
        ack: Any, command: dict[str, Any], client: AsyncWebClient, respond: Any
    ) -> None:
        await ack()
        try:
            channel = command["channel_id"]
            parent = await client.chat_postMessage(channel=channel, text=f"> {command['text']}")
            reply = await client.chat_postMessage(channel=channel, thread_ts=parent["ts"], text="…")
            await client.chat_update(channel=channel, ts=reply["ts"], text="base: done")
            await respond("comparison started")
        except BaseException as e:  # surfaced by the test instead of bolt's log
            bot.errors.append(e)
        finally:
            bot.done.set()

    @bot.app.event("reaction_added")
    async def on_reaction(event: dict[str, Any]) -> None:
        bot.reactions.append(event)
        bot.reacted.set()

    return bot


def assert_compare_ran(fake: SlackFake, bot: Bot) -> None:
    assert bot.errors == []
    methods = [c.method for c in fake.calls if c.method != "apps.connections.open"]
    assert methods == ["auth.test", "chat.postMessage", "chat.postMessage", "chat.update"]
    parent = fake.calls_to("chat.postMessage")[0].response["ts"]
    assert fake.thread_texts(fake.channel_id, parent) == ["> hello twins", "base: done"]
    reply = fake.thread(fake.channel_id, parent)[1]
    assert [text for text, _ in reply.history] == ["…", "base: done"]
    assert all(c.token == fake.bot_token for c in fake.calls if c.method != "apps.connections.open")
    assert [r.body["text"] for r in fake.responses] == ["comparison started"]


@asynccontextmanager
async def http_mode(bot: Bot) -> AsyncIterator[TestClient[Any, Any]]:
    server = TestServer(bot.app.web_app(path="/slack/events"), host="127.0.0.1")
    async with TestClient(server) as http:
        yield http


@asynccontextmanager
async def socket_mode(fake: SlackFake, bot: Bot) -> AsyncIterator[AsyncSocketModeHandler]:
    handler = AsyncSocketModeHandler(bot.app, fake.app_token)
    await handler.connect_async()
    try:
        yield handler
    finally:
        await handler.close_async()


# ---- (a) HTTP mode ---------------------------------------------------------------------------


@pytest.mark.asyncio
async def test_http_slash_command_signed() -> None:
    async with SlackFake() as fake:
        bot = build_bot(fake)
        async with http_mode(bot) as http:
            body, headers = fake.signed_slash_command("/compare", "hello twins")
            started = time.monotonic()
            resp = await http.post("/slack/events", data=body, headers=headers)
            assert resp.status == 200
            assert time.monotonic() - started < 3.0  # Slack's ack deadline
            await asyncio.wait_for(bot.done.wait(), 5)
        assert_compare_ran(fake, bot)


@pytest.mark.asyncio
async def test_http_bad_signature_and_stale_timestamp_are_401() -> None:
    async with SlackFake() as fake:
        bot = build_bot(fake)
        async with http_mode(bot) as http:
            body, headers = fake.signed_slash_command(secret="not-the-secret")
            assert (await http.post("/slack/events", data=body, headers=headers)).status == 401
            stale = int(time.time()) - 301
            body, headers = fake.signed_slash_command(timestamp=stale)
            assert (await http.post("/slack/events", data=body, headers=headers)).status == 401
            body, headers = fake.signed_slash_command()
            tampered = body.replace("command=%2Fcompare", "command=%2Fother")
            assert (await http.post("/slack/events", data=tampered, headers=headers)).status == 401
        assert fake.calls == []  # rejected before bolt ever called Slack


@pytest.mark.asyncio
async def test_http_reaction_event() -> None:
    async with SlackFake() as fake:
        bot = build_bot(fake)
        async with http_mode(bot) as http:
            body, headers = fake.signed_event(fake.reaction_event("+1", "1700000000.000100"))
            assert (await http.post("/slack/events", data=body, headers=headers)).status == 200
            await asyncio.wait_for(bot.reacted.wait(), 5)
        assert bot.reactions[0]["reaction"] == "+1"


def test_sign_matches_slack_test_vector() -> None:
    # From slack_sdk's signature tests (see /work/shared/fixtures/slack/signature.test_vector.json)
    body = (
        "token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id="
        "G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-"
        "collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F3977"
        "00885554%2F96rGlfmibIGlgcZRskXaIFfN&trigger_id=398738663015.47445629121.803a0bc887a14d1"
        "0d2c447fce8b6703c"
    )
    headers = sign("8f742231b10e8888abcd99yyyzzz85a5", body, 1531420618)
    assert headers["X-Slack-Signature"] == (
        "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503"
    )


# ---- (b) Socket Mode -------------------------------------------------------------------------


@pytest.mark.asyncio
async def test_socket_mode_slash_command_acked_and_handled() -> None:
    async with SlackFake() as fake:
        bot = build_bot(fake)
        async with socket_mode(fake, bot):
            envelope_id = await fake.send_slash_command("/compare", "hello twins")
            ack = await fake.wait_ack(envelope_id)
            assert not ack.late
            assert ack.payload is None  # a bare ack() sends {"envelope_id": ...} only
            await asyncio.wait_for(bot.done.wait(), 5)
        assert_compare_ran(fake, bot)
        assert fake.calls[0].method == "apps.connections.open"
        assert fake.calls[0].token == fake.app_token


@pytest.mark.asyncio
async def test_socket_mode_reaction_event_and_self_events_ignored() -> None:
    async with SlackFake() as fake:
        bot = build_bot(fake)
        async with socket_mode(fake, bot):
            own = await fake.send_event(fake.reaction_event("eyes", "1.1", user=fake.bot_user_id))
            await fake.wait_ack(own)  # acked by bolt's self-event filter, never dispatched
            theirs = await fake.send_event(fake.reaction_event("+1", "1700000000.000100"))
            await fake.wait_ack(theirs)
            await asyncio.wait_for(bot.reacted.wait(), 5)
        assert [e["reaction"] for e in bot.reactions] == ["+1"]
        assert bot.reactions[0]["item"]["ts"] == "1700000000.000100"


@pytest.mark.asyncio
async def test_socket_mode_reconnects_after_disconnect() -> None:
    async with SlackFake() as fake:
        bot = build_bot(fake)
        async with socket_mode(fake, bot):
            await fake.wait_for(lambda: fake.connected)
            await fake.send_disconnect()
            await fake.wait_for(lambda: len(fake.calls_to("apps.connections.open")) == 2)
            envelope_id = await fake.send_slash_command("/compare", "hello twins")
            await fake.wait_ack(envelope_id)
            await asyncio.wait_for(bot.done.wait(), 5)
        assert bot.errors == []


# ---- (c) rate limits ---------------------------------------------------------------------------


@pytest.mark.asyncio
async def test_update_budget_429_then_retry_handler_succeeds() -> None:
    async with SlackFake(update_limit=2, update_window=1.0) as fake:
        plain = AsyncWebClient(token=fake.bot_token, base_url=fake.api_url)
        ts = (await plain.chat_postMessage(channel=fake.channel_id, text="0"))["ts"]
        for n in (1, 2):
            await plain.chat_update(channel=fake.channel_id, ts=ts, text=str(n))
        with pytest.raises(SlackApiError) as err:
            await plain.chat_update(channel=fake.channel_id, ts=ts, text="3")
        assert err.value.response.status_code == 429
        assert err.value.response["error"] == "ratelimited"
        assert err.value.response.headers["Retry-After"] == "1"

        retrying = AsyncWebClient(
            token=fake.bot_token,
            base_url=fake.api_url,
            retry_handlers=[AsyncRateLimitErrorRetryHandler(max_retry_count=2)],
        )
        resp = await retrying.chat_update(channel=fake.channel_id, ts=ts, text="final")
        assert resp["ok"] and resp["text"] == "final"
        assert fake.ratelimited["chat.update"] == 2  # the plain one and the retried one
        assert fake.message(fake.channel_id, ts).text == "final"
        assert [t for t, _ in fake.message(fake.channel_id, ts).history] == ["0", "1", "2", "final"]


@pytest.mark.asyncio
async def test_post_message_burst_is_per_channel() -> None:
    async with SlackFake(post_rate=1.0, post_burst=2) as fake:
        fake.add_channel("C0OTHER")
        client = AsyncWebClient(token=fake.bot_token, base_url=fake.api_url)
        for n in range(2):
            await client.chat_postMessage(channel=fake.channel_id, text=str(n))
        with pytest.raises(SlackApiError) as err:
            await client.chat_postMessage(channel=fake.channel_id, text="too fast")
        assert err.value.response.status_code == 429
        await client.chat_postMessage(channel="C0OTHER", text="own budget")
        assert fake.ratelimited_total == 1


@pytest.mark.asyncio
async def test_fail_next_switches() -> None:
    async with SlackFake() as fake:
        client = AsyncWebClient(token=fake.bot_token, base_url=fake.api_url)
        fake.fail_next("chat.postMessage", status=503)
        fake.fail_next("chat.postMessage", error="fatal_error")
        fake.fail_next("chat.postMessage", status=429, retry_after=7)
        statuses = []
        for _ in range(3):
            with pytest.raises(SlackApiError) as err:
                await client.chat_postMessage(channel=fake.channel_id, text="x")
            statuses.append((err.value.response.status_code, err.value.response["error"]))
        assert statuses == [(503, "internal_error"), (200, "fatal_error"), (429, "ratelimited")]
        assert err.value.response.headers["Retry-After"] == "7"
        assert (await client.chat_postMessage(channel=fake.channel_id, text="x"))["ok"]
        assert fake.ratelimited_total == 1


# ---- (d) what Slack rejects --------------------------------------------------------------------


async def slack_error(call: Any) -> str:
    with pytest.raises(SlackApiError) as err:
        await call
    return str(err.value.response["error"])


@pytest.mark.asyncio
async def test_slack_errors_surface_as_slack_api_error() -> None:
    async with SlackFake() as fake:
        client = AsyncWebClient(token=fake.bot_token, base_url=fake.api_url)
        ch = fake.channel_id
        ok = await client.chat_postMessage(channel=ch, text="x" * 40_000)
        assert ok["ok"]
        assert await slack_error(client.chat_postMessage(channel=ch, text="x" * 40_001)) == (
            "msg_too_long"
        )
        too_long = client.chat_update(channel=ch, ts=ok["ts"], text="y" * 40_001)
        assert await slack_error(too_long) == "msg_too_long"
        fake.add_channel("C0NOTIN", member=False)
        assert await slack_error(client.chat_postMessage(channel="C0NOTIN", text="hi")) == (
            "not_in_channel"
        )
        assert await slack_error(client.chat_postMessage(channel="C0NOPE", text="hi")) == (
            "channel_not_found"
        )
        assert await slack_error(client.chat_update(channel=ch, ts="1.000001", text="hi")) == (
            "message_not_found"
        )
        section = [{"type": "section", "text": {"type": "mrkdwn", "text": "z" * 3_001}}]
        assert await slack_error(client.chat_postMessage(channel=ch, text="t", blocks=section)) == (
            "invalid_blocks"
        )
        # raw api_call: chat_postMessage itself warns when text is missing
        no_text = client.api_call("chat.postMessage", json={"channel": ch})
        assert await slack_error(no_text) == "no_text"
        bad = AsyncWebClient(token="xoxb-wrong", base_url=fake.api_url)
        assert await slack_error(bad.auth_test()) == "invalid_auth"
        assert await slack_error(client.api_call("chat.frobnicate")) == "unknown_method"
        assert fake.calls[-1].method == "chat.frobnicate"
        assert fake.message(ch, ok["ts"]).history == [("x" * 40_000, None)]  # nothing changed


@pytest.mark.asyncio
async def test_reactions_form_params_and_state() -> None:
    async with SlackFake() as fake:
        client = AsyncWebClient(token=fake.bot_token, base_url=fake.api_url)
        ts = (await client.chat_postMessage(channel=fake.channel_id, text="vote"))["ts"]
        await client.reactions_add(channel=fake.channel_id, timestamp=ts, name="one")
        assert (
            await slack_error(
                client.reactions_add(channel=fake.channel_id, timestamp=ts, name="one")
            )
            == "already_reacted"
        )
        await client.reactions_remove(channel=fake.channel_id, timestamp=ts, name="one")
        assert fake.message(fake.channel_id, ts).reactions == []
        await client.chat_delete(channel=fake.channel_id, ts=ts)
        assert fake.thread(fake.channel_id, ts) == []
        assert fake.calls_to("reactions.add")[0].params == {
            "channel": fake.channel_id,
            "timestamp": ts,
            "name": "one",
        }


@pytest.mark.asyncio
async def test_form_body_with_token_field_and_json_string_blocks() -> None:
    async with SlackFake() as fake, aiohttp.ClientSession() as http:
        blocks = [{"type": "section", "text": {"type": "mrkdwn", "text": "hi"}}]
        form = {
            "token": fake.bot_token,
            "channel": fake.channel_id,
            "text": "hi",
            "blocks": json.dumps(blocks),
        }
        async with http.post(fake.api_url + "chat.postMessage", data=form) as resp:
            body = await resp.json()
        assert body["ok"], body
        assert fake.message(fake.channel_id, body["ts"]).blocks == blocks
        assert fake.calls[-1].token == fake.bot_token and "token" not in fake.calls[-1].params
        async with http.post(fake.api_url + "chat.postMessage", data={"text": "x"}) as resp:
            assert (await resp.json())["error"] == "not_authed"
