"""`/compare lens:True` on Discord, end to end: a real discord.py client against the fake Discord,
the fake Ollama answering logprobs, a real SQLite file. The picture is attached to a message in
the comparison's thread, after the outputs; a server without logprobs gets a note there."""

from __future__ import annotations

from collections.abc import Callable

import pytest

# isort: off
from tests.adapters.discord_harness import Bot, assert_no_pings, discord_bot, settings_maker

# isort: on
from adapters.discord_bot.lens_message import lens_text
from bot.chat.surface import LensShown
from bot.config import Settings
from bot.engine.lens_record import NEXT_TOKEN
from tests.conftest import SMALL_PAIR
from tests.fakes.discord_fake import InteractionRecord, RecordedRequest
from tests.fakes.ollama_fake import OllamaFake
from tests.lens_scripts import script_digits

BASE, INSTRUCT = SMALL_PAIR
PNG = b"\x89PNG\r\n\x1a\n"


@pytest.fixture
def bot_settings(
    make_settings: Callable[..., Settings], ollama: OllamaFake
) -> Callable[..., Settings]:
    return settings_maker(make_settings, ollama.url, first_token_timeout=5.0)


def thread_posts(bot: Bot, rec: InteractionRecord) -> list[RecordedRequest]:
    thread = bot.thread(rec).id
    return [
        r for r in bot.fake.requests
        if r.method == "POST" and r.path == f"/channels/{thread}/messages"
    ]  # fmt: skip


async def comparison_id(bot: Bot, rec: InteractionRecord) -> int:
    parent = bot.parent(rec)
    ref = await bot.runtime.store.message_ref("discord", str(parent.channel_id), str(parent.id))
    assert ref is not None
    return ref.comparison_id


async def test_compare_with_lens_attaches_the_picture_in_the_thread_and_stores_it(
    bot_settings: Callable[..., Settings], ollama: OllamaFake
):
    script_digits(ollama, "@everyone")
    async with discord_bot(bot_settings()) as bot:
        rec = await bot.compare("Pick a number from 1 to 10:", lens="odds")
        await bot.settled()
        *outputs, lens = thread_posts(bot, rec)
        assert outputs and all(not r.files for r in outputs)  # the outputs come first
        [(name, data)] = lens.files.items()
        assert name == "twinbot-lens.png" and data.startswith(PNG)
        [attachment] = lens.json["attachments"]
        assert attachment["filename"] == "twinbot-lens.png"
        assert '"Sure" 90.0%' in attachment["description"]
        assert lens.json["content"].startswith("Lens: where each twin puts its probability")
        assert_no_pings(bot.fake)
        [row] = await bot.runtime.store.lens_views(await comparison_id(bot, rec))
        assert row["kind"] == NEXT_TOKEN and row["requests"] == 2


async def test_an_ollama_without_logprobs_gets_a_note_and_the_comparison_completes(
    bot_settings: Callable[..., Settings], ollama: OllamaFake
):
    ollama.serves_logprobs = False
    async with discord_bot(bot_settings()) as bot:
        rec = await bot.compare("hi", lens="odds")
        await bot.settled()
        note = bot.outputs(rec)[-1]
        # The server's URL shown, without a preview.
        assert note.content.startswith(f"Lens not shown: Ollama at <{ollama.url}> returned no")
        assert not thread_posts(bot, rec)[-1].files
        cid = await comparison_id(bot, rec)
        row = await bot.runtime.store.comparison(cid)
        assert row is not None and row["status"] == "done"
        assert await bot.runtime.store.lens_views(cid) == []


def test_the_text_fallback_keeps_tokens_in_a_code_block_they_cannot_close():
    shown = LensShown("Lens: test (top 2).", 'Base · m\n"```" █ 50.0%\n"@everyone" ▏ 1.0%')
    text = lens_text(shown, with_table=True)
    head, block = text.split("\n", 1)
    assert head == "Lens: test (top 2)."
    assert block.startswith("```text\n") and block.endswith("\n```")
    inner = block[len("```text\n") : -len("\n```")]
    assert "```" not in inner and '"@everyone"' in inner
    assert lens_text(shown, with_table=False) == "Lens: test (top 2)."


async def test_without_attach_files_the_bars_come_as_text(
    bot_settings: Callable[..., Settings], ollama: OllamaFake
):
    script_digits(ollama, "@everyone")
    async with discord_bot(bot_settings()) as bot:
        bot.fake.deny_attachments = True
        rec = await bot.compare("Pick a number", lens="odds")
        await bot.settled()
        lens = bot.outputs(rec)[-1]
        head, block = lens.content.split("\n", 1)
        assert head.startswith("Lens: where each twin puts its probability")
        assert block.startswith("```text\n") and block.endswith("\n```")
        assert f"Base · {BASE}" in block and '"@everyone"' in block and "30.0%" in block
        refused = [r for r in thread_posts(bot, rec) if r.files]
        assert len(refused) == 1 and refused[0].status == 403
        assert_no_pings(bot.fake)
        assert len(await bot.runtime.store.lens_views(await comparison_id(bot, rec))) == 1
