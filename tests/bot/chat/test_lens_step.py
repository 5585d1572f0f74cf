"""`/compare` with the lens, once for every platform: two one-token requests inside the
comparison's place, stored with it, shown after the outputs; every way it cannot run is a note.

Real parts: the fake Ollama answering logprobs in v0.24.0's shape, the OpenAI-compatible fake,
a real SQLite file, the real queue; only the platform is a recording surface.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bot.chat.command import LensAsk
from bot.chat.lens_step import GATED, HEADLINE, LENS_TOP_K, OPENAI_PAIR
from bot.chat.surface import LensShown
from bot.config import REPO_ROOT, Settings
from bot.domain import Role, SafetyMode, SideStatus
from bot.engine.inline_options import CompareArgs
from bot.engine.lens_record import NEXT_TOKEN, next_token_view
from tests.bot.chat.recording import RecordingSurface, chat_service
from tests.conftest import SMALL_PAIR
from tests.fakes.ollama_fake import OllamaFake
from tests.fakes.openai_fake import OpenAIFake
from tests.lens_scripts import script_digits

BASE, INSTRUCT = SMALL_PAIR
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def lens_of(surface: RecordingSurface) -> LensShown:
    [shown] = surface.of("show_lens")
    assert isinstance(shown, LensShown)
    return shown


def lens_requests(ollama: OllamaFake) -> list[dict[str, Any]]:
    return [r.body for r in ollama.requests if r.body.get("logprobs") is True]


async def test_the_lens_runs_after_the_outputs_is_stored_and_shown_as_a_picture(
    chat_settings: Callable[..., Settings], ollama: OllamaFake
):
    script_digits(ollama, "<@U1>")
    async with chat_service(chat_settings()) as chat:
        surface = await chat.compare("Pick a number from 1 to 10:", lens=LensAsk())
        await chat.settled()
        view = surface.view
        assert view is not None and view.final is not None
        assert view.final.base.status is SideStatus.DONE
        names = surface.names()
        assert names.index("show_lens") > names.index("output_view")
        shown = lens_of(surface)
        assert shown.png is not None and shown.png.startswith(PNG_MAGIC)
        assert shown.headline.startswith(HEADLINE) and f"top {LENS_TOP_K}" in shown.headline
        assert f"Base · {BASE}" in shown.table and f"Instruct · {INSTRUCT}" in shown.table
        assert '"7"' in shown.table and "30.0%" in shown.table and "90.0%" in shown.table
        assert '"\\n"' in shown.table and '"\\x1b"' in shown.table  # controls made visible
        assert "\x1b" not in shown.table + shown.alt
        assert '"Sure" 90.0%' in shown.alt

        [row] = await chat.runtime.store.lens_views(view.final.comparison_id)
        assert row["kind"] == NEXT_TOKEN and row["requests"] == 2 and row["seconds"] > 0
        stored = next_token_view(row["payload"])
        assert [c.token for c in stored.sides[Role.BASE].chances] == ["7", "3", "\n", "<@U1>"]
        assert stored.sides[Role.INSTRUCT].model == INSTRUCT and stored.top_k == LENS_TOP_K
    # Two requests more than the comparison: one token each, the top alternatives asked for.
    generate, chat_request = lens_requests(ollama)
    assert generate["raw"] is True and chat_request["messages"][0]["role"] == "user"
    for body in (generate, chat_request):
        assert body["options"]["num_predict"] == 1 and body["top_logprobs"] == LENS_TOP_K
    assert len(ollama.requests) == 4


async def test_without_the_option_no_lens_request_is_made(
    chat_settings: Callable[..., Settings], ollama: OllamaFake
):
    async with chat_service(chat_settings()) as chat:
        surface = await chat.compare("hi")
        await chat.settled()
        assert "show_lens" not in surface.names()
    assert lens_requests(ollama) == [] and len(ollama.requests) == 2


async def test_the_lens_keeps_the_queue_place_so_the_next_comparison_waits_for_it(
    chat_settings: Callable[..., Settings], ollama: OllamaFake
):
    script_digits(ollama, "<@U1>")
    async with chat_service(chat_settings(max_running=1)) as chat:
        first = await chat.compare("first", lens=LensAsk())
        second = await chat.compare("second", user="U2")
        assert second.of("acknowledge")[0].queued
        await chat.settled()
        assert first.of("show_lens") and (
            chat.runtime.queue.running,
            chat.runtime.queue.waiting,
        ) == (0, 0)
    # The second comparison's models start only once the first one's lens is done.
    order = [(r.body.get("prompt") or r.body["messages"][0]["content"], r.body.get("logprobs"))
             for r in ollama.requests]  # fmt: skip
    assert [prompt for prompt, _ in order[:4]] == ["first"] * 4
    assert [lp for _, lp in order[2:4]] == [True, True]
    assert [prompt for prompt, _ in order[4:]] == ["second", "second"]


async def test_an_ollama_without_logprobs_gets_a_note_and_the_comparison_completes(
    chat_settings: Callable[..., Settings], ollama: OllamaFake
):
    ollama.serves_logprobs = False
    async with chat_service(chat_settings()) as chat:
        surface = await chat.compare("hi", lens=LensAsk())
        await chat.settled()
        final = surface.view.final if surface.view else None
        assert final is not None and final.base.status is final.instruct.status is SideStatus.DONE
        shown = lens_of(surface)
        assert shown.png is None and shown.table == ""
        assert shown.headline.startswith(f"Lens not shown: Ollama at {ollama.url} returned no")
        assert "older than the lens needs" in shown.headline
        assert "tell" not in surface.names()  # no internal error
        store = chat.runtime.store
        assert await store.lens_views(final.comparison_id) == []
        row = await store.comparison(final.comparison_id)
        assert row is not None and row["status"] == "done"


async def test_a_blind_comparison_names_no_model_in_the_lens(
    chat_settings: Callable[..., Settings], ollama: OllamaFake
):
    script_digits(ollama, "<@U1>")
    async with chat_service(chat_settings()) as chat:
        surface = await chat.compare("Pick a number", lens=LensAsk(), blind=True)
        await chat.settled()
        request = surface.of("acknowledge")[0].request
        shown = lens_of(surface)
        everything = shown.headline + shown.table + shown.alt
        for name in (BASE, INSTRUCT, "Base", "Instruct", "base", "instruct"):
            assert name not in everything
        assert "Model A" in shown.table and "Model B" in shown.table
        assert "Names hidden until the reveal" in shown.headline
        # A is the side shown first, as in the outputs.
        first = "Sure" if request.shown_first is Role.INSTRUCT else '"7"'
        assert shown.table.index(first) < shown.table.index("Model B")
        # Stored with the names: the report and exports show them after the reveal.
        assert surface.view is not None and surface.view.final is not None
        [row] = await chat.runtime.store.lens_views(surface.view.final.comparison_id)
        assert next_token_view(row["payload"]).sides[Role.BASE].model == BASE


async def test_a_blind_lens_failure_names_no_model(
    chat_settings: Callable[..., Settings], ollama: OllamaFake
):
    ollama.serves_logprobs = False
    async with chat_service(chat_settings()) as chat:
        surface = await chat.compare("hi", lens=LensAsk(), blind=True)
        await chat.settled()
        headline = lens_of(surface).headline
        assert headline.startswith("Lens not shown") and "(hidden)" in headline
        assert BASE not in headline and INSTRUCT not in headline


async def test_a_channel_with_a_safety_mode_gets_a_note_and_no_lens_request(
    chat_settings: Callable[..., Settings], ollama: OllamaFake
):
    async with chat_service(chat_settings(safety_default="label")) as chat:
        surface = await chat.compare("hi", lens=LensAsk())
        await chat.settled()
        assert lens_of(surface).headline == "Lens not shown: " + GATED.format(
            mode=SafetyMode.LABEL.value
        )
    assert lens_requests(ollama) == []


async def test_an_openai_compatible_pair_gets_a_note_and_its_comparison_completes(
    chat_settings: Callable[..., Settings], openai_fake: OpenAIFake, tmp_path: Path
):
    prompts = tmp_path / "prompts"
    shutil.copytree(REPO_ROOT / "prompts", prompts)
    with (prompts / "pairs.toml").open("a") as pairs:
        pairs.write(
            f'\n[[pair]]\nname = "engine"\nbackend = "openai"\nbase = "{BASE}"\n'
            f'instruct = "{INSTRUCT}"\nendpoint = "{openai_fake.url}"\n'
        )
    async with chat_service(chat_settings(prompts_dir=prompts)) as chat:
        surface = await chat.compare("hi", args=CompareArgs("hi", pair="engine"), lens=LensAsk())
        await chat.settled()
        final = surface.view.final if surface.view else None
        assert final is not None and final.base.status is SideStatus.DONE, final
        assert lens_of(surface).headline == "Lens not shown: " + OPENAI_PAIR.format(pair="engine")
        assert await chat.runtime.store.lens_views(final.comparison_id) == []
    assert all("logprobs" not in r.body for r in openai_fake.requests)


async def test_a_tag_not_pulled_fails_the_side_and_the_lens_says_why(
    chat_settings: Callable[..., Settings], ollama: OllamaFake
):
    ollama.models.discard(INSTRUCT)
    async with chat_service(chat_settings()) as chat:
        surface = await chat.compare("hi", lens=LensAsk())
        await chat.settled()
        headline = lens_of(surface).headline
        assert headline.startswith("Lens not shown") and f"ollama pull {INSTRUCT}" in headline
        assert (chat.runtime.queue.running, chat.runtime.queue.waiting) == (0, 0)
