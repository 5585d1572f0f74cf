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
from bot.engine.lens_record import NEXT_TOKEN, stored_views
from tests.bot.lens_toys import PROMPT, script_twins
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


# --- the token shift and the samples (the lens choice and the samples count) -----------------


async def test_the_shift_choice_attaches_the_marked_answer_and_stores_it(
    bot_settings: Callable[..., Settings], ollama: OllamaFake
):
    script_twins(ollama)
    async with discord_bot(bot_settings()) as bot:
        rec = await bot.compare(PROMPT, lens="shift", temperature=0.0)
        await bot.settled()
        *outputs, lens = thread_posts(bot, rec)
        assert outputs and all(not r.files for r in outputs)
        [(name, data)] = lens.files.items()
        assert name == "twinbot-shift.png" and data.startswith(PNG)
        [attachment] = lens.json["attachments"]
        assert attachment["description"].startswith("Token shift: unshifted 33.3%")
        assert lens.json["content"].startswith("Token shift: each token of the instruct")
        assert_no_pings(bot.fake)
        stored = await stored_views(bot.runtime.store, await comparison_id(bot, rec))
        assert stored.shift is not None and stored.shift.requests == 4
        assert [t.rank for t in stored.shift.report.tokens] == [3, 1, None]


async def test_a_samples_count_alone_runs_the_samples_and_falls_back_to_text(
    bot_settings: Callable[..., Settings], ollama: OllamaFake
):
    script_twins(ollama)
    async with discord_bot(bot_settings()) as bot:
        bot.fake.deny_attachments = True
        rec = await bot.compare(PROMPT, samples=3, seed=7, temperature=1.0)
        await bot.settled()
        lens = bot.outputs(rec)[-1]
        head, block = lens.content.split("\n", 1)
        assert head.startswith("Samples: 3 more answers a twin")
        assert block.startswith("```text\n") and block.endswith("\n```")
        assert f"Base · {BASE}" in block and "entropy" in block and "seeds 7–9" in block
        assert_no_pings(bot.fake)
        stored = await stored_views(bot.runtime.store, await comparison_id(bot, rec))
        assert stored.samples is not None and stored.samples.run.seeds == (7, 8, 9)


async def test_a_count_with_another_view_is_refused_before_anything_runs(
    bot_settings: Callable[..., Settings], ollama: OllamaFake
):
    async with discord_bot(bot_settings()) as bot:
        rec = await bot.compare("hi", lens="odds", samples=3)
        assert rec.response_data is not None
        assert rec.response_data["content"] == "A sample count goes with the `samples` lens only."
        assert rec.response_data["flags"] & 64  # ephemeral: only the requester sees it
    assert ollama.requests == []
