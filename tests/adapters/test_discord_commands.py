"""The slash commands as Discord sees them: sync, intents, options, autocomplete and /pairs."""

from __future__ import annotations

import socket
from collections.abc import Callable
from typing import Any

import pytest

# isort: off
from tests.adapters.discord_harness import FAST_FAKE, discord_bot  # first: audioop warning

# isort: on
from bot.config import Settings
from tests.adapters.discord_harness import settings_maker
from tests.conftest import SMALL_PAIR
from tests.fakes.discord_fake import FLAG_EPHEMERAL, DiscordFake
from tests.fakes.ollama_fake import OllamaFake

PRIVILEGED = (1 << 1) | (1 << 8) | (1 << 15)  # members, presences, message content


@pytest.fixture
def bot_settings(
    make_settings: Callable[..., Settings], ollama: OllamaFake
) -> Callable[..., Settings]:
    return settings_maker(make_settings, ollama.url)


def options_of(command: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {option["name"]: option for option in command["options"]}


async def test_commands_sync_globally_with_no_privileged_intent(
    bot_settings: Callable[..., Settings],
) -> None:
    async with discord_bot(bot_settings()) as bot:
        fake = bot.fake
        assert set(fake.commands) == {None}
        commands = {c["name"]: c for c in fake.commands[None]}
        assert set(commands) == {"compare", "pairs", "leaderboard", "safety"}
        assert fake.intents == (1 << 0) | (1 << 10)  # guilds, guild reactions
        assert not fake.intents & PRIVILEGED
        compare = options_of(commands["compare"])
        assert [(n, o["type"], o.get("required", False)) for n, o in compare.items()] == [
            ("prompt", 3, False),  # a demo brings its own
            ("pair", 3, False),
            ("framing", 3, False),
            ("max_tokens", 4, False),
            ("temperature", 10, False),
            ("seed", 4, False),
            ("blind", 5, False),
            ("demo", 3, False),
            ("lens", 3, False),
            ("samples", 4, False),
        ]
        assert [c["value"] for c in compare["lens"]["choices"]] == ["odds", "shift", "samples"]
        assert (compare["samples"]["min_value"], compare["samples"]["max_value"]) == (2, 20)
        assert all(compare[name]["autocomplete"] for name in ("pair", "framing", "demo"))
        assert (compare["max_tokens"]["min_value"], compare["max_tokens"]["max_value"]) == (
            1,
            32768,
        )
        assert commands["compare"]["contexts"] == [0]  # servers only: votes need guild events
        board = options_of(commands["leaderboard"])
        assert [(n, o["type"]) for n, o in board.items()] == [
            ("channel", 7),
            ("pair", 3),
            ("since", 3),
            ("all_votes", 5),
        ]
        [mode] = commands["safety"]["options"]
        assert (mode["name"], mode["type"], mode.get("required", False)) == ("mode", 3, False)
        assert [c["value"] for c in mode["choices"]] == ["off", "label", "spoiler", "withhold"]
        assert commands["safety"]["contexts"] == [0]


async def test_commands_sync_to_one_guild_when_it_is_set(
    bot_settings: Callable[..., Settings],
) -> None:
    fake = DiscordFake(**FAST_FAKE)
    async with fake, discord_bot(bot_settings(discord_guild_id=fake.guild_id), fake):
        assert set(fake.commands) == {fake.guild_id}
        assert {c["name"] for c in fake.commands[fake.guild_id]} == {
            "compare",
            "pairs",
            "leaderboard",
            "safety",
        }
        assert all(c["guild_id"] == str(fake.guild_id) for c in fake.commands[fake.guild_id])


async def test_autocomplete_offers_pairs_and_framings(
    bot_settings: Callable[..., Settings],
) -> None:
    async with discord_bot(bot_settings()) as bot:
        rec = await bot.fake.dispatch_autocomplete("compare", {"prompt": "x", "pair": "QW"}, "pair")
        answer = await rec.wait_callback()
        assert answer.type == 8 and answer.data is not None
        assert answer.data["choices"] == [
            {
                "name": "qwen2.5-0.5b · Qwen 2.5 0.5B: the smallest pair, runs on any laptop CPU",
                "value": "qwen2.5-0.5b",
            }
        ]
        rec = await bot.fake.dispatch_autocomplete(
            "compare", {"prompt": "x", "framing": ""}, "framing"
        )
        answer = await rec.wait_callback()
        assert answer.data is not None
        assert [c["value"] for c in answer.data["choices"]] == list(bot.runtime.catalog.framings)


async def pairs_answer(bot: Any) -> str:
    rec = await bot.fake.dispatch_slash_command("pairs")
    first = await rec.wait_callback()
    assert first.type == 5 and first.data is not None and first.data["flags"] & FLAG_EPHEMERAL
    await bot.fake.wait_until(lambda: not bot.fake.message(rec.original_message_id).flags & 128)
    return str(bot.fake.message(rec.original_message_id).content)


async def test_pairs_lists_every_pair_and_what_is_pulled(
    bot_settings: Callable[..., Settings],
) -> None:
    async with discord_bot(bot_settings()) as bot:
        text = await pairs_answer(bot)
        base, instruct = SMALL_PAIR
        assert "**llama3.2-1b** (default) · Llama 3.2 1B" in text
        assert f"  base `{base}` ✅" in text and f"  instruct `{instruct}` ✅" in text
        assert "  base `qwen2.5:0.5b-base` ❌ `ollama pull qwen2.5:0.5b-base`" in text


async def test_pairs_without_ollama_says_so(make_settings: Callable[..., Settings]) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{sock.getsockname()[1]}"
    async with discord_bot(make_settings(ollama_host=closed)) as bot:
        text = await pairs_answer(bot)
        assert "**llama3.2-1b** (default)" in text and "✅" not in text
        assert "⚠️ Cannot reach Ollama at" in text
