"""`twinbot run slack` serves /healthz (with a "slack" check) and /metrics beside the bot."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import aiohttp
import pytest
from slack_sdk.web.async_client import AsyncWebClient

from adapters.slack_app.health import SlackHealth
from adapters.slack_app.runner import serve
from bot.config import Settings
from bot.domain import Role
from bot.store.sqlite import Store
from tests.adapters.test_slack_runner import free_port, slack_settings
from tests.conftest import SMALL_PAIR
from tests.fakes.ollama_fake import OllamaFake, Script
from tests.fakes.slack_fake import SlackFake
from tests.vocabularies import VOCABULARIES


async def get(url: str) -> tuple[int, str]:
    async with aiohttp.ClientSession() as http, http.get(url) as response:
        return response.status, await response.text()


@asynccontextmanager
async def serving(settings: Settings) -> AsyncIterator[str]:
    """serve() until the block ends; yields the ops server's address once it answers."""
    stop = asyncio.Event()
    server = asyncio.create_task(serve(settings, stop))
    url = f"http://127.0.0.1:{settings.ops_port}"

    async def up() -> bool:
        try:
            status, body = await get(url + "/healthz")
        except aiohttp.ClientConnectionError:
            return False
        return '"slack"' in body and status in (200, 503) and "not started" not in body

    try:
        for _ in range(500):
            if server.done():
                server.result()  # raise what stopped it
            if await up():
                break
            await asyncio.sleep(0.02)
        yield url
    finally:
        stop.set()
        await asyncio.wait_for(server, 10)


@pytest.mark.parametrize("mode", ["socket", "http"])
async def test_healthz_reports_slack_and_metrics_count_its_429s(
    make_settings: Callable[..., Settings], ollama: OllamaFake, mode: str
):
    async with SlackFake() as fake:
        extra: dict[str, Any] = (
            {"slack_app_token": fake.app_token}
            if mode == "socket"
            else {"slack_signing_secret": fake.signing_secret, "slack_host": "127.0.0.1",
                  "slack_port": free_port()}
        )  # fmt: skip
        settings = slack_settings(
            make_settings, fake, ollama, ops_host="127.0.0.1", ops_port=free_port(), **extra
        )
        async with serving(settings) as url:
            status, body = await get(url + "/healthz")
            checks = json.loads(body)["checks"]
            assert status == 200, body
            want = "Socket Mode" if mode == "socket" else "HTTP mode"
            assert checks["slack"]["ok"] is True
            detail = checks["slack"]["detail"]
            assert detail.startswith(f"{want} connected as @twinbot; auth.test ok"), detail
            assert checks["database"]["ok"] and checks["ollama"]["ok"]
            _, metrics = await get(url + "/metrics")
            assert 'twinbot_platform_rate_limited_total{platform="slack"} 0.0' in metrics


async def test_the_slack_check_fails_when_disconnected_or_the_token_is_refused():
    async with SlackFake() as fake:
        client = AsyncWebClient(token=fake.bot_token, base_url=fake.api_url)
        health = SlackHealth(client, recheck_after=0)
        with pytest.raises(Exception, match="not started: not connected"):
            await health.check()
        connected = True

        async def is_connected() -> bool:
            return connected

        health.watch("Socket Mode", is_connected)
        assert (await health.check()).startswith("Socket Mode connected as @twinbot")
        fake.fail_next("auth.test", error="token_revoked")
        with pytest.raises(Exception, match=r"auth.test failed: token_revoked"):
            await health.check()
        connected = False
        with pytest.raises(Exception, match="Socket Mode: not connected"):
            await health.check()


async def test_a_busy_ops_port_is_logged_and_the_bot_serves_anyway(
    make_settings: Callable[..., Settings], ollama: OllamaFake, caplog: pytest.LogCaptureFixture
):
    async with SlackFake() as fake:
        blocker = await asyncio.start_server(lambda r, w: None, "127.0.0.1", 0)
        port = blocker.sockets[0].getsockname()[1]
        try:
            settings = slack_settings(
                make_settings, fake, ollama, slack_app_token=fake.app_token,
                ops_host="127.0.0.1", ops_port=port,
            )  # fmt: skip
            stop = asyncio.Event()
            server = asyncio.create_task(serve(settings, stop))
            await fake.wait_for(lambda: fake.connected)
            ack = await fake.wait_ack(await fake.send_slash_command("/compare", "hello"))
            assert not ack.late
            stop.set()
            await asyncio.wait_for(server, 10)
        finally:
            blocker.close()
            await blocker.wait_closed()
        assert f"the health and metrics server could not start on 127.0.0.1:{port}" in caplog.text


async def test_sigterm_past_the_grace_shows_and_stores_the_comparison_as_interrupted(
    make_settings: Callable[..., Settings], ollama: OllamaFake
):
    ollama.script(SMALL_PAIR[0], Script(tokens=[f"b{n} " for n in range(200)], delay=0.05))
    async with SlackFake() as fake:
        settings = slack_settings(
            make_settings, fake, ollama, slack_app_token=fake.app_token,
            ops_host="127.0.0.1", ops_port=free_port(), shutdown_grace=0.3,
        )  # fmt: skip
        async with serving(settings):
            await fake.send_slash_command("/compare", "long")
            await fake.wait_for(
                lambda: any("b3 " in c.params["text"] for c in fake.calls_to("chat.update"))
            )
        parent = fake.calls_to("chat.postMessage")[0].response["ts"]
        base_reply = fake.thread(fake.channel_id, parent)[1]
        assert base_reply.text.endswith(":octagonal_sign: stopped before the model finished")
    async with await Store.open(settings.database_path, vocabularies=VOCABULARIES) as store:
        comparison = await store.comparison(1)
        assert comparison is not None and comparison["status"] == "interrupted"
        outputs = await store.outputs(1)
        assert outputs[Role.BASE]["status"] == "cancelled"
        assert outputs[Role.BASE]["text"].startswith("b0 b1 b2 b3 ")
