"""A lone surrogate from the model server on Discord and Slack: the output is shown and stored
with U+FFFD, and the side's footer says one character could not be shown."""

from __future__ import annotations

from collections.abc import Callable

# isort: off
from tests.adapters.discord_harness import discord_bot  # first: silences the audioop warning

# isort: on
from adapters.slack_app.mrkdwn import unescape
from bot.config import Settings
from bot.domain import Role
from tests.adapters.slack_harness import slack_bot
from tests.bot.test_surrogates import NOTE, SHOWN, TOKENS
from tests.conftest import SMALL_PAIR
from tests.fakes.ollama_fake import OllamaFake, Script

BASE, INSTRUCT = SMALL_PAIR


async def test_discord_shows_stores_and_says_so(
    make_settings: Callable[..., Settings], ollama: OllamaFake
) -> None:
    ollama.script(BASE, Script(tokens=TOKENS))
    async with discord_bot(make_settings(ollama_host=ollama.url)) as bot:
        rec = await bot.compare("hi")
        await bot.settled()
        [both] = bot.outputs(rec)
        base = both.embeds[0]
        assert base["description"] == SHOWN and NOTE in base["footer"]["text"]
        assert NOTE not in both.embeds[1]["footer"]["text"]
        outputs = await bot.runtime.store.outputs(1)
        assert outputs[Role.BASE]["text"] == SHOWN and outputs[Role.BASE]["status"] == "done"


async def test_slack_shows_stores_and_says_so(
    make_settings: Callable[..., Settings], ollama: OllamaFake
) -> None:
    ollama.script(BASE, Script(tokens=TOKENS))
    async with slack_bot(make_settings(ollama_host=ollama.url)) as slack:
        assert (await slack.command("hi")).status == 200
        await slack.settled()
        [parent] = slack.parents()
        shown = unescape("\n".join(reply.text for reply in slack.replies(parent)))
        assert SHOWN in shown and NOTE in shown
        outputs = await slack.bot.runtime.store.outputs(1)
        assert outputs[Role.BASE]["text"] == SHOWN and outputs[Role.BASE]["status"] == "done"
