"""The fake Ollama's logprobs against a real v0.24.0's (fixtures logprobs/): the same keys,
types and stream layout; scripted with the real tokens and alternatives, the same entries."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from tests.fakes.ollama_fake import OllamaFake, Script
from tests.fixtures.ollama_bytes import REAL, REAL_TAGS, Capture, body_shape

CAPTURES = ["logprobs/gen", "logprobs/gen.stream", "logprobs/chat", "logprobs/chat.stream"]


@pytest.fixture
async def fake() -> AsyncIterator[OllamaFake]:
    async with OllamaFake(models=set(REAL_TAGS), version="0.24.0") as server:
        yield server


def request_of(name: str) -> dict[str, Any]:
    body: dict[str, Any] = json.loads((REAL / f"{name}.json").read_bytes())
    return body


def route_of(name: str) -> str:
    return "/api/chat" if name.startswith("logprobs/chat") else "/api/generate"


async def replay(fake: OllamaFake, name: str) -> httpx.Response:
    async with httpx.AsyncClient(base_url=fake.url) as client:
        return await client.post(route_of(name), json=request_of(name))


def logprob_lists(body: bytes) -> list[list[dict[str, Any]] | None]:
    """Each line's `logprobs` (None where a line has none)."""
    return [json.loads(line).get("logprobs") for line in body.splitlines() if line.strip()]


def script_from(real: Capture) -> Script:
    """The real model's tokens and, per position, the alternatives the server listed."""
    entries = [e for line in logprob_lists(real.body) for e in line or []]
    return Script(
        tokens=[e["token"] for e in entries],
        alternatives=[[(a["token"], a["logprob"]) for a in e["top_logprobs"]] for e in entries],
    )


@pytest.mark.parametrize("name", CAPTURES)
async def test_a_logprobs_answer_has_the_real_keys_types_and_layout(
    fake: OllamaFake, name: str
) -> None:
    real = Capture.load(name)
    answer = await replay(fake, name)
    content_type = answer.headers["content-type"]
    assert (answer.status_code, content_type) == (real.status, real.content_type)
    assert body_shape(content_type, answer.content) == body_shape(real.content_type, real.body)
    # Chunks carry logprobs, the final chunk of a stream none, each entry `top_logprobs` long.
    lists = logprob_lists(answer.content)
    assert [entries is None for entries in lists] == [
        entries is None for entries in logprob_lists(real.body)
    ]
    top = request_of(name)["top_logprobs"]
    assert all(len(e["top_logprobs"]) == top for entries in lists for e in entries or [])


@pytest.mark.parametrize("name", CAPTURES)
async def test_scripted_with_the_real_alternatives_it_writes_the_real_entries(
    fake: OllamaFake, name: str
) -> None:
    real = Capture.load(name)
    model = request_of(name)["model"]
    fake.script(model, script_from(real))
    answer = await replay(fake, name)
    assert logprob_lists(answer.content) == logprob_lists(real.body)


async def test_the_chosen_token_keeps_its_own_logprob_when_it_is_not_the_likeliest(
    fake: OllamaFake,
) -> None:
    real = Capture.load("logprobs/chat")
    fake.script("smollm2:135m-instruct-t1", script_from(real))
    [[first, *_]] = logprob_lists((await replay(fake, "logprobs/chat")).content)
    assert first["token"] == "To" and first["top_logprobs"][0]["token"] == "1"
    assert first["logprob"] < first["top_logprobs"][0]["logprob"]


async def test_more_than_twenty_alternatives_is_the_real_400(fake: OllamaFake) -> None:
    real = Capture.load("logprobs/gen.top30")
    answer = await replay(fake, "logprobs/gen.top30")
    assert (answer.status_code, answer.headers["content-type"]) == (400, real.content_type)
    assert answer.content == real.body


async def test_without_logprobs_asked_no_chunk_carries_them(fake: OllamaFake) -> None:
    request = {**request_of("logprobs/gen.stream"), "logprobs": False}
    async with httpx.AsyncClient(base_url=fake.url) as client:
        answer = await client.post("/api/generate", json=request)
    assert logprob_lists(answer.content) == [None] * len(answer.content.splitlines())


async def test_an_older_server_ignores_the_fields(fake: OllamaFake) -> None:
    fake.serves_logprobs = False
    request = {**request_of("logprobs/gen"), "top_logprobs": 30}
    async with httpx.AsyncClient(base_url=fake.url) as client:
        answer = await client.post("/api/generate", json=request)
    assert answer.status_code == 200 and "logprobs" not in answer.json()


async def test_a_token_cut_inside_a_character_still_gets_its_entry(fake: OllamaFake) -> None:
    fake.script("smollm2:135m-text-t1", Script(tokens=["ok", "\ud800"]))
    request = {**request_of("logprobs/gen"), "options": {"num_predict": 2}}
    async with httpx.AsyncClient(base_url=fake.url) as client:
        answer = await client.post("/api/generate", json=request)
    assert [e["bytes"] for e in answer.json()["logprobs"]] == [[111, 107], [0xED, 0xA0, 0x80]]
