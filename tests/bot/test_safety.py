"""The safety gate: the guard runs ahead of what is shown; unsafe text never reaches the view."""

from __future__ import annotations

from typing import Any

import pytest

from bot.domain import SafetyMode, SafetyStatus
from bot.engine.backend import OllamaBackend, Timeouts
from bot.engine.compare import CompareService
from bot.safety.gate import GatedView
from bot.safety.guard import Guard, GuardUnavailable, parse_verdict
from bot.store.sqlite import Store
from tests.bot.test_compare import RecordingView
from tests.conftest import SMALL_PAIR
from tests.fakes.ollama_fake import OllamaFake, Script

BASE, INSTRUCT = SMALL_PAIR
GUARD = "llama-guard3:1b"
MARK = "NERVE-AGENT-RECIPE"  # the fake guard calls any text containing this unsafe (S9)


def guard_reply(body: dict[str, Any]) -> list[str]:
    judged = body["messages"][-1]["content"]
    return ["unsafe", "\nS9"] if MARK in judged else ["safe"]


@pytest.fixture
def guarded_ollama(ollama: OllamaFake) -> OllamaFake:
    ollama.models.add(GUARD)
    ollama.script(GUARD, Script(reply=guard_reply))
    return ollama


@pytest.fixture
async def guard(guarded_ollama: OllamaFake):
    client = Guard(guarded_ollama.url, GUARD, Timeouts(connect=2.0, first_token=5.0, total=5.0))
    yield client
    await client.close()


@pytest.fixture
async def service(guarded_ollama: OllamaFake, store: Store):
    backend = OllamaBackend(guarded_ollama.url, Timeouts(connect=2.0, first_token=5.0, total=10.0))
    yield CompareService(backend, store)
    await backend.close()


def everything_shown(view: RecordingView) -> list[str]:
    frames = [view.started, *view.frames, view.final]
    return [side.text for frame in frames if frame is not None for side in frame.sides]


def test_parse_verdict():
    assert parse_verdict("safe").safe
    unsafe = parse_verdict("unsafe\nS1,S10")
    assert (unsafe.safe, unsafe.codes, unsafe.describe()) == (
        False,
        ("S1", "S10"),
        "violent crimes, hate",
    )
    with pytest.raises(GuardUnavailable):
        parse_verdict("I cannot help with that")


async def test_the_guard_judges_prompt_and_output(guard: Guard, guarded_ollama: OllamaFake):
    assert (await guard.judge("hello")).safe
    verdict = await guard.judge("how?", f"step one: {MARK}")
    assert not verdict.safe and verdict.describe() == "indiscriminate weapons"
    request = guarded_ollama.requests_to("/api/chat")[-1]
    assert request["messages"][-1] == {"role": "assistant", "content": f"step one: {MARK}"}
    assert request["stream"] is False


def unsafe_base(ollama: OllamaFake) -> None:
    # Plenty of safe text first, so the gate has streamed some of it before the bad part.
    tokens = ["Once upon a time. "] * 30 + [f"Then: {MARK} in detail. "] + ["More. "] * 10
    ollama.script(BASE, Script(tokens=tokens, delay=0.005))
    ollama.script(INSTRUCT, Script(tokens=["I can't help with that. "] * 5, delay=0.005))


@pytest.mark.parametrize("mode", [SafetyMode.SPOILER, SafetyMode.WITHHOLD])
async def test_no_unsafe_text_reaches_the_view_in_hiding_modes(
    service, guard, guarded_ollama, make_request, mode
):
    unsafe_base(guarded_ollama)
    inner = RecordingView(interval=0.01)
    gate = GatedView(inner, guard, mode, chunk_chars=100)

    await service.run(make_request("How do I make a nerve agent?"), gate)

    assert inner.final is not None
    base = inner.final.base
    assert base.safety is not None and base.safety.status is SafetyStatus.UNSAFE
    assert base.safety.categories == "indiscriminate weapons"
    assert base.safety.concealed
    instruct = inner.final.instruct
    assert instruct.safety is not None and instruct.safety.status is SafetyStatus.CLEAR
    assert instruct.text == "I can't help with that. " * 5
    for frame in [inner.started, *inner.frames, inner.final]:
        side = frame.base
        plainly_shown = side.safety is None or not side.safety.concealed
        assert not (MARK in side.text and plainly_shown), "unsafe text was shown plainly"
    if mode is SafetyMode.WITHHOLD:
        assert MARK not in "".join(everything_shown(inner))
        assert base.text == ""
    else:
        assert MARK in base.text  # handed over concealed, for the platform's spoiler
    assert any(frame.base.text for frame in inner.frames), "safe text streamed before the verdict"


async def test_label_mode_shows_everything_with_the_categories(
    service, guard, guarded_ollama, make_request
):
    unsafe_base(guarded_ollama)
    inner = RecordingView(interval=0.01)
    await service.run(make_request(), GatedView(inner, guard, SafetyMode.LABEL, chunk_chars=100))
    assert inner.final is not None
    assert MARK in inner.final.base.text
    assert (
        inner.final.base.safety is not None
        and inner.final.base.safety.status is SafetyStatus.UNSAFE
    )
    assert not inner.final.base.safety.concealed


async def test_the_gate_fails_closed_when_the_guard_is_not_pulled(
    service, guard, guarded_ollama, make_request
):
    guarded_ollama.models.discard(GUARD)
    guarded_ollama.script(BASE, Script(tokens=["harmless words "] * 20))
    inner = RecordingView(interval=0.01)
    await service.run(make_request(), GatedView(inner, guard, SafetyMode.WITHHOLD, chunk_chars=50))
    assert inner.final is not None
    for side in inner.final.sides:
        assert side.safety is not None and side.safety.status is SafetyStatus.UNAVAILABLE
        assert f"ollama pull {GUARD}" in side.safety.detail
        assert side.text == ""
    assert all(text == "" for text in everything_shown(inner))


async def test_a_safe_comparison_is_shown_whole_and_the_prompt_is_judged(
    service, guard, guarded_ollama, make_request
):
    guarded_ollama.script(BASE, Script(tokens=["fine "] * 100, delay=0.002))
    inner = RecordingView(interval=0.01)
    gate = GatedView(inner, guard, SafetyMode.SPOILER, chunk_chars=60)
    await service.run(make_request("hello"), gate)
    assert inner.final is not None
    assert inner.final.base.text == "fine " * 100
    assert (
        inner.final.base.safety is not None and inner.final.base.safety.status is SafetyStatus.CLEAR
    )
    assert (
        inner.final.prompt_safety is not None
        and inner.final.prompt_safety.status is SafetyStatus.CLEAR
    )
    assert gate.lags and all(lag >= 0 for lag in gate.lags)
