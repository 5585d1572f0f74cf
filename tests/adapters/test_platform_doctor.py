"""`twinbot doctor` checks the Discord and Slack tokens with the platforms' own auth calls."""

from __future__ import annotations

# isort: off
from tests.fakes.discord_fake import DiscordFake, pointed_at  # first: silences audioop

# isort: on
import socket
from collections.abc import Callable

from adapters.cli.wiring import PLATFORM_CHECKS
from bot.config import Settings
from bot.ops.doctor import Check, run_checks
from tests.fakes.ollama_fake import OllamaFake
from tests.fakes.slack_fake import SlackFake


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def named(checks: list[Check], prefix: str) -> list[Check]:
    return [check for check in checks if check.name.startswith(prefix)]


async def test_a_discord_token_discord_accepts_passes(make_settings, ollama: OllamaFake):
    async with DiscordFake() as fake, pointed_at(fake):
        fake.bot_token = "right-token"
        settings = make_settings(ollama_host=ollama.url, discord_token="right-token")
        [check] = named(await run_checks(settings, PLATFORM_CHECKS), "discord")
    assert check.ok, check.detail
    assert check.detail == f"accepted: logged in as twinbot (id {fake.bot_id})"
    assert [r.path for r in fake.requests] == ["/users/@me"]


async def test_a_discord_token_discord_rejects_is_named_with_its_fix(
    make_settings: Callable[..., Settings], ollama: OllamaFake
):
    async with DiscordFake() as fake, pointed_at(fake):
        fake.bot_token = "right-token"
        settings = make_settings(ollama_host=ollama.url, discord_token="stale-token")
        [check] = named(await run_checks(settings, PLATFORM_CHECKS), "discord")
    assert not check.ok
    assert check.detail == "Discord rejected TWINBOT_DISCORD_TOKEN (401)"
    assert check.fix.startswith("reset the token on the Bot tab")


async def test_without_tokens_no_platform_is_checked(make_settings, ollama: OllamaFake):
    checks = await run_checks(make_settings(ollama_host=ollama.url), PLATFORM_CHECKS)
    assert named(checks, "discord") == [] and named(checks, "slack") == []


async def test_slack_tokens_are_checked_with_auth_test_and_connections_open(
    make_settings, ollama: OllamaFake
):
    async with SlackFake() as fake:
        settings = make_settings(
            ollama_host=ollama.url,
            slack_api_url=fake.api_url,
            slack_bot_token=fake.bot_token,
            slack_app_token=fake.app_token,
        )
        bot, app = named(await run_checks(settings, PLATFORM_CHECKS), "slack")
    assert (bot.name, bot.ok) == ("slack bot token", True)
    assert bot.detail == f"accepted by {fake.api_url}: the bot is @twinbot"
    assert (app.name, app.ok) == ("slack app token", True)
    assert [call.method for call in fake.calls] == ["auth.test", "apps.connections.open"]


async def test_slack_tokens_slack_rejects_fail_doctor(make_settings, ollama: OllamaFake):
    async with SlackFake() as fake:
        wrong_bot = make_settings(
            ollama_host=ollama.url, slack_api_url=fake.api_url, slack_bot_token="xoxb-revoked"
        )
        [bot] = named(await run_checks(wrong_bot, PLATFORM_CHECKS), "slack")
        wrong_app = make_settings(
            ollama_host=ollama.url,
            slack_api_url=fake.api_url,
            slack_bot_token=fake.bot_token,
            slack_app_token="xapp-revoked",
        )
        _, app = named(await run_checks(wrong_app, PLATFORM_CHECKS), "slack")
    assert not bot.ok and "Slack rejected TWINBOT_SLACK_BOT_TOKEN (invalid_auth)" in bot.detail
    assert not app.ok and "Slack rejected TWINBOT_SLACK_APP_TOKEN (invalid_auth)" in app.detail


async def test_discord_out_of_reach_is_one_failed_check(make_settings, ollama: OllamaFake):
    fake = DiscordFake()  # never started: nothing listens on its port
    fake.port = closed_port()
    with pointed_at(fake):
        settings = make_settings(ollama_host=ollama.url, discord_token="any")
        [check] = named(await run_checks(settings, PLATFORM_CHECKS), "discord")
    assert not check.ok
    assert check.detail.startswith(f"cannot reach Discord at {fake.rest_base}")
