"""The OpenAI-compatible backend, driven over loopback against the fake server (vLLM's dialect)."""

from __future__ import annotations

import socket
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from bot.domain import CompareRequest, Role
from bot.engine.backend import OllamaBackend, Timeouts
from bot.engine.openai_backend import OpenAIBackend, error_detail, sse_data
from bot.engine.routing import RoutingBackend
from bot.errors import (
    BackendBusy,
    BackendRejected,
    BackendStreamError,
    BackendTimeout,
    BackendUnreachable,
    ConnectionLost,
    ModelNotPulled,
)
from tests.bot.conftest import openai_pair
from tests.conftest import SMALL_PAIR
from tests.fakes.ollama_fake import Script
from tests.fakes.openai_fake import OpenAIFake

BASE, INSTRUCT = SMALL_PAIR


def backend_for(url: str, first_token: float = 5.0, total: float = 10.0, **key: Any):
    return OpenAIBackend(url, Timeouts(connect=2.0, first_token=first_token, total=total), **key)


@pytest.fixture
def request_for(make_request):
    """A request whose pair is served by the OpenAI-compatible server at `url`."""

    def make(url: str, prompt: str = "こんにちは", **options: Any) -> CompareRequest:
        return replace(make_request(prompt, **options), pair=openai_pair(url))

    return make


async def run(backend: OpenAIBackend, role: Role, request: CompareRequest) -> tuple[str, Any]:
    pieces: list[str] = []
    try:
        stats = await backend.run_side(role, request, pieces.append)
    finally:
        await backend.close()
    return "".join(pieces), stats


def closed_port_url() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{sock.getsockname()[1]}/v1"


# --- what is sent -------------------------------------------------------------------------------


async def test_base_side_is_a_streamed_completion_of_the_framed_prompt(
    openai_fake: OpenAIFake, request_for
):
    request = request_for(
        openai_fake.url, "What is 2+2?", framing="qa", max_tokens=50, temperature=0.3, seed=7
    )
    text, stats = await run(backend_for(openai_fake.url), Role.BASE, request)

    assert text == "Hello, world."
    [body] = openai_fake.requests_to("/v1/completions")
    assert body == {
        "model": BASE,
        "prompt": "Q: What is 2+2?\nA:",
        "max_tokens": 50,
        "temperature": 0.3,
        "seed": 7,
        "stop": ["\nQ:", "\n\nQ "],
        "stream": True,
        "stream_options": {"include_usage": True},
    }
    assert stats.done_reason == "stop"
    assert stats.eval_count == 4
    assert stats.prompt_eval_count is not None and stats.prompt_eval_count > 0
    assert stats.first_token_s is not None and stats.first_token_s >= 0


async def test_instruct_side_is_a_streamed_chat_with_the_plain_prompt(
    openai_fake: OpenAIFake, request_for
):
    request = request_for(
        openai_fake.url, "What is 2+2?", framing="qa", max_tokens=50, temperature=0.3, seed=7
    )
    text, stats = await run(backend_for(openai_fake.url), Role.INSTRUCT, request)

    assert text == "Hello, world."
    [body] = openai_fake.requests_to("/v1/chat/completions")
    # The same sampling options as the base side; the framing's stops are the base side's only.
    assert body == {
        "model": INSTRUCT,
        "messages": [{"role": "user", "content": "What is 2+2?"}],
        "max_tokens": 50,
        "temperature": 0.3,
        "seed": 7,
        "stream": True,
        "stream_options": {"include_usage": True},
    }
    assert stats.eval_count == 4 and stats.done_reason == "stop"


async def test_stop_sequences_cut_the_base_side(openai_fake: OpenAIFake, request_for):
    openai_fake.script(BASE, Script(tokens=["four", "\nQ:", " next question"]))
    text, stats = await run(
        backend_for(openai_fake.url), Role.BASE, request_for(openai_fake.url, framing="qa")
    )
    assert text == "four"
    assert stats.done_reason == "stop"


async def test_max_tokens_cut_reports_length(openai_fake: OpenAIFake, request_for):
    openai_fake.script(BASE, Script(tokens=["a"] * 20))
    text, stats = await run(
        backend_for(openai_fake.url), Role.BASE, request_for(openai_fake.url, max_tokens=5)
    )
    assert text == "aaaaa"
    assert stats.done_reason == "length"
    assert stats.eval_count == 5


# --- stats where the server gives them ----------------------------------------------------------


async def test_without_usage_the_counts_are_unknown_not_guessed(
    openai_fake: OpenAIFake, request_for
):
    openai_fake.send_usage = False
    text, stats = await run(
        backend_for(openai_fake.url), Role.INSTRUCT, request_for(openai_fake.url)
    )
    assert text == "Hello, world."
    assert stats.eval_count is None and stats.prompt_eval_count is None
    assert stats.tokens_per_s is None
    assert stats.done_reason == "stop"


async def test_llama_cpp_timings_give_the_servers_own_speed(openai_fake: OpenAIFake, request_for):
    openai_fake.send_usage = False
    openai_fake.timings = True
    _, stats = await run(backend_for(openai_fake.url), Role.BASE, request_for(openai_fake.url))
    assert stats.eval_count == 4
    assert stats.eval_duration_ns is not None and stats.eval_duration_ns > 0
    assert stats.tokens_per_s is not None


async def test_a_stream_without_done_that_finished_is_complete(
    openai_fake: OpenAIFake, request_for
):
    openai_fake.send_done = False
    text, stats = await run(backend_for(openai_fake.url), Role.BASE, request_for(openai_fake.url))
    assert text == "Hello, world." and stats.done_reason == "stop"


# --- errors, mapped as the Ollama backend maps them ---------------------------------------------


async def test_unknown_model_is_model_not_pulled_naming_the_server(
    openai_fake: OpenAIFake, request_for
):
    openai_fake.models.discard(BASE)
    with pytest.raises(ModelNotPulled) as caught:
        await run(backend_for(openai_fake.url), Role.BASE, request_for(openai_fake.url))
    message = str(caught.value)
    assert caught.value.kind == "model_not_pulled"
    assert f"`{BASE}` is not served at {openai_fake.url}" in message
    assert "ollama pull" not in message


async def test_rate_limit_is_busy_and_says_when_to_retry(openai_fake: OpenAIFake, request_for):
    openai_fake.retry_after = 7
    with pytest.raises(BackendBusy, match=r"Rate limit reached.*Try again in 7 s"):
        await run(backend_for(openai_fake.url), Role.INSTRUCT, request_for(openai_fake.url))


async def test_overloaded_server_is_busy(openai_fake: OpenAIFake, request_for):
    openai_fake.busy = True
    with pytest.raises(BackendBusy, match="overloaded") as caught:
        await run(backend_for(openai_fake.url), Role.BASE, request_for(openai_fake.url))
    assert caught.value.kind == "busy"


async def test_bad_request_is_rejected_with_the_servers_words(openai_fake: OpenAIFake, request_for):
    openai_fake.script(INSTRUCT, Script(status=400, error="max_tokens is too large: 9999"))
    with pytest.raises(BackendRejected, match=r"\(400\): max_tokens is too large: 9999"):
        await run(backend_for(openai_fake.url), Role.INSTRUCT, request_for(openai_fake.url))


async def test_server_error_status_is_a_stream_error(openai_fake: OpenAIFake, request_for):
    openai_fake.script(BASE, Script(status=500, error="CUDA out of memory"))
    with pytest.raises(BackendStreamError, match="HTTP 500: CUDA out of memory"):
        await run(backend_for(openai_fake.url), Role.BASE, request_for(openai_fake.url))


async def test_wrong_path_says_to_check_the_endpoint(openai_fake: OpenAIFake, request_for):
    # An endpoint without /v1: the server has no /completions route at all.
    with pytest.raises(BackendRejected, match=r"\(404\).*end in /v1"):
        await run(backend_for(openai_fake.root), Role.BASE, request_for(openai_fake.root))


async def test_refused_connection_is_unreachable_naming_the_endpoint(request_for):
    url = closed_port_url()
    with pytest.raises(BackendUnreachable) as caught:
        await run(backend_for(url), Role.BASE, request_for(url))
    assert caught.value.kind == "unreachable"
    assert url in str(caught.value) and "ollama" not in str(caught.value).lower()


async def test_mid_stream_error_event_keeps_the_text_so_far(openai_fake: OpenAIFake, request_for):
    openai_fake.script(
        BASE, Script(tokens=["one", " two", " three"], error_after=2, error="engine died")
    )
    pieces: list[str] = []
    backend = backend_for(openai_fake.url)
    with pytest.raises(BackendStreamError, match="engine died"):
        await backend.run_side(Role.BASE, request_for(openai_fake.url), pieces.append)
    await backend.close()
    assert "".join(pieces) == "one two"


async def test_connection_cut_mid_stream_is_a_stream_error(openai_fake: OpenAIFake, request_for):
    openai_fake.script(INSTRUCT, Script(tokens=["one", " two", " three"], drop_after=2))
    pieces: list[str] = []
    backend = backend_for(openai_fake.url)
    with pytest.raises(ConnectionLost, match="closed mid-answer: the server stopped"):
        await backend.run_side(Role.INSTRUCT, request_for(openai_fake.url), pieces.append)
    await backend.close()
    assert "".join(pieces) == "one two"


async def test_a_stream_ending_without_its_last_chunk_is_a_stream_error(
    openai_fake: OpenAIFake, request_for
):
    openai_fake.send_finish = False
    openai_fake.send_done = False
    with pytest.raises(ConnectionLost, match="closed mid-answer"):
        await run(backend_for(openai_fake.url), Role.BASE, request_for(openai_fake.url))


async def test_slow_first_token_times_out(openai_fake: OpenAIFake, request_for):
    openai_fake.script(INSTRUCT, Script(first_delay=2.0))
    with pytest.raises(BackendTimeout, match="first token"):
        await run(
            backend_for(openai_fake.url, first_token=0.2, total=5.0),
            Role.INSTRUCT,
            request_for(openai_fake.url),
        )


async def test_total_timeout_cuts_a_slow_stream(openai_fake: OpenAIFake, request_for):
    openai_fake.script(BASE, Script(tokens=["x"] * 50, delay=0.05))
    with pytest.raises(BackendTimeout, match="whole answer"):
        await run(
            backend_for(openai_fake.url, first_token=0.3, total=0.4),
            Role.BASE,
            request_for(openai_fake.url, max_tokens=100),
        )


# --- keys ---------------------------------------------------------------------------------------


async def test_missing_key_is_rejected_naming_the_variable(openai_fake: OpenAIFake, request_for):
    openai_fake.api_key = "sekrit"
    backend = backend_for(openai_fake.url, api_key_env="VLLM_API_KEY")
    with pytest.raises(
        BackendRejected, match=r"\(401\): Unauthorized; check the key in VLLM_API_KEY"
    ):
        await run(backend, Role.BASE, request_for(openai_fake.url))


async def test_the_key_comes_from_the_variable_the_pair_names(
    openai_fake: OpenAIFake, make_request, monkeypatch: pytest.MonkeyPatch
):
    openai_fake.api_key = "sekrit"
    monkeypatch.setenv("TEST_ENGINE_KEY", "sekrit")
    pair = openai_pair(openai_fake.url, api_key_env="TEST_ENGINE_KEY")
    text = await _run_routed(pair, make_request)
    assert text == "Hello, world."
    assert openai_fake.authorizations == ["Bearer sekrit"]


async def test_the_key_may_live_in_dot_env_like_the_settings(
    openai_fake: OpenAIFake, make_request, tmp_path: Path
):
    openai_fake.api_key = "from-dotenv"
    (tmp_path / ".env").write_text("TEST_ENGINE_KEY=from-dotenv\n")  # the cwd is tmp_path
    pair = openai_pair(openai_fake.url, api_key_env="TEST_ENGINE_KEY")
    assert await _run_routed(pair, make_request) == "Hello, world."


async def _run_routed(pair, make_request) -> str:
    timeouts = Timeouts(connect=2.0, first_token=5.0, total=10.0)
    backend = RoutingBackend(OllamaBackend(closed_port_url(), timeouts), timeouts, [pair])
    pieces: list[str] = []
    try:
        await backend.run_side(Role.BASE, replace(make_request(), pair=pair), pieces.append)
    finally:
        await backend.close()
    return "".join(pieces)


# --- routing ------------------------------------------------------------------------------------


async def test_each_side_goes_to_its_own_server(make_request):
    # One engine process per model is the usual vLLM or llama.cpp set-up. Ollama is down here:
    # a request routed there would fail as unreachable.
    async with OpenAIFake(models={BASE}) as base_server, OpenAIFake(models={INSTRUCT}) as chat:
        pair = openai_pair(base_server.url, instruct_endpoint=chat.url)
        timeouts = Timeouts(connect=2.0, first_token=5.0, total=10.0)
        backend = RoutingBackend(OllamaBackend(closed_port_url(), timeouts), timeouts, [pair])
        request = replace(make_request(), pair=pair)
        try:
            for role in Role:
                await backend.run_side(role, request, lambda _text: None)
        finally:
            await backend.close()
    assert [r.path for r in base_server.requests] == ["/v1/completions"]
    assert [r.path for r in chat.requests] == ["/v1/chat/completions"]


async def test_routed_model_list_spans_ollama_and_every_known_server(ollama, make_request):
    async with OpenAIFake(models={"Qwen/Qwen2.5-0.5B", "llama3:8b"}) as engine:
        pair = openai_pair(engine.url)
        timeouts = Timeouts(connect=2.0, first_token=5.0, total=10.0)
        backend = RoutingBackend(OllamaBackend(ollama.url, timeouts), timeouts, [pair])
        try:
            listed = await backend.list_models()
        finally:
            await backend.close()
    # In Ollama's spelling, as `twinbot pairs` compares them with canonical_tag().
    assert listed == {*SMALL_PAIR, "Qwen/Qwen2.5-0.5B:latest", "llama3:8b"}


async def test_list_models_and_version(openai_fake: OpenAIFake):
    backend = backend_for(openai_fake.url)
    try:
        assert await backend.list_models() == set(SMALL_PAIR)
        assert await backend.version() == "OpenAI-compatible, 2 models"
    finally:
        await backend.close()


async def test_list_models_when_unreachable():
    backend = backend_for(closed_port_url())
    try:
        with pytest.raises(BackendUnreachable):
            await backend.list_models()
    finally:
        await backend.close()


# --- the wire format ----------------------------------------------------------------------------


async def _events(*lines: str) -> list[str]:
    async def feed():
        for line in lines:
            yield line

    return [data async for data in sse_data(feed())]


async def test_sse_events_end_at_blank_lines_and_skip_comments():
    events = await _events(
        ": keep-alive", "", 'data: {"a": 1}', "", "event: x", "data:tight", "", "data: [DONE]"
    )
    assert events == ['{"a": 1}', "tight", "[DONE]"]


async def test_sse_joins_multi_line_data():
    assert await _events("data: one", "data: two", "") == ["one\ntwo"]


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (b'{"error": {"message": "bad", "type": "BadRequestError", "code": 400}}', ("bad", "400")),
        (b'{"object": "error", "message": "old vllm", "code": 404}', ("old vllm", "404")),
        (b'{"error": "Unauthorized"}', ("Unauthorized", "")),
        (b'{"detail": "Not Found"}', ("Not Found", "")),
        (b"<html>502 Bad Gateway</html>", ("<html>502 Bad Gateway</html>", "")),
        (b"", ("Fallback", "")),
    ],
)
def test_error_bodies_in_every_shape(body: bytes, expected: tuple[str, str]):
    assert error_detail(body, "Fallback") == expected
