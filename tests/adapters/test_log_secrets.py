"""No secret in any log line at DEBUG: a real discord.py client against the fake Discord and the
real bolt app against the fake Slack, every logger at DEBUG, the whole output grepped."""

from __future__ import annotations

import io
import logging
import re
from collections.abc import Callable, Iterator

import pytest

# isort: off
from tests.adapters.discord_harness import Bot, settings_maker  # first: silences audioop warning

# isort: on
from adapters.discord_bot.client import TwinbotClient
from bot.config import Settings
from bot.ops.logs import secrets_of
from bot.ops.redact import MASK, install_redaction, remove_redaction
from bot.runtime import open_runtime
from tests.adapters.discord_harness import FAST_BUDGET, FAST_FAKE
from tests.adapters.slack_harness import slack_bot
from tests.fakes.discord_fake import DiscordFake, pointed_at, running_client
from tests.fakes.ollama_fake import OllamaFake
from tests.vocabularies import VOCABULARIES

# Shaped like a real bot token (base64 user id . timestamp . HMAC); the fake accepts any.
DISCORD_TOKEN = "MTIzNDU2Nzg5MDEyMzQ1Njc4OQ.GaBcDe.abcdefghijklmnopqrstuvwxyz0123456789AB"
LOUD = ("discord", "discord.http", "discord.gateway", "discord.webhook.async_",
        "discord.client", "slack_bolt", "slack_sdk", "aiohttp", "httpx", "httpcore", "asyncio",
        "aiosqlite")  # fmt: skip


@pytest.fixture
def debug_log() -> Iterator[io.StringIO]:
    """Everything logged by anyone at DEBUG, as an operator's handler would write it."""
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    saved = root.level, {name: logging.getLogger(name).level for name in LOUD}
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    for name in LOUD:
        logging.getLogger(name).setLevel(logging.DEBUG)
    try:
        yield out
    finally:
        root.removeHandler(handler)
        root.setLevel(saved[0])
        for name, level in saved[1].items():
            logging.getLogger(name).setLevel(level)
        remove_redaction()


@pytest.fixture
def bot_settings(
    make_settings: Callable[..., Settings], ollama: OllamaFake
) -> Callable[..., Settings]:
    return settings_maker(make_settings, ollama.url, discord_edit_interval=0.2)


async def test_discord_debug_log_holds_no_token_and_no_interaction_token(
    bot_settings: Callable[..., Settings], debug_log: io.StringIO
) -> None:
    settings = bot_settings(discord_token=DISCORD_TOKEN)
    install_redaction(secrets_of(settings))
    async with DiscordFake(**FAST_FAKE) as fake, open_runtime(settings, VOCABULARIES) as runtime:
        client = TwinbotClient(runtime, budget=FAST_BUDGET, guild_ready_timeout=0.05)
        async with pointed_at(fake), running_client(client, token=DISCORD_TOKEN):
            bot = Bot(fake, client, runtime)
            answered = [
                await bot.compare("hello"),
                await bot.compare(""),
            ]  # a run, a refusal
            await bot.settled()
            board = await fake.dispatch_slash_command("leaderboard", {})  # a webhook followup
            await fake.wait_for_request(lambda r: r.path.startswith(f"/webhooks/{fake.app_id}/"))
            answered.append(board)
    log = debug_log.getvalue()
    tokens = [rec.token for rec in fake.interactions.values()]
    assert len(tokens) == 3 and all(rec.acked for rec in answered)
    # The lines that used to carry them are still there, redacted.
    assert f"/webhooks/{fake.app_id}/{MASK}" in log, "no webhook call was logged"
    assert f"'token': '{MASK}'" in log, "no INTERACTION_CREATE was logged"
    for secret in (DISCORD_TOKEN, *tokens):
        assert secret not in log
        assert secret[:24] not in log  # nor a recognisable piece


async def test_slack_debug_log_holds_no_token_no_secret_and_no_response_url(
    make_settings: Callable[..., Settings], ollama: OllamaFake, debug_log: io.StringIO
) -> None:
    settings = make_settings(ollama_host=ollama.url)
    for socket in (False, True):
        async with slack_bot(settings, socket=socket) as slack:
            fake = slack.fake
            install_redaction([fake.bot_token, fake.app_token, fake.signing_secret])
            if socket:
                await fake.wait_ack(await fake.send_slash_command("/compare", "hello"))
                await fake.wait_for(lambda: bool(slack.parents()))
            else:
                assert (await slack.command("hello")).status == 200
                await slack.react("thumbsup", "1.000")
            await slack.settled()
    log = debug_log.getvalue()
    assert "chat.postMessage" in log, "the web client's calls were not logged"
    for secret in (fake.bot_token, fake.app_token, fake.signing_secret, fake.verification_token):
        assert secret not in log
    # response_urls (the fake's are shaped like Slack's: /commands/{team}/{id}/{secret})
    assert not re.search(rf"/commands(/|%2F){fake.team_id}(/|%2F)\d+(/|%2F)[0-9a-f]{{32}}", log)
