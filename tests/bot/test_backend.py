"""The Ollama backend, driven through the real `ollama` client against the fake server."""

from __future__ import annotations

import asyncio
import socket
from typing import Any

import pytest

from bot.domain import CompareRequest, Role
from bot.engine.backend import (
    OllamaBackend,
    Timeouts,
    canonical_tag,
    map_response_error,
    normalize_host,
)
from bot.errors import (
    BackendBusy,
    BackendRejected,
    BackendStreamError,
    BackendTimeout,
    BackendUnreachable,
    ModelNotPulled,
    RunnerDied,
)
from tests.conftest import SMALL_PAIR
from tests.fakes.ollama_fake import OllamaFake, Script

BASE, INSTRUCT = SMALL_PAIR


def backend_for(url: str, first_token: float = 5.0, total: float = 10.0) -> OllamaBackend:
    return OllamaBackend(url, Timeouts(connect=2.0, first_token=first_token, total=total))


async def run(backend: OllamaBackend, role: Role, request: CompareRequest) -> tuple[str, Any]:
    pieces: list[str] = []
    try:
        stats = await backend.run_side(role, request, pieces.append)
    finally:
        await backend.close()
    return "".join(pieces), stats


async def test_base_side_is_raw_generate_with_framed_prompt_and_stops(
    ollama: OllamaFake, make_request
):
    request = make_request("What is 2+2?", framing="qa", max_tokens=50, temperature=0.3, seed=7)
    text, stats = await run(backend_for(ollama.url), Role.BASE, request)

    assert text == "Hello, world."
    [body] = ollama.requests_to("/api/generate")
    assert body["model"] == BASE
    assert body["raw"] is True
    assert body["stream"] is True
    assert body["prompt"] == "Q: What is 2+2?\nA:"
    assert body["options"] == {
        "num_predict": 50,
        "temperature": 0.3,
        "seed": 7,
        "stop": ["\nQ:", "\n\nQ "],
    }
    assert not {"template", "system", "context"} & body.keys()
    assert stats.done_reason == "stop"
    assert stats.eval_count == 5  # four tokens and end-of-text


async def test_instruct_side_is_chat_with_plain_prompt_and_think_off(
    ollama: OllamaFake, make_request
):
    request = make_request("What is 2+2?", framing="qa", max_tokens=50, temperature=0.3, seed=7)
    text, stats = await run(backend_for(ollama.url), Role.INSTRUCT, request)

    assert text == "Hello, world."
    [body] = ollama.requests_to("/api/chat")
    assert body["model"] == INSTRUCT
    assert body["messages"] == [{"role": "user", "content": "What is 2+2?"}]
    assert body["think"] is False
    # Same sampling options on both sides; the framing's stops belong to the base side only.
    assert body["options"] == {"num_predict": 50, "temperature": 0.3, "seed": 7}
    assert stats.eval_count == 5  # four tokens and end-of-text
    assert stats.tokens_per_s is not None and stats.tokens_per_s > 0
    assert stats.first_token_s is not None and stats.first_token_s >= 0


async def test_num_predict_cut_reports_length(ollama: OllamaFake, make_request):
    ollama.script(BASE, Script(tokens=["a"] * 20))
    text, stats = await run(backend_for(ollama.url), Role.BASE, make_request(max_tokens=5))
    assert text == "aaaaa"
    assert stats.done_reason == "length"
    assert stats.eval_count == 5


async def test_model_not_pulled_names_the_pull_command(ollama: OllamaFake, make_request):
    ollama.models.discard(BASE)
    with pytest.raises(ModelNotPulled) as caught:
        await run(backend_for(ollama.url), Role.BASE, make_request())
    assert f"ollama pull {BASE}" in str(caught.value)


async def test_busy_server_maps_to_busy(ollama: OllamaFake, make_request):
    ollama.busy = True
    with pytest.raises(BackendBusy, match="maximum pending requests exceeded"):
        await run(backend_for(ollama.url), Role.INSTRUCT, make_request())


async def test_bad_request_maps_to_rejected_with_the_servers_words(
    ollama: OllamaFake, make_request
):
    ollama.script(INSTRUCT, Script(status=400, error="invalid options"))
    with pytest.raises(BackendRejected, match="invalid options"):
        await run(backend_for(ollama.url), Role.INSTRUCT, make_request())


async def test_refused_connection_names_the_host(make_request):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    url = f"http://127.0.0.1:{port}"
    with pytest.raises(BackendUnreachable, match=f"127.0.0.1:{port}"):
        await run(backend_for(url), Role.BASE, make_request())


async def test_mid_stream_error_keeps_the_text_so_far(ollama: OllamaFake, make_request):
    ollama.script(
        BASE, Script(tokens=["one", " two", " three"], error_after=2, error="out of memory")
    )
    pieces: list[str] = []
    backend = backend_for(ollama.url)
    with pytest.raises(BackendStreamError, match="out of memory"):
        await backend.run_side(Role.BASE, make_request(), pieces.append)
    await backend.close()
    assert "".join(pieces) == "one two"


async def test_connection_cut_mid_stream_is_a_stream_error(ollama: OllamaFake, make_request):
    ollama.script(INSTRUCT, Script(tokens=["one", " two", " three"], drop_after=2))
    pieces: list[str] = []
    backend = backend_for(ollama.url)
    with pytest.raises(BackendStreamError):
        await backend.run_side(Role.INSTRUCT, make_request(), pieces.append)
    await backend.close()
    assert "".join(pieces) == "one two"


async def test_slow_first_token_times_out(ollama: OllamaFake, make_request):
    ollama.script(BASE, Script(first_delay=2.0))
    with pytest.raises(BackendTimeout, match="first token"):
        await run(backend_for(ollama.url, first_token=0.2, total=5.0), Role.BASE, make_request())


async def test_total_timeout_cuts_a_slow_stream(ollama: OllamaFake, make_request):
    ollama.script(BASE, Script(tokens=["x"] * 50, delay=0.05))
    with pytest.raises(BackendTimeout, match="whole answer"):
        await run(backend_for(ollama.url, first_token=0.3, total=0.4), Role.BASE, make_request())


async def test_list_models_and_version(ollama: OllamaFake):
    backend = backend_for(ollama.url)
    try:
        assert await backend.list_models() == set(SMALL_PAIR)
        assert await backend.version() == ollama.version
    finally:
        await backend.close()


async def test_list_models_when_unreachable():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    backend = backend_for(f"127.0.0.1:{port}")
    try:
        with pytest.raises(BackendUnreachable):
            await backend.list_models()
        with pytest.raises(BackendUnreachable):
            await backend.version()
    finally:
        await backend.close()


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("127.0.0.1:11434", "http://127.0.0.1:11434"),
        ("localhost", "http://localhost:11434"),
        ("http://ollama:8080/", "http://ollama:8080"),
        ("https://example.org", "https://example.org:443"),
        ("http://example.org", "http://example.org:80"),
        ("example.org/ollama/", "http://example.org:11434/ollama"),
        ("[::1]:11434", "http://[::1]:11434"),
    ],
)
def test_normalize_host(given: str, expected: str):
    assert normalize_host(given) == expected


def test_canonical_tag_adds_latest_only_when_untagged():
    assert canonical_tag("llama3") == "llama3:latest"
    assert canonical_tag("llama3:text") == "llama3:text"
    assert canonical_tag("registry.io:5000/ns/model") == "registry.io:5000/ns/model:latest"


async def test_line_breaking_code_points_in_model_output_arrive_intact(
    ollama: OllamaFake, make_request
):
    # The fake, like Ollama for U+0085, writes these raw inside the JSON strings.
    tokens = ["before", "\u0085", "mid\u2028dle", "\u2029after", "é\u0085"]
    ollama.script(BASE, Script(tokens=tokens))
    text, stats = await run(backend_for(ollama.url), Role.BASE, make_request())
    assert text == "".join(tokens)
    assert stats.eval_count == len(tokens) + 1  # and end-of-text


async def test_escaping_survives_any_chunk_boundary():
    import httpx

    from bot.engine.line_safe import _EscapingStream

    body = '{"response":"a\u0085b\u2028c\u2029"}\n'.encode()
    expected = b'{"response":"a\\u0085b\\u2028c\\u2029"}\n'

    class Chunks(httpx.AsyncByteStream):
        def __init__(self, parts: list[bytes]) -> None:
            self.parts = parts

        async def __aiter__(self):
            for part in self.parts:
                yield part

    for cut in range(1, len(body)):
        for second in range(cut, len(body)):
            parts = [body[:cut], body[cut:second], body[second:]]
            out = b"".join([piece async for piece in _EscapingStream(Chunks(parts))])
            assert out == expected, (cut, second)


async def test_a_first_token_timeout_with_the_model_loaded_does_not_blame_loading(
    ollama: OllamaFake, make_request
):
    ollama.script(BASE, Script(first_delay=2.0))
    ollama.loaded.add(BASE)  # /api/ps lists it
    with pytest.raises(BackendTimeout) as caught:
        await run(backend_for(ollama.url, first_token=0.2, total=5.0), Role.BASE, make_request())
    message = str(caught.value)
    assert f"`{BASE}` is loaded (Ollama's /api/ps lists it)" in message
    assert "loading" not in message and message.lower().count("try again") == 1


async def test_a_first_token_timeout_before_the_model_is_in_memory_says_loading(
    ollama: OllamaFake, make_request
):
    ollama.script(BASE, Script(first_delay=2.0))
    # The fake lists a model in /api/ps once its first delay (the load) is over.
    with pytest.raises(BackendTimeout, match="probably still loading"):
        await run(backend_for(ollama.url, first_token=0.2, total=5.0), Role.BASE, make_request())


async def test_a_total_timeout_says_the_model_was_still_writing(ollama: OllamaFake, make_request):
    ollama.script(BASE, Script(tokens=["x"] * 50, delay=0.05))
    with pytest.raises(BackendTimeout) as caught:
        await run(backend_for(ollama.url, first_token=0.3, total=0.4), Role.BASE, make_request())
    assert "still writing" in str(caught.value) and "loading" not in str(caught.value)


async def test_the_runner_dying_names_it_for_the_stream_and_the_request_queued_behind(
    ollama: OllamaFake, make_request
):
    ollama.script(INSTRUCT, Script(tokens=["a"] * 30, delay=0.02, kill_runner_after=3))
    started = asyncio.Event()
    ollama.on_stream_start = lambda _model: started.set()
    first, second = backend_for(ollama.url), backend_for(ollama.url)
    try:
        dying = asyncio.create_task(
            first.run_side(Role.INSTRUCT, make_request(), lambda _text: None)
        )
        await started.wait()
        with pytest.raises(RunnerDied, match="llama runner process no longer running"):
            await second.run_side(Role.INSTRUCT, make_request(), lambda _text: None)
        with pytest.raises(RunnerDied, match="error was encountered while running the model"):
            await dying
    finally:
        await first.close()
        await second.close()


async def test_a_wrongly_typed_option_is_a_rejected_request_not_a_model_failure(
    ollama: OllamaFake,
):
    from ollama import AsyncClient, ResponseError

    client = AsyncClient(host=ollama.url)
    try:
        with pytest.raises(ResponseError) as caught:
            await client.generate(model=BASE, prompt="x", raw=True, options={"num_predict": "ten"})
    finally:
        await client.close()  # type: ignore[no-untyped-call]
    mapped = map_response_error(caught.value, BASE)
    assert isinstance(mapped, BackendRejected) and "must be of type integer" in str(mapped)
