"""The bytes a real Ollama (v0.24.0) sent, replayed verbatim through the real `ollama` client and
twinbot's own parsing: every captured answer becomes the result or the message it should."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
from aiohttp import web

from bot.domain import Role, SideStats
from bot.engine.backend import OllamaBackend, Timeouts
from bot.engine.openai_backend import OpenAIBackend
from bot.engine.pull import PullError, pull_models
from bot.errors import (
    BackendBusy,
    BackendError,
    BackendRejected,
    ModelError,
    ModelNotPulled,
    RunnerDied,
)
from tests.conftest import SMALL_PAIR
from tests.fixtures.ollama_bytes import REAL_TAGS, Capture


class Replay:
    """Answers every request with one captured answer, byte for byte."""

    def __init__(self) -> None:
        self.capture: Capture | None = None
        self.by_path: dict[str, Capture] = {}  # a capture for one path, before `capture`
        self.url = ""

    async def handle(self, request: web.Request) -> web.StreamResponse:
        capture = self.by_path.get(request.path) or self.capture
        assert capture is not None
        response = web.StreamResponse(
            status=capture.status or 200,
            headers={"Content-Type": capture.content_type or "application/x-ndjson"},
        )
        await response.prepare(request)
        await response.write(capture.body)
        await response.write_eof()
        return response


@pytest.fixture
async def replay() -> AsyncIterator[Replay]:
    server = Replay()
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", server.handle)
    runner = web.AppRunner(app, handle_signals=False, shutdown_timeout=0.2)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    server.url = f"http://127.0.0.1:{site._server.sockets[0].getsockname()[1]}"  # type: ignore[union-attr]
    yield server
    await runner.cleanup()


def backend(url: str) -> OllamaBackend:
    return OllamaBackend(url, Timeouts(connect=2.0, first_token=5.0, total=10.0))


async def run_side(
    replay: Replay, name: str, make_request: Callable[..., Any]
) -> tuple[str, SideStats]:
    replay.capture = Capture.load(name)
    role = Role.INSTRUCT if name.startswith("chat.") else Role.BASE
    pieces: list[str] = []
    ollama = backend(replay.url)
    try:
        stats = await ollama.run_side(role, make_request("hi", max_tokens=64), pieces.append)
    finally:
        await ollama.close()
    return "".join(pieces), stats


def streamed_text(capture: Capture) -> str:
    return "".join(
        line.get("response") or (line.get("message") or {}).get("content") or ""
        for line in capture.lines()
    )


STREAMS = [
    "chat.length",
    "chat.stop",
    "chat.stream.no_think",
    "chat.stream.think_false",
    "generate.raw.c1_controls",
    "generate.raw.eos_first",
    "generate.raw.length",
    "generate.raw.stop",
    "generate.raw.stop_in_context",
    "generate.raw.stop_newline",
    "generate.raw.stream",
    "generate.think_false",
    "generate.unicode_ja",
]


@pytest.mark.parametrize("name", STREAMS)
async def test_a_real_stream_gives_its_text_and_ollamas_own_stats(
    replay: Replay, make_request: Callable[..., Any], name: str
) -> None:
    text, stats = await run_side(replay, name, make_request)
    capture = Capture.load(name)
    final = capture.lines()[-1]
    assert text == streamed_text(capture)
    assert stats.done_reason == final["done_reason"]
    assert stats.eval_count == final["eval_count"]  # tokens, not chunks
    assert stats.eval_duration_ns == final.get("eval_duration")
    assert stats.prompt_eval_count == final["prompt_eval_count"]


async def test_end_of_text_first_has_no_speed_and_no_text(
    replay: Replay, make_request: Callable[..., Any]
) -> None:
    text, stats = await run_side(replay, "generate.raw.eos_first", make_request)
    assert text == "" and stats.eval_count == 1
    assert stats.eval_duration_ns is None and stats.tokens_per_s is None


async def test_a_c1_control_arrives_intact(
    replay: Replay, make_request: Callable[..., Any]
) -> None:
    text, _ = await run_side(replay, "generate.raw.c1_controls", make_request)
    assert text == "f\x87g"


async def test_a_load_only_answer_is_done_with_no_stats(
    replay: Replay, make_request: Callable[..., Any]
) -> None:
    for name in ("generate.raw.empty_prompt", "chat.empty_messages"):
        text, stats = await run_side(replay, name, make_request)
        assert text == "" and stats.done_reason == "load" and stats.eval_count is None


@pytest.mark.parametrize(
    ("name", "error", "words"),
    [
        (
            "chat.runner_killed.streaming",
            RunnerDied,
            "Ollama's process running `{instruct}` died (an error was encountered while "
            "running the model: unexpected EOF)",
        ),
        (
            "chat.runner_killed.queued",
            RunnerDied,
            "Ollama's process running `{instruct}` died (llama runner process no longer "
            "running: -1)",
        ),
        ("chat.missing_404", ModelNotPulled, "run `ollama pull {instruct}`"),
        ("chat.think_true", BackendRejected, 'rejected the request (400): "smollm2'),
        ("generate.missing_404", ModelNotPulled, "run `ollama pull {base}`"),
        (
            "generate.bad_option_type",
            BackendRejected,
            'rejected the request (500): option "num_predict" must be of type integer',
        ),
        ("generate.raw.template_400", BackendRejected, "raw mode does not support template"),
        (
            "queue_full_503",
            BackendBusy,
            "Ollama is busy (server busy; maximum pending requests exceeded). Try again",
        ),
    ],
)
async def test_a_real_error_becomes_the_message_naming_its_cause(
    replay: Replay,
    make_request: Callable[..., Any],
    name: str,
    error: type[BackendError],
    words: str,
) -> None:
    with pytest.raises(error) as caught:
        await run_side(replay, name, make_request)
    base, instruct = SMALL_PAIR
    message = str(caught.value)
    assert words.format(base=base, instruct=instruct) in message
    assert message.lower().count("try again") <= 1
    assert "Error" not in message.replace("ResponseError", "")  # no Python class names


async def test_the_runner_dying_keeps_the_text_so_far(
    replay: Replay, make_request: Callable[..., Any]
) -> None:
    replay.capture = Capture.load("chat.runner_killed.streaming")
    pieces: list[str] = []
    ollama = backend(replay.url)
    with pytest.raises(RunnerDied) as caught:
        await ollama.run_side(Role.INSTRUCT, make_request("hi"), pieces.append)
    await ollama.close()
    assert "".join(pieces) == streamed_text(replay.capture)
    assert caught.value.kind == "runner_died"
    assert "stopped with an error" not in str(caught.value)


async def test_a_mid_stream_error_that_is_not_the_runner_is_the_models_error() -> None:
    from ollama import ResponseError

    from bot.engine.backend import map_response_error

    mapped = map_response_error(ResponseError("out of memory", -1), "m:1")
    assert isinstance(mapped, ModelError) and "out of memory" in str(mapped)


async def test_tags_version_and_ps(replay: Replay) -> None:
    ollama = backend(replay.url)
    try:
        replay.capture = Capture.load("tags")
        assert await ollama.list_models() == set(REAL_TAGS)
        replay.capture = Capture.load("version")
        assert await ollama.version() == "0.24.0"
        replay.capture = Capture.load("ps")
        assert await ollama.loaded_models() == set()
    finally:
        await ollama.close()


async def test_a_pull_without_internet_names_the_registry(replay: Replay) -> None:
    replay.capture = Capture.load("pull.nonexistent")
    replay.by_path["/api/tags"] = Capture.load("tags")
    with pytest.raises(PullError) as caught:
        await pull_models(replay.url, ["doesnotexist:0.1b"], 2.0, lambda _line: None)
    message = str(caught.value)
    assert "cannot reach its registry (registry.ollama.ai)" in message
    assert "no such host" in message


def openai_side(replay: Replay) -> OpenAIBackend:
    return OpenAIBackend(replay.url + "/v1", Timeouts(connect=2.0, first_token=5.0, total=10.0))


@pytest.mark.parametrize(
    ("name", "role"),
    [
        ("v1.chat.stream", Role.INSTRUCT),
        ("v1.chat.include_usage", Role.INSTRUCT),
        ("v1.completions.stream", Role.BASE),
        ("v1.completions.include_usage", Role.BASE),
    ],
)
async def test_ollamas_v1_streams_through_the_openai_backend(
    replay: Replay, make_request: Callable[..., Any], name: str, role: Role
) -> None:
    replay.capture = Capture.load(name)
    pieces: list[str] = []
    server = openai_side(replay)
    try:
        stats = await server.run_side(role, make_request("hi"), pieces.append)
    finally:
        await server.close()
    expected = ""
    usage: dict[str, int] = {}
    for event in replay.capture.events():
        if event == "[DONE]":
            continue
        chunk = json.loads(event)
        for choice in chunk["choices"]:
            expected += choice.get("text") or (choice.get("delta") or {}).get("content") or ""
        usage = chunk.get("usage") or usage
    assert "".join(pieces) == expected
    assert stats.done_reason == "length"
    assert stats.eval_count == (usage["completion_tokens"] if usage else None)


async def test_ollamas_v1_missing_model_and_model_list(
    replay: Replay, make_request: Callable[..., Any]
) -> None:
    server = openai_side(replay)
    try:
        replay.capture = Capture.load("v1.models")
        assert await server.list_models() == set(REAL_TAGS)
        replay.capture = Capture.load("v1.completions.missing")
        with pytest.raises(ModelNotPulled, match="not served at"):
            await server.run_side(Role.BASE, make_request("hi"), lambda _text: None)
    finally:
        await server.close()
