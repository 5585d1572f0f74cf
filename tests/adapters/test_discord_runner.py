"""`twinbot run discord`: the token, a rejected login, and a clean stop on SIGTERM."""

from __future__ import annotations

import asyncio
import json
import os
import signal
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
from aiohttp import web

# isort: off
from tests.adapters.discord_harness import FAST_BUDGET, FAST_FAKE  # first: audioop warning

# isort: on
import discord

from adapters.discord_bot import run
from adapters.discord_bot.runner import serve
from bot.config import Settings
from tests.conftest import SMALL_PAIR
from tests.fakes.discord_fake import DiscordFake, pointed_at
from tests.fakes.ollama_fake import OllamaFake, Script


@pytest.fixture
def bot_settings(
    make_settings: Callable[..., Settings], ollama: OllamaFake
) -> Callable[..., Settings]:
    def make(**overrides: Any) -> Settings:
        return make_settings(
            **{"ollama_host": ollama.url, "discord_edit_interval": 0.2, **overrides}
        )

    return make


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


async def test_stopping_mid_comparison_shows_and_keeps_what_was_written(
    bot_settings: Callable[..., Settings], ollama: OllamaFake
) -> None:
    base, instruct = SMALL_PAIR
    ollama.default_script = Script(tokens=["slow "] * 100, delay=0.1)
    settings = bot_settings()
    stop = asyncio.Event()
    async with DiscordFake(**FAST_FAKE) as fake, pointed_at(fake):
        options = {"budget": FAST_BUDGET, "guild_ready_timeout": 0.05}
        bot = asyncio.create_task(serve(settings, "fake-token", stop, **options))
        try:
            await fake.wait_until(lambda: fake.identify_count == 1, timeout=5)
            rec = await fake.dispatch_slash_command("compare", {"prompt": "hi"})
            await fake.wait_for_request(lambda r: r.method == "PATCH", timeout=5)
        finally:
            stop.set()
            stopped_at = asyncio.get_running_loop().time()
            assert await asyncio.wait_for(bot, 8) == 0
        # Cancelled at once, not left to run: the models had 10 s of text still to write.
        assert asyncio.get_running_loop().time() - stopped_at < 2.0
        both = fake.channel_messages(rec.original_message_id or 0)[-1]
        assert both.content.splitlines() == [
            f"⏹️ **Base `{base}`** was stopped before the model finished.",
            f"⏹️ **Instruct `{instruct}`** was stopped before the model finished.",
        ]
        written = both.embeds[0]["description"]
        assert written.startswith("slow slow ") and len(written) < len("slow ") * 100
    from bot.store import Store

    async with await Store.open(settings.database_path) as store:
        comparison = await store.comparison(1)
        outputs = await store.outputs(1)
    assert comparison is not None and comparison["status"] == "interrupted"
    assert outputs[next(iter(outputs))]["status"] == "cancelled"
    assert {o["text"] for o in outputs.values()} == {written}


def test_the_cli_finds_the_discord_runner(capsys: pytest.CaptureFixture[str]) -> None:
    from bot.cli import main

    assert main(["run", "discord"]) == 2  # no token in the (cleaned) environment
    assert "TWINBOT_DISCORD_TOKEN is not set" in capsys.readouterr().err
