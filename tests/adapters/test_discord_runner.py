"""`twinbot run discord`: the token, a rejected login, and a clean stop on SIGTERM."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import signal
import socket
from collections.abc import AsyncIterator, Callable

import aiohttp
import pytest
from aiohttp import web

# isort: off
from tests.adapters.discord_harness import FAST_BUDGET, FAST_FAKE  # first: audioop warning

# isort: on
import discord

from adapters.discord_bot.client import TwinbotClient
from adapters.discord_bot.health import DiscordUnhealthy, gateway_check
from adapters.discord_bot.runner import run, serve
from bot.chat.admission import RESTARTING
from bot.chat.service import NOT_STARTED as NOT_STARTED_RESTART
from bot.config import Settings
from bot.runtime import open_runtime
from bot.store.sqlite import Store
from tests.adapters.discord_harness import settings_maker
from tests.conftest import SMALL_PAIR
from tests.fakes.discord_fake import (
    FLAG_EPHEMERAL,
    DiscordFake,
    InteractionRecord,
    StoredMessage,
    pointed_at,
)
from tests.fakes.ollama_fake import OllamaFake, Script
from tests.vocabularies import VOCABULARIES

OPTIONS = {"budget": FAST_BUDGET, "guild_ready_timeout": 0.05}


@pytest.fixture
def bot_settings(
    make_settings: Callable[..., Settings], ollama: OllamaFake
) -> Callable[..., Settings]:
    return settings_maker(make_settings, ollama.url, discord_edit_interval=0.2, ops_port=0)


async def test_a_missing_token_is_one_line_naming_the_variable(
    bot_settings: Callable[..., Settings], capsys: pytest.CaptureFixture[str]
) -> None:
    assert await run(bot_settings()) == 2
    assert await run(bot_settings(discord_token="  ")) == 2
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) == 2 and all(
        line.startswith("twinbot: TWINBOT_DISCORD_TOKEN is not set") for line in lines
    )


@pytest.fixture
async def rejecting_discord(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[None]:
    """A Discord that answers every call as it answers a bad token: 401 Unauthorized."""

    async def unauthorized(request: web.Request) -> web.Response:
        body = json.dumps({"message": "401: Unauthorized", "code": 0}).encode()
        return web.Response(status=401, body=body, headers={"Content-Type": "application/json"})

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", unauthorized)
    runner = web.AppRunner(app, access_log=None, handle_signals=False)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    monkeypatch.setattr(discord.http.Route, "BASE", f"http://127.0.0.1:{port}/api/v10")
    yield
    await runner.cleanup()


async def test_a_rejected_token_is_one_line_and_exit_2(
    bot_settings: Callable[..., Settings],
    rejecting_discord: None,
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert await run(bot_settings(discord_token="not-a-token")) == 2
    assert capsys.readouterr().err.splitlines() == [
        "twinbot: Discord rejected TWINBOT_DISCORD_TOKEN: reset the token on the Bot tab of "
        "the developer portal and set the new one"
    ]


async def test_sigterm_stops_the_bot_cleanly(bot_settings: Callable[..., Settings]) -> None:
    async with DiscordFake(**FAST_FAKE) as fake, pointed_at(fake):
        bot = asyncio.create_task(run(bot_settings(discord_token="fake-token")))
        await fake.wait_until(lambda: fake.identify_count == 1, timeout=5)
        os.kill(os.getpid(), signal.SIGTERM)
        assert await asyncio.wait_for(bot, 5) == 0
        await fake.wait_until(lambda: not fake._sockets, timeout=5)  # the gateway was closed
    assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL  # our handler is gone again


async def test_past_the_grace_a_running_comparison_is_interrupted_shown_and_kept(
    bot_settings: Callable[..., Settings], ollama: OllamaFake
) -> None:
    base, instruct = SMALL_PAIR
    ollama.default_script = Script(tokens=["slow "] * 100, delay=0.1)
    settings = bot_settings(shutdown_grace=0.3)
    stop = asyncio.Event()
    async with DiscordFake(**FAST_FAKE) as fake, pointed_at(fake):
        bot = asyncio.create_task(serve(settings, "fake-token", stop, **OPTIONS))
        try:
            await fake.wait_until(lambda: fake.identify_count == 1, timeout=5)
            rec = await fake.dispatch_slash_command("compare", {"prompt": "hi"})
            await fake.wait_for_request(lambda r: r.method == "PATCH", timeout=5)
        finally:
            stop.set()
            assert await asyncio.wait_for(bot, 8) == 0
        both = fake.channel_messages(rec.original_message_id or 0)[-1]
        assert both.content.splitlines() == [
            f"⏹️ **Base `{base}`** was stopped before the model finished.",
            f"⏹️ **Instruct `{instruct}`** was stopped before the model finished.",
        ]
        # Not left to run: the models had 10 s of text to write, the grace was 0.3 s.
        written = both.embeds[0]["description"]
        assert written.startswith("slow slow ") and len(written) < len("slow ") * 100
    async with await Store.open(settings.database_path, vocabularies=VOCABULARIES) as store:
        comparison = await store.comparison(1)
        outputs = await store.outputs(1)
    assert comparison is not None and comparison["status"] == "interrupted"
    assert outputs[next(iter(outputs))]["status"] == "cancelled"
    assert {o["text"] for o in outputs.values()} == {written}


async def test_draining_refuses_new_commands_drops_waiting_ones_and_finishes_running_ones(
    bot_settings: Callable[..., Settings], ollama: OllamaFake
) -> None:
    tokens = [f"w{i} " for i in range(15)]
    ollama.default_script = Script(tokens=tokens, delay=0.1)
    settings = bot_settings(shutdown_grace=20, max_running=1)
    stop = asyncio.Event()
    async with DiscordFake(**FAST_FAKE) as fake, pointed_at(fake):
        bot = asyncio.create_task(serve(settings, "fake-token", stop, **OPTIONS))
        try:
            await fake.wait_until(lambda: fake.identify_count == 1, timeout=5)
            running = await fake.dispatch_slash_command("compare", {"prompt": "first"})
            other = fake.add_user("bob")["id"]
            waiting = await fake.dispatch_slash_command(
                "compare", {"prompt": "second"}, user_id=int(other)
            )
            await fake.wait_for_request(lambda r: r.method == "PATCH", timeout=5)
            stop.set()
            waiting_parent = await parent_of(fake, waiting)
            await fake.wait_until(lambda: "did not run" in waiting_parent.content)
            late = await fake.dispatch_slash_command("pairs")
            late_compare = await fake.dispatch_slash_command("compare", {"prompt": "third"})
            for rec in (late, late_compare):
                answer = await rec.wait_callback()
                assert answer.data is not None and answer.data["flags"] & FLAG_EPHEMERAL
                assert answer.data["content"] == RESTARTING
        finally:
            stop.set()
            assert await asyncio.wait_for(bot, 10) == 0
        assert waiting_parent.content.endswith(NOT_STARTED_RESTART)
        assert "waits for a free place" in waiting_parent.contents[-2]  # it had been told
        both = fake.channel_messages(running.original_message_id or 0)[-1]
        assert both.embeds[0]["description"] == "".join(tokens)  # finished within the grace
    async with await Store.open(settings.database_path, vocabularies=VOCABULARIES) as store:
        first, second = await store.comparison(1), await store.comparison(2)
    assert first is not None and first["status"] == "done"
    assert second is None  # the waiting one never started, so nothing was stored


async def parent_of(fake: DiscordFake, rec: InteractionRecord) -> StoredMessage:
    await rec.wait_callback()
    assert rec.original_message_id is not None
    return fake.message(rec.original_message_id)


async def test_the_ops_server_reports_the_gateway_and_counts_429s(
    bot_settings: Callable[..., Settings],
) -> None:
    settings = bot_settings(ops_port=free_port())
    stop = asyncio.Event()
    url = f"http://127.0.0.1:{settings.ops_port}"
    async with DiscordFake(**FAST_FAKE) as fake, pointed_at(fake), aiohttp.ClientSession() as http:
        bot = asyncio.create_task(serve(settings, "fake-token", stop, **OPTIONS))
        try:
            await fake.wait_until(lambda: fake.identify_count == 1, timeout=5)
            await wait_ready(http, url)
            async with http.get(f"{url}/healthz") as response:
                health = await response.json()
            assert response.status == 200, health
            assert health["checks"]["discord"]["ok"]
            assert health["checks"]["discord"]["detail"].startswith("gateway connected as ")
            async with http.get(f"{url}/metrics") as response:
                metrics = await response.text()
            assert 'twinbot_platform_rate_limited_total{platform="discord"} 0.0' in metrics
        finally:
            stop.set()
            assert await asyncio.wait_for(bot, 8) == 0
        with pytest.raises(aiohttp.ClientConnectionError):  # stopped with the bot
            await http.get(f"{url}/healthz")


async def test_the_discord_check_fails_until_the_gateway_is_up(
    bot_settings: Callable[..., Settings],
) -> None:
    async with open_runtime(bot_settings()) as runtime:
        client = TwinbotClient(runtime)
        check = gateway_check(client)
        with pytest.raises(DiscordUnhealthy, match="not connected to the Discord gateway"):
            await check()
        await client.close()
        with pytest.raises(DiscordUnhealthy, match="closed"):
            await check()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def wait_ready(http: aiohttp.ClientSession, url: str) -> None:
    """Until the health check passes: the client becomes ready just after IDENTIFY."""
    for _ in range(250):
        async with http.get(f"{url}/healthz") as response:
            if response.status == 200:
                return
        await asyncio.sleep(0.02)
    raise AssertionError("the bot never became healthy")


def test_the_cli_finds_the_discord_runner(capsys: pytest.CaptureFixture[str]) -> None:
    from adapters.cli.main import main

    root = logging.getLogger()
    saved = root.handlers[:], root.level
    try:
        assert main(["run", "discord"]) == 2  # no token in the (cleaned) environment
    finally:
        # The CLI points logging at this test's captured stderr, closed once the test ends.
        root.handlers[:], root.level = saved[0], saved[1]
    assert "TWINBOT_DISCORD_TOKEN is not set" in capsys.readouterr().err
