"""`/compare` with the token shift or the samples, once for every platform: measured inside the
comparison's place, stored with it (kinds `token_shift` and `samples`), shown after the outputs;
every way it cannot run is a note and the comparison is unaffected.

Real parts: the fake Ollama playing the toy twins (tests/bot/lens_toys.py: the instruct twin
answers "Sure! 7"; reading its chat the base twin ranks "Sure" third, "!" first and " 7" beyond
the 20 Ollama lists), the OpenAI-compatible fake with vLLM's extensions, a real SQLite file,
the real queue; only the platform is a recording surface.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from bot.chat.command import MAX_CHAT_SAMPLES, LensAsk, LensKind, lens_ask
from bot.chat.lens_step import (
    BLIND_SHIFT,
    GATED,
    NO_ANSWER,
    SAMPLES_HEADLINE,
    SHIFT_HEADLINE,
    TIMED_OUT,
)
from bot.chat.surface import LensShown
from bot.config import Settings
from bot.domain import Role, SafetyMode, SideStatus
from bot.engine.inline_options import CompareArgs
from bot.engine.lens_record import stored_views
from bot.engine.lens_shift import ShiftKind
from bot.errors import InputError
from tests.bot.chat.recording import RecordingSurface, chat_service
from tests.bot.lens_toys import BASE, INSTRUCT, PROMPT, prompts_with_engine_pair, script_twins
from tests.bot.test_lens_shift_vllm import script_vllm_twins
from tests.fakes.ollama_fake import CHATML_TEMPLATE, OllamaFake, Script
from tests.fakes.openai_fake import OpenAIFake
from tests.waiting import wait_until

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
SHIFT = LensAsk(LensKind.SHIFT)
GREEDY = CompareArgs(PROMPT, temperature=0.0)


def lens_of(surface: RecordingSurface) -> LensShown:
    [shown] = surface.of("show_lens")
    assert isinstance(shown, LensShown)
    return shown


def said(body: dict[str, Any]) -> str | None:
    """What a request asks the model about: its prompt, or its last message."""
    messages = body.get("messages") or [{}]
    return body.get("prompt") or messages[-1].get("content")


def after_comparison(ollama: OllamaFake, first: int) -> list[dict[str, Any]]:
    return [r.body for r in ollama.requests[first:]]


async def test_the_shift_scores_this_comparisons_answer_with_base_requests_only(
    chat_settings: Callable[..., Settings], ollama: OllamaFake
):
    script_twins(ollama)
    async with chat_service(chat_settings()) as chat:
        surface = await chat.compare(PROMPT, args=GREEDY, lens=SHIFT)
        await chat.settled()
        final = surface.view.final if surface.view else None
        assert final is not None and final.instruct.text == "Sure! 7"
        shown = lens_of(surface)
        assert shown.headline.startswith(SHIFT_HEADLINE) and shown.filename == "twinbot-shift.png"
        assert shown.png is not None and shown.png.startswith(PNG_MAGIC)
        # Shifted ⟦bracketed⟧, marginal ‹angled›, the shares, the most shifted token.
        assert shown.table.startswith("‹Sure›!⟦ 7⟧")
        assert "unshifted 33.3% · marginal 33.3% · shifted 33.3% of 3 tokens" in shown.table
        assert '" 7"' in shown.table and ">20" in shown.table
        assert 'Most shifted: " 7" rank >20' in shown.alt

        stored = await stored_views(chat.runtime.store, final.comparison_id)
        assert stored.shift is not None and stored.next_token is None
        report = stored.shift.report
        assert [(t.token, t.rank) for t in report.tokens] == [("Sure", 3), ("!", 1), (" 7", None)]
        assert [t.kind for t in report.tokens] == [
            ShiftKind.MARGINAL, ShiftKind.UNSHIFTED, ShiftKind.SHIFTED,
        ]  # fmt: skip
        assert report.tokens[0].base_probability == pytest.approx(0.2)
        assert report.tokens[0].instruct_probability is None  # not asked: only the base twin
        assert stored.shift.requests == 4 and stored.shift.seconds is not None
    # The comparison's two streams, then the template and one base request a token: the
    # instruct twin is not asked again, and each prompt extends the last.
    lens = after_comparison(ollama, 2)
    assert [r.get("model") for r in lens] == [INSTRUCT, BASE, BASE, BASE]
    prompts = [r["prompt"] for r in lens[1:]]
    assert prompts[1] == prompts[0] + "Sure" and prompts[2] == prompts[1] + "!"
    assert all(r["raw"] is True and r["top_logprobs"] == 20 for r in lens[1:])


async def test_the_shift_keeps_the_place_so_the_next_comparison_waits_for_it(
    chat_settings: Callable[..., Settings], ollama: OllamaFake
):
    script_twins(ollama)
    async with chat_service(chat_settings(max_running=1)) as chat:
        first = await chat.compare(PROMPT, args=GREEDY, lens=SHIFT)
        second = await chat.compare("second", user="U2")
        assert second.of("acknowledge")[0].queued
        await chat.settled()
        assert first.of("show_lens")[0].png is not None
        assert (chat.runtime.queue.running, chat.runtime.queue.waiting) == (0, 0)
    second_at = [said(r.body) for r in ollama.requests].index("second")
    assert second_at == 6  # the comparison (2), the shift (4), then the second comparison


async def test_the_shift_runs_while_a_slow_platform_still_takes_the_final_text(
    chat_settings: Callable[..., Settings], ollama: OllamaFake
):
    script_twins(ollama)
    async with chat_service(chat_settings()) as chat:
        slow_to_show = RecordingSurface(finish_failures=2)  # lands on the third try, 3 s on
        await chat.compare(PROMPT, args=GREEDY, lens=SHIFT, surface=slow_to_show)
        # Scored from the final snapshot: the base twin is asked while the retry waits.
        await wait_until(lambda: len(ollama.requests) == 6, within=10.0)
        assert slow_to_show.view is not None and slow_to_show.view.final is None
        await chat.settled(20.0)
        assert lens_of(slow_to_show).png is not None
        assert (chat.runtime.queue.running, chat.runtime.queue.waiting) == (0, 0)


async def test_a_shutdown_stops_the_samples_and_sends_nothing_more(
    chat_settings: Callable[..., Settings], ollama: OllamaFake
):
    for model in (BASE, INSTRUCT):
        ollama.script(model, Script(tokens=[f"w{n} " for n in range(30)], delay=0.05))
    async with chat_service(chat_settings()) as chat:
        surface = await chat.compare("hi", lens=lens_ask("samples", 10))
        # The final text shown, and a sample running (each takes 1.5 s).
        await wait_until(
            lambda: surface.view is not None and surface.view.final is not None, within=20.0
        )
        await wait_until(lambda: len(ollama.requests) >= 3, within=20.0)
        await asyncio.wait_for(chat.service.drain(0.0), 10)
        sent = len(ollama.requests)
        assert sent <= 2 + 4  # the comparison, then one sample a twin at a time
        assert (chat.runtime.queue.running, chat.runtime.queue.waiting) == (0, 0)
        assert "show_lens" not in surface.names()
        final = surface.view.final if surface.view else None
        assert final is not None
        assert await chat.runtime.store.lens_views(final.comparison_id) == []
    await wait_until(lambda: ollama.active_streams == 0)
    assert len(ollama.requests) == sent


async def test_samples_run_inside_the_place_record_their_seeds_and_are_stored(
    chat_settings: Callable[..., Settings], ollama: OllamaFake
):
    script_twins(ollama)
    for model in (BASE, INSTRUCT):
        script = ollama.scripts[model]
        ollama.script(model, Script(next_token=script.next_token, delay=0.01))
    args = CompareArgs(PROMPT, temperature=1.0, seed=40)
    async with chat_service(chat_settings(max_running=1)) as chat:
        surface = await chat.compare(PROMPT, args=args, lens=lens_ask("samples", 6))
        waiting = await chat.compare("second", user="U2")
        assert waiting.of("acknowledge")[0].queued
        await chat.settled(30.0)
        shown = lens_of(surface)
        assert shown.headline.startswith(SAMPLES_HEADLINE.format(count=6))
        assert shown.png is not None and shown.png.startswith(PNG_MAGIC)
        assert f"Base · {BASE}" in shown.table and f"Instruct · {INSTRUCT}" in shown.table
        assert "entropy" in shown.table and "from uniform over 1–10" in shown.table
        assert "seeds 40–45 (the same on both sides)" in shown.table

        final = surface.view.final if surface.view else None
        assert final is not None
        stored = await stored_views(chat.runtime.store, final.comparison_id)
        assert stored.samples is not None and stored.samples.requests == 12
        run = stored.samples.run
        assert run.seeds == tuple(range(40, 46)) and run.temperature == 1.0
        base = run.sides[Role.BASE]
        assert base.stats.kind == "number" and base.stats.total == 6
        assert [s.seed for s in base.samples] == list(run.seeds)
        uniform = base.stats.uniformity
        assert uniform is not None and (uniform.low, uniform.high) == (1, 10)
    # One place, so never more than one stream a twin: the samples go one at a time, and the
    # waiting comparison starts only after them.
    assert ollama.peak_streams <= 2
    lens = [r.body for r in ollama.requests[2:14]]
    assert sorted(r["options"]["seed"] for r in lens) == sorted([*range(40, 46)] * 2)
    assert all(r["options"]["num_predict"] <= 32 for r in lens)
    later = ollama.requests[14:]
    assert [said(r.body) for r in later] == ["second", "second"]


async def test_a_blind_comparisons_samples_name_no_model_and_its_shift_is_a_note(
    chat_settings: Callable[..., Settings], ollama: OllamaFake
):
    script_twins(ollama)
    async with chat_service(chat_settings()) as chat:
        samples = await chat.compare(PROMPT, lens=lens_ask("samples", 3), blind=True)
        shift = await chat.compare(PROMPT, lens=SHIFT, blind=True, user="U2")
        await chat.settled(30.0)
        shown = lens_of(samples)
        everything = shown.headline + shown.table + shown.alt
        for name in (BASE, INSTRUCT, "Base", "Instruct"):
            assert name not in everything
        assert "Model A" in shown.table and "Names hidden until the reveal" in shown.headline
        assert lens_of(shift).headline == f"Lens not shown: {BLIND_SHIFT}"


async def test_a_gated_channel_gets_the_note_and_no_lens_request(
    chat_settings: Callable[..., Settings], ollama: OllamaFake
):
    async with chat_service(chat_settings(safety_default="spoiler")) as chat:
        for ask in (SHIFT, lens_ask("samples")):
            surface = await chat.compare("hi", lens=ask)
            await chat.settled()
            assert lens_of(surface).headline == "Lens not shown: " + GATED.format(
                mode=SafetyMode.SPOILER.value
            )
    assert not any(r.body.get("logprobs") or r.body.get("options", {}).get("seed")
                   for r in ollama.requests if "messages" not in r.body)  # fmt: skip


async def test_a_template_the_lens_cannot_write_out_gets_a_note_in_the_chats_words(
    chat_settings: Callable[..., Settings], ollama: OllamaFake
):
    async with chat_service(chat_settings()) as chat:  # the fake's default: `{{ .Prompt }}`
        surface = await chat.compare("hi", lens=SHIFT)
        await chat.settled()
        headline = lens_of(surface).headline
        assert headline.startswith(f"Lens not shown: The chat template of `{INSTRUCT}` is not")
        assert headline.endswith("the odds view works with any template.")
        assert "--at" not in headline


async def test_samples_past_the_total_timeout_are_a_note_and_give_the_place_back(
    chat_settings: Callable[..., Settings], ollama: OllamaFake
):
    for model in (BASE, INSTRUCT):  # 5 tokens in 0.25 s: 20 samples a twin take 5 s
        ollama.script(model, Script(tokens=[f"w{n} " for n in range(5)], delay=0.05))
    settings = chat_settings(first_token_timeout=2.0, total_timeout=2.0)
    async with chat_service(settings) as chat:
        args = CompareArgs("hi", max_tokens=5)
        surface = await chat.compare("hi", args=args, lens=lens_ask("samples", 20))
        await chat.settled(20.0)
        final = surface.view.final if surface.view else None
        assert final is not None and final.base.status is SideStatus.DONE
        assert lens_of(surface).headline == "Lens not shown: " + TIMED_OUT.format(seconds=2)
        assert await chat.runtime.store.lens_views(final.comparison_id) == []
        assert (chat.runtime.queue.running, chat.runtime.queue.waiting) == (0, 0)
    assert len(ollama.requests) < 2 + 40  # stopped: not every sample was asked for
    await wait_until(lambda: ollama.active_streams == 0)  # and the running ones were closed


async def test_a_failed_instruct_side_leaves_nothing_to_score(
    chat_settings: Callable[..., Settings], ollama: OllamaFake
):
    ollama.script(INSTRUCT, Script(status=500, error="boom"))
    async with chat_service(chat_settings()) as chat:
        surface = await chat.compare("hi", lens=SHIFT)
        await chat.settled()
        final = surface.view.final if surface.view else None
        assert final is not None and final.base.status is SideStatus.DONE
        assert lens_of(surface).headline == f"Lens not shown: {NO_ANSWER}"
        assert (chat.runtime.queue.running, chat.runtime.queue.waiting) == (0, 0)


async def test_an_ollama_without_logprobs_gets_a_note_for_the_shift(
    chat_settings: Callable[..., Settings], ollama: OllamaFake
):
    ollama.serves_logprobs = False
    ollama.templates[INSTRUCT] = CHATML_TEMPLATE
    async with chat_service(chat_settings()) as chat:
        surface = await chat.compare("hi", lens=SHIFT)
        await chat.settled()
        headline = lens_of(surface).headline
        assert headline.startswith(f"Lens not shown: Ollama at {ollama.url} returned no")
        final = surface.view.final if surface.view else None
        assert final is not None
        assert await chat.runtime.store.lens_views(final.comparison_id) == []
        row = await chat.runtime.store.comparison(final.comparison_id)
        assert row is not None and row["status"] == "done"


async def test_on_vllm_the_shift_is_three_requests_and_samples_run_on_any_pair(
    chat_settings: Callable[..., Settings], openai_fake: OpenAIFake, tmp_path: Path
):
    script_vllm_twins(openai_fake)
    prompts = prompts_with_engine_pair(tmp_path, openai_fake.url)
    async with chat_service(chat_settings(prompts_dir=prompts)) as chat:
        args = CompareArgs(PROMPT, pair="engine")
        shift = await chat.compare(PROMPT, args=args, lens=SHIFT)
        samples = await chat.compare(PROMPT, args=args, lens=lens_ask("samples", 2), user="U2")
        await chat.settled(30.0)
        final = shift.view.final if shift.view else None
        assert final is not None and final.instruct.status is SideStatus.DONE
        assert lens_of(shift).png is not None, lens_of(shift).headline
        stored = await stored_views(chat.runtime.store, final.comparison_id)
        assert stored.shift is not None and stored.shift.requests == 3
        # The fake streams its scripted answer; its toy tokenizer cuts the unknown words into
        # characters, each ranked exactly (vLLM knows every rank).
        tokens = stored.shift.report.tokens
        assert "".join(t.token for t in tokens) == final.instruct.text
        assert all(t.rank is not None for t in tokens)
        assert lens_of(samples).png is not None
    assert len(openai_fake.requests_to("/tokenize")) == 2


async def test_a_server_without_vllms_extensions_gets_a_note_naming_what_is_missing(
    chat_settings: Callable[..., Settings], openai_fake: OpenAIFake, tmp_path: Path
):
    openai_fake.vllm_extensions = False
    prompts = prompts_with_engine_pair(tmp_path, openai_fake.url)
    async with chat_service(chat_settings(prompts_dir=prompts)) as chat:
        surface = await chat.compare("hi", args=CompareArgs("hi", pair="engine"), lens=SHIFT)
        await chat.settled()
        headline = lens_of(surface).headline
        assert headline.startswith("Lens not shown") and "/tokenize" in headline
        final = surface.view.final if surface.view else None
        assert final is not None and final.base.status is SideStatus.DONE


@pytest.mark.parametrize(
    ("kind", "count", "expected"),
    [
        (None, None, LensAsk()),
        ("Shift", None, LensAsk(LensKind.SHIFT)),
        ("samples", None, LensAsk(LensKind.SAMPLES)),
        (None, 5, LensAsk(LensKind.SAMPLES, 5)),
        ("samples", MAX_CHAT_SAMPLES, LensAsk(LensKind.SAMPLES, MAX_CHAT_SAMPLES)),
    ],
)
def test_lens_words(kind: str | None, count: int | None, expected: LensAsk):
    assert lens_ask(kind, count) == expected


@pytest.mark.parametrize(
    ("kind", "count", "says"),
    [
        ("logits", None, "one of: odds, shift, samples"),
        ("odds", 5, "lens only"),
        ("samples", MAX_CHAT_SAMPLES + 1, f"between 2 and {MAX_CHAT_SAMPLES}"),
        ("samples", 1, "between 2"),
    ],
)
def test_bad_lens_words_are_refused(kind: str, count: int | None, says: str):
    with pytest.raises(InputError, match=says):
        lens_ask(kind, count)
