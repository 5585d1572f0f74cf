"""`/compare --lens` on Slack, end to end: bolt and the AsyncWebClient against the fake Slack,
the fake Ollama answering logprobs, a real SQLite file. The picture goes into the comparison's
thread the way files_upload_v2 does it; without `files:write` the bars come as text."""

from __future__ import annotations

from typing import Any

from bot.config import Settings
from bot.engine.lens_record import NEXT_TOKEN, SAMPLES, TOKEN_SHIFT
from tests.adapters.slack_harness import Slack, slack_bot
from tests.bot.lens_toys import PROMPT, script_twins
from tests.conftest import SMALL_PAIR
from tests.fakes.ollama_fake import OllamaFake, Script
from tests.fakes.slack_fake import Message
from tests.lens_scripts import script_digits

BASE, INSTRUCT = SMALL_PAIR
PNG = b"\x89PNG\r\n\x1a\n"


async def compared(slack: Slack, text: str) -> tuple[Message, list[Message]]:
    response = await slack.command(text)
    assert response.status == 200 and await response.text() == ""  # a bare ack
    await slack.settled()
    [parent] = slack.parents()
    return parent, slack.replies(parent)


async def stored_lens(slack: Slack, parent: Message) -> list[dict[str, Any]]:
    store = slack.bot.runtime.store
    ref = await store.message_ref("slack", parent.channel, parent.ts)
    assert ref is not None
    return await store.lens_views(ref.comparison_id)


async def test_compare_with_lens_uploads_the_picture_into_the_thread_and_stores_it(
    settings: Settings, ollama: OllamaFake
):
    script_digits(ollama, "<!channel>", "```")
    async with slack_bot(settings) as slack:
        parent, replies = await compared(slack, "--lens Pick a number from 1 to 10:")
        fake = slack.fake
        [upload] = fake.files.values()
        assert upload.data is not None and upload.data.startswith(PNG)
        assert upload.channel == fake.channel_id and upload.filename == "twinbot-lens.png"
        assert upload.alt_txt and '"Sure" 90.0%' in upload.alt_txt
        # After both sides' replies, in the thread: the picture under its headline.
        lens = replies[-1]
        assert lens.files == [upload.id] and lens.thread_ts == parent.ts
        assert lens.text.startswith(":mag: Lens: where each twin puts its probability")
        assert all(not m.files for m in replies[:-1]) and len(replies) >= 3
        [row] = await stored_lens(slack, parent)
        assert row["kind"] == NEXT_TOKEN and row["requests"] == 2
    lens_requests = [r.body for r in ollama.requests if r.body.get("logprobs")]
    assert [body["options"]["num_predict"] for body in lens_requests] == [1, 1]


async def test_without_files_write_the_bars_come_as_escaped_text(
    settings: Settings, ollama: OllamaFake
):
    script_digits(ollama, "<!channel>", "```")
    async with slack_bot(settings) as slack:
        slack.fake.fail_next("files.getUploadURLExternal", error="missing_scope")
        parent, replies = await compared(slack, "--lens Pick a number")
        lens = replies[-1]
        assert lens.files == [] and lens.text.startswith(":mag: Lens: where each twin")
        _, block = lens.text.split("\n", 1)
        assert block.startswith("```\n") and "\n```\n_(the picture could not be uploaded" in block
        assert block.endswith("`missing_scope`)_")
        table = block[4 : block.rindex("\n```")]
        assert f"Base · {BASE}" in table and f"Instruct · {INSTRUCT}" in table
        assert '"&lt;!channel&gt;"' in table and "<!channel>" not in lens.text  # disarmed
        assert "```" not in table  # a token's fence cannot close the block
        assert "30.0%" in table and "90.0%" in table
        assert len(await stored_lens(slack, parent)) == 1  # stored whatever the picture's fate


async def test_an_ollama_without_logprobs_gets_a_note_in_the_thread(
    settings: Settings, ollama: OllamaFake
):
    ollama.serves_logprobs = False
    async with slack_bot(settings) as slack:
        parent, replies = await compared(slack, "--lens hi")
        note = replies[-1]
        assert note.text.startswith(":mag: Lens not shown: Ollama at ")
        assert "returned no logprobs" in note.text and note.files == []
        sides = [m for m in replies if m.text.startswith(("*Base*", "*Instruct*"))]
        assert len(sides) == 2 and all(":white_check_mark:" in m.text for m in sides)
        assert await stored_lens(slack, parent) == [] and slack.fake.files == {}


async def test_a_demo_takes_the_lens_flag_too(settings: Settings, ollama: OllamaFake):
    script_digits(ollama)
    async with slack_bot(settings) as slack:
        parent, replies = await compared(slack, "demo --lens greeting")
        [upload] = slack.fake.files.values()
        assert replies[-1].files == [upload.id]
        [row] = await stored_lens(slack, parent)
        assert row["kind"] == NEXT_TOKEN
    [generate] = [r.body for r in ollama.requests if r.body.get("logprobs") and "prompt" in r.body]
    assert generate["prompt"] == "こんにちは"


# --- the token shift and the samples (--lens=VIEW, --samples N) -------------------------------


async def test_lens_shift_uploads_the_marked_answer_and_stores_it(
    settings: Settings, ollama: OllamaFake
):
    script_twins(ollama)
    async with slack_bot(settings) as slack:
        parent, replies = await compared(slack, f"--lens=shift --temperature 0 {PROMPT}")
        [upload] = slack.fake.files.values()
        assert upload.data is not None and upload.data.startswith(PNG)
        assert upload.filename == "twinbot-shift.png"
        assert upload.alt_txt and upload.alt_txt.startswith("Token shift: unshifted 33.3%")
        lens = replies[-1]
        assert lens.files == [upload.id] and lens.text.startswith(":mag: Token shift: each")
        [row] = await stored_lens(slack, parent)
        assert row["kind"] == TOKEN_SHIFT and row["requests"] == 4
        assert [token[1] for token in row["payload"]["tokens"]] == [3, 1, None]


async def test_samples_without_files_write_come_as_escaped_text(
    settings: Settings, ollama: OllamaFake
):
    answers = ["hi <!channel> there", "a ``` b", "7"]
    ollama.script(BASE, Script(reply=lambda body: [answers[body["options"]["seed"] % 3]]))
    async with slack_bot(settings) as slack:
        slack.fake.fail_next("files.getUploadURLExternal", error="missing_scope")
        parent, replies = await compared(slack, "--samples 3 --seed 30 Say something")
        lens = replies[-1]
        assert lens.files == [] and lens.text.startswith(":mag: Samples: 3 more answers a twin")
        _, block = lens.text.split("\n", 1)
        table = block[4 : block.rindex("\n```")]
        assert f"Base · {BASE}" in table and "seeds 30–32 (the same on both sides)" in table
        assert '"hi &lt;!channel&gt; there"' in table and "<!channel>" not in lens.text
        assert "```" not in table  # an answer's fence cannot close the block
        [row] = await stored_lens(slack, parent)
        assert row["kind"] == SAMPLES and row["requests"] == 6
        assert row["payload"]["seeds"] == [30, 31, 32]
        assert sorted(row["payload"]["sides"][0]["texts"]) == sorted(answers)


async def test_a_bad_lens_view_is_refused_in_the_ack(settings: Settings, ollama: OllamaFake):
    async with slack_bot(settings) as slack:
        body = await slack.ack_json("--lens=logits hi")
        assert body["response_type"] == "ephemeral"
        assert body["text"].startswith("The lens shows one of: odds, shift, samples")
        assert slack.fake.calls_to("chat.postMessage") == []
    assert ollama.requests == []
