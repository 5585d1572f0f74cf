"""`twinbot run slack`: credentials checked up front, both modes served, a clean shutdown."""

from __future__ import annotations

import asyncio
import signal
import socket
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from adapters.slack_app.runner import SlackSetupError, api_url, credentials, serve
from bot.config import Settings
from tests.adapters.slack_harness import side_output
from tests.fakes.ollama_fake import OllamaFake
from tests.fakes.slack_fake import SlackFake
from tests.waiting import wait_until


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({}, "TWINBOT_SLACK_BOT_TOKEN is not set: copy the Bot User OAuth Token (xoxb-…)"),
        ({"slack_bot_token": "  "}, "TWINBOT_SLACK_BOT_TOKEN is not set"),
        ({"slack_bot_token": "xoxp-user"}, "TWINBOT_SLACK_BOT_TOKEN must be a bot token"),
        (
            {"slack_bot_token": "xoxb-1", "slack_app_token": "xoxb-2"},
            "TWINBOT_SLACK_APP_TOKEN must be an app-level token starting with xapp-",
        ),
        (
            {"slack_bot_token": "xoxb-1"},
            "TWINBOT_SLACK_SIGNING_SECRET is not set: HTTP mode needs it",
        ),
    ],
)
def test_credentials_name_the_variable(
    make_settings: Callable[..., Settings], values: dict[str, str], message: str
):
    with pytest.raises(SlackSetupError) as caught:
        credentials(make_settings(**values))
    assert str(caught.value).startswith(message)
    assert "\n" not in str(caught.value)


def test_credentials_pick_the_mode(make_settings: Callable[..., Settings]):
    socket_mode = credentials(make_settings(slack_bot_token="xoxb-1", slack_app_token="xapp-1"))
    assert socket_mode.socket_mode and socket_mode.signing_secret is None
    http = credentials(make_settings(slack_bot_token="xoxb-1", slack_signing_secret="s"))
    assert not http.socket_mode and http.signing_secret == "s"


def test_api_url_always_ends_in_a_slash(make_settings: Callable[..., Settings]):
    assert api_url(make_settings(slack_api_url="https://slack-gov.com/api")) == (
        "https://slack-gov.com/api/"
    )


def slack_settings(make: Callable[..., Settings], fake: SlackFake, ollama: OllamaFake, **kw: Any):
    values: dict[str, Any] = {
        "ollama_host": ollama.url,
        "slack_api_url": fake.api_url.rstrip("/"),  # the slash is added back
        "slack_bot_token": fake.bot_token,
        "shutdown_grace": 0,
        "ops_host": "127.0.0.1",
        "ops_port": 0,  # the operator's server on a free port
        **kw,
    }
    return make(**values)


async def test_a_rejected_bot_token_stops_start_up(
    make_settings: Callable[..., Settings], ollama: OllamaFake
):
    async with SlackFake() as fake:
        settings = slack_settings(
            make_settings,
            fake,
            ollama,
            slack_bot_token="xoxb-revoked",
            slack_app_token=fake.app_token,
        )
        with pytest.raises(SlackSetupError) as caught:
            await serve(settings, asyncio.Event())
        assert str(caught.value).startswith("Slack rejected TWINBOT_SLACK_BOT_TOKEN (invalid_auth)")
        assert [c.method for c in fake.calls] == ["auth.test"]


async def test_an_unreachable_slack_stops_start_up(
    make_settings: Callable[..., Settings], ollama: OllamaFake
):
    port = free_port()
    settings = make_settings(
        ollama_host=ollama.url, slack_bot_token="xoxb-1", slack_app_token="xapp-1",
        slack_api_url=f"http://127.0.0.1:{port}/api/",
    )  # fmt: skip
    with pytest.raises(SlackSetupError) as caught:
        await serve(settings, asyncio.Event())
    assert str(caught.value).startswith(f"Cannot reach Slack at http://127.0.0.1:{port}/api/")


async def test_a_rejected_app_token_stops_start_up(
    make_settings: Callable[..., Settings], ollama: OllamaFake
):
    async with SlackFake() as fake:
        settings = slack_settings(make_settings, fake, ollama, slack_app_token="xapp-revoked")
        with pytest.raises(SlackSetupError) as caught:
            await serve(settings, asyncio.Event())
        assert str(caught.value).startswith("Slack rejected TWINBOT_SLACK_APP_TOKEN (invalid_auth)")


async def test_socket_mode_serves_until_stopped(
    make_settings: Callable[..., Settings], ollama: OllamaFake
):
    async with SlackFake() as fake:
        settings = slack_settings(make_settings, fake, ollama, slack_app_token=fake.app_token)
        stop = asyncio.Event()
        server = asyncio.create_task(serve(settings, stop))
        await fake.wait_for(lambda: fake.connected)
        ack = await fake.wait_ack(await fake.send_slash_command("/compare", "hello"))
        assert not ack.late

        def both_sides_done() -> bool:
            edits = [c.params["text"] for c in fake.calls_to("chat.update")]
            return sum(":white_check_mark:" in text for text in edits) == 2

        await fake.wait_for(both_sides_done, within=8)
        stop.set()
        await asyncio.wait_for(server, 8)
        assert not fake.connected
        parent = fake.calls_to("chat.postMessage")[0].response["ts"]
        replies = fake.thread(fake.channel_id, parent)[1:]
        assert side_output(replies, "Instruct")[0] == "Hello, world."


async def test_http_mode_serves_signed_requests_until_stopped(
    make_settings: Callable[..., Settings], ollama: OllamaFake
):
    async with SlackFake() as fake:
        port = free_port()
        settings = slack_settings(
            make_settings, fake, ollama, slack_signing_secret=fake.signing_secret,
            slack_host="127.0.0.1", slack_port=port,
        )  # fmt: skip
        stop = asyncio.Event()
        server = asyncio.create_task(serve(settings, stop))
        url = f"http://127.0.0.1:{port}/slack/events"
        async with aiohttp.ClientSession() as http:

            async def post(secret: str | None = None) -> int:
                body, headers = fake.signed_slash_command("/compare", "hello", secret=secret)
                async with http.post(url, data=body, headers=headers) as response:
                    return response.status

            async def listening() -> bool:
                try:
                    async with http.get(url) as response:
                        return response.status == 405  # POST only: it is up
                except aiohttp.ClientConnectionError:
                    return False

            for _ in range(200):
                if await listening():
                    break
                await asyncio.sleep(0.02)
            assert await post(secret="forged") == 401
            assert await post() == 200
            await fake.wait_for(lambda: len(fake.calls_to("chat.postMessage")) == 3)
        stop.set()
        await asyncio.wait_for(server, 8)
        with pytest.raises(OSError):  # the port is closed again
            _, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.close()


async def test_a_port_in_use_stops_start_up(
    make_settings: Callable[..., Settings], ollama: OllamaFake
):
    async with SlackFake() as fake:
        with socket.socket() as taken:
            taken.bind(("127.0.0.1", 0))
            taken.listen()
            port = taken.getsockname()[1]
            settings = slack_settings(
                make_settings, fake, ollama, slack_signing_secret="s",
                slack_host="127.0.0.1", slack_port=port,
            )  # fmt: skip
            with pytest.raises(SlackSetupError) as caught:
                await serve(settings, asyncio.Event())
        assert str(caught.value).startswith(f"Cannot listen on 127.0.0.1:{port}")


# ---- the real command, in a subprocess -----------------------------------------------------


async def twinbot_run_slack(
    env: dict[str, str], tmp_path: Path, *, until: Callable[[], bool] | None = None
) -> tuple[int, str]:
    environment = {
        "PATH": "/usr/bin:/bin",
        "TWINBOT_DATABASE_PATH": str(tmp_path / "slack.sqlite3"),
        "TWINBOT_SHUTDOWN_GRACE": "0",
        "TWINBOT_OPS_PORT": "0",
        **env,
    }
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "adapters.cli", "run", "slack",
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE, env=environment,
    )  # fmt: skip
    if until is not None:
        await wait_until(until, within=15)
        process.send_signal(signal.SIGTERM)
    _, err = await asyncio.wait_for(process.communicate(), timeout=20)
    assert process.returncode is not None
    return process.returncode, err.decode()


async def test_cli_without_a_token_exits_2_with_one_line(tmp_path: Path):
    code, err = await twinbot_run_slack({}, tmp_path)
    assert code == 2
    assert err.splitlines() == [
        "twinbot: TWINBOT_SLACK_BOT_TOKEN is not set: copy the Bot User OAuth Token (xoxb-…) "
        "from your Slack app's OAuth & Permissions page."
    ]


async def test_cli_with_a_rejected_token_exits_2_with_one_line(tmp_path: Path):
    async with SlackFake() as fake:
        code, err = await twinbot_run_slack(
            {
                "TWINBOT_SLACK_BOT_TOKEN": "xoxb-revoked",
                "TWINBOT_SLACK_APP_TOKEN": fake.app_token,
                "TWINBOT_SLACK_API_URL": fake.api_url,
            },
            tmp_path,
        )
    assert code == 2
    [line] = err.splitlines()
    assert line.startswith("twinbot: Slack rejected TWINBOT_SLACK_BOT_TOKEN (invalid_auth)")


async def test_cli_socket_mode_shuts_down_cleanly_on_sigterm(tmp_path: Path, ollama: OllamaFake):
    async with SlackFake() as fake:
        code, err = await twinbot_run_slack(
            {
                "TWINBOT_SLACK_BOT_TOKEN": fake.bot_token,
                "TWINBOT_SLACK_APP_TOKEN": fake.app_token,
                "TWINBOT_SLACK_API_URL": fake.api_url,
                "TWINBOT_OLLAMA_HOST": ollama.url,
            },
            tmp_path,
            until=lambda: fake.connected,
        )
        assert not fake.connected
    assert code == 0, err
    assert "slack: connected in Socket Mode as @twinbot" in err
    assert "slack: stopped" in err
    assert "Traceback" not in err
