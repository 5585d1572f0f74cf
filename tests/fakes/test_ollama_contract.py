"""The fake Ollama against the bytes of a real one: every captured request replayed against the
fake answers with the same status, content type, keys and value types; scripted with the real
model's tokens, it writes the same chunks and counts the same tokens."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator

import httpx
import pytest

from tests.fakes.ollama_fake import OllamaFake, Script
from tests.fixtures.ollama_bytes import REAL_TAGS, Capture, body_shape, replayed_names


@pytest.fixture
async def fake() -> AsyncIterator[OllamaFake]:
    async with OllamaFake(models=set(REAL_TAGS), version="0.24.0") as server:
        yield server


async def send(fake: OllamaFake, capture: Capture) -> httpx.Response:
    async with httpx.AsyncClient(base_url=fake.url) as client:
        if capture.route() in ("/", "/api/tags", "/api/version", "/api/ps", "/v1/models"):
            return await client.get(capture.route())
        return await client.post(
            capture.route(),
            content=capture.request(),
            headers={"Content-Type": "application/json"},
        )


@pytest.mark.parametrize("name", replayed_names())
async def test_a_replayed_request_gets_the_real_status_type_and_shape(
    fake: OllamaFake, name: str
) -> None:
    real = Capture.load(name)
    answer = await send(fake, real)
    content_type = answer.headers["content-type"]
    if real.status is not None:
        assert answer.status_code == real.status
        assert content_type == real.content_type
    assert body_shape(content_type, answer.content) == body_shape(
        real.content_type or content_type, real.body
    )
    if answer.status_code >= 400:
        assert answer.content == real.body  # errors word for word


def chunk_texts(body: bytes) -> list[str]:
    texts = []
    for line in body.splitlines():
        obj = json.loads(line)
        if not obj["done"]:
            texts.append(obj.get("response") or obj["message"]["content"])
    return texts


# The real model's tokens for some captures: those after the last chunk were swallowed by a stop
# sequence (held back while they could still begin one), or are the end-of-text token.
REAL_TOKENS = {
    "generate.raw.stop": [" The", " answer", " is", " ", "4", ".\n", "Q:"],
    "generate.raw.stop_newline": [" ", "4", ","],
    "generate.raw.stop_in_context": [
        *["The", " capital", " of", " France", " is", " Paris", "."],
        *["\n", "\n", "#", " Query", ":"],
    ],
    "generate.raw.length": [",", " the", " city", " of", " New", " York"],
    "chat.stream.think_false": ["The", " capital", " of", " France", " is", " Paris", "."],
}


@pytest.mark.parametrize("name", sorted(REAL_TOKENS))
async def test_scripted_with_the_real_tokens_it_writes_the_real_chunks_and_counts(
    fake: OllamaFake, name: str
) -> None:
    real = Capture.load(name)
    model = json.loads(real.request())["model"]
    fake.script(model, Script(tokens=REAL_TOKENS[name]))
    answer = await send(fake, real)
    assert chunk_texts(answer.content) == chunk_texts(real.body)
    final, real_final = json.loads(answer.content.splitlines()[-1]), real.lines()[-1]
    assert final["eval_count"] == real_final["eval_count"]
    assert final["done_reason"] == real_final["done_reason"]


async def test_end_of_text_first_leaves_eval_duration_out(fake: OllamaFake) -> None:
    real = Capture.load("generate.raw.eos_first")
    fake.script("smollm2:135m-text-t1", Script(tokens=[]))
    request = {"model": "smollm2:135m-text-t1", "prompt": "x", "raw": True}
    async with httpx.AsyncClient(base_url=fake.url) as client:
        answer = await client.post("/api/generate", json=request)
    [final] = [json.loads(line) for line in answer.content.splitlines()]
    assert final.keys() == real.lines()[-1].keys() and "eval_duration" not in final
    assert final["eval_count"] == 1 and final["response"] == ""


async def test_c1_controls_are_written_raw_as_go_writes_them(fake: OllamaFake) -> None:
    real = Capture.load("generate.raw.c1_controls")
    fake.script("smollm2:135m-text-t1", Script(tokens=["f", "\x87", "g"]))
    answer = await send(fake, real)
    raw_line = b'"response":"\xc2\x87","done":false}\n'
    assert raw_line in real.body and raw_line in answer.content
    assert chunk_texts(answer.content) == chunk_texts(real.body)


async def test_html_characters_are_escaped_as_go_escapes_them(fake: OllamaFake) -> None:
    assert b"\\u003c|im_start|\\u003e" in Capture.load("show.instruct").body
    fake.script("smollm2:135m-text", Script(tokens=["<a href='x'>", " & "]))
    async with httpx.AsyncClient(base_url=fake.url) as client:
        answer = await client.post(
            "/api/generate", json={"model": "smollm2:135m-text", "prompt": "x", "raw": True}
        )
    assert b"\"\\u003ca href='x'\\u003e\"" in answer.content and b'" \\u0026 "' in answer.content
    assert chunk_texts(answer.content) == ["<a href='x'>", " & "]


async def test_a_runner_killed_mid_stream_and_the_request_queued_behind_it(
    fake: OllamaFake,
) -> None:
    streaming = Capture.load("chat.runner_killed.streaming")
    queued = Capture.load("chat.runner_killed.queued")
    model = "smollm2:135m-instruct-t1"
    fake.script(model, Script(tokens=["In", " the"] * 20, delay=0.02, kill_runner_after=5))
    request = {"model": model, "messages": [{"role": "user", "content": "Tell me a story"}]}
    started = asyncio.Event()
    fake.on_stream_start = lambda _model: started.set()
    async with httpx.AsyncClient(base_url=fake.url) as client:
        first = asyncio.create_task(client.post("/api/chat", json=request))
        await started.wait()
        second = await client.post("/api/chat", json=request)
        dying = await first
    assert dying.status_code == streaming.status == 200
    assert dying.headers["content-type"] == streaming.content_type
    lines = [json.loads(line) for line in dying.content.splitlines()]
    assert lines[-1] == streaming.lines()[-1]  # the error line, word for word
    assert [line.keys() for line in lines[:-1]] == [streaming.lines()[0].keys()] * 5
    assert second.status_code == queued.status == 500
    assert second.headers["content-type"] == queued.content_type
    assert second.content == queued.body


async def test_a_burst_past_the_queue_is_the_real_503(fake: OllamaFake) -> None:
    real = Capture.load("queue_full_503")
    fake.busy = True
    async with httpx.AsyncClient(base_url=fake.url) as client:
        answer = await client.post(
            "/api/generate", json={"model": "smollm2:135m-text", "prompt": "x", "raw": True}
        )
    assert (answer.status_code, answer.headers["content-type"]) == (503, real.content_type)
    assert answer.content == real.body


async def test_a_pull_that_works_streams_progress_then_success(fake: OllamaFake) -> None:
    fake.pullable.add("qwen2.5:0.5b-base")
    async with httpx.AsyncClient(base_url=fake.url) as client:
        answer = await client.post("/api/pull", json={"model": "qwen2.5:0.5b-base"})
    lines = [json.loads(line) for line in answer.content.splitlines()]
    assert lines[0] == {"status": "pulling manifest"} and lines[-1] == {"status": "success"}
    assert "qwen2.5:0.5b-base" in fake.models


async def test_ps_lists_a_model_once_it_has_answered(fake: OllamaFake) -> None:
    async with httpx.AsyncClient(base_url=fake.url) as client:
        assert (await client.get("/api/ps")).json() == {"models": []}
        await client.post("/api/generate", json={"model": "smollm2:135m-text", "prompt": ""})
        listed = (await client.get("/api/ps")).json()["models"]
    assert [m["model"] for m in listed] == ["smollm2:135m-text"]
