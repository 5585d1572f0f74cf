"""`/compare demo:<name>`: the classic experiments, with autocomplete and their explanation."""

from __future__ import annotations

from collections.abc import Callable

import pytest

# isort: off
from tests.adapters.discord_harness import discord_bot  # first: it silences the audioop warning

# isort: on
from bot.chat.admission import NEEDS_PROMPT, PROMPT_AND_DEMO
from bot.config import Settings
from tests.adapters.discord_harness import settings_maker
from tests.conftest import SMALL_PAIR
from tests.fakes.discord_fake import FLAG_EPHEMERAL, InteractionRecord
from tests.fakes.ollama_fake import OllamaFake, Script

BASE, INSTRUCT = SMALL_PAIR


@pytest.fixture
def bot_settings(
    make_settings: Callable[..., Settings], ollama: OllamaFake
) -> Callable[..., Settings]:
    return settings_maker(make_settings, ollama.url, discord_edit_interval=0.2, user_burst=10)


def private_answer(rec: InteractionRecord) -> str:
    attempt = rec.attempts[0]
    assert attempt.data is not None and attempt.data["flags"] & FLAG_EPHEMERAL
    return str(attempt.data["content"])


async def test_a_demo_runs_its_prompt_framing_and_settings_with_its_explanation(
    bot_settings: Callable[..., Settings], ollama: OllamaFake
) -> None:
    ollama.default_script = Script(tokens=["Q: next? ", "A: yes"])
    async with discord_bot(bot_settings()) as bot:
        demo = bot.client.chat.demos["surgeon"]
        rec = await bot.compare(None, demo="surgeon")
        await bot.settled()
        parent = bot.parent(rec)
        prompt, framed = parent.embeds[0]["description"].split("\n-# base sees: ")
        assert prompt == demo.prompt and framed.startswith("Q: ") and framed.endswith("\\nA:")
        assert f"📖 **{demo.title}**: {demo.explain}" in parent.content.splitlines()
        assert "framing `qa` · max tokens 100 · temperature 0.2" in parent.content
        [generate] = ollama.requests_to("/api/generate")
        [chat] = ollama.requests_to("/api/chat")
        assert generate["prompt"] == f"Q: {demo.prompt}\nA:"  # the demo's framing
        for body in (generate, chat):
            assert body["options"]["num_predict"] == 100
            assert body["options"]["temperature"] == 0.2
        assert chat["messages"][-1]["content"] == demo.prompt
        assert len(bot.outputs(rec)) == 1


async def test_options_given_with_a_demo_win(
    bot_settings: Callable[..., Settings], ollama: OllamaFake
) -> None:
    async with discord_bot(bot_settings()) as bot:
        rec = await bot.compare(None, demo="greeting", framing="qa", max_tokens=30, seed=5)
        await bot.settled()
        assert "framing `qa` · max tokens 30 · temperature 0.8 · seed 5" in bot.parent(rec).content


async def test_demo_autocomplete_and_the_clear_refusals(
    bot_settings: Callable[..., Settings],
) -> None:
    async with discord_bot(bot_settings()) as bot:
        rec = await bot.fake.dispatch_autocomplete("compare", {"demo": "riddle"}, "demo")
        answer = await rec.wait_callback()
        assert answer.data is not None
        assert answer.data["choices"] == [
            {"name": "surgeon · The surgeon riddle, inverted", "value": "surgeon"}
        ]
        assert private_answer(await bot.compare(None)) == NEEDS_PROMPT
        assert private_answer(await bot.compare("hi", demo="greeting")) == PROMPT_AND_DEMO
        unknown = private_answer(await bot.compare(None, demo="nope"))
        assert unknown.startswith("Unknown demo `nope`. Known demos: greeting, self-qa")
        assert bot.fake.threads() == []
