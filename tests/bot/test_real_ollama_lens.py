"""The lens against a real Ollama (the real-engine tier): SmolLM2-135M as both twins, the same
weights behind both tags, which gives the lens checks it can only fail for a real reason.

Run with `TWINBOT_REAL_OLLAMA=http://127.0.0.1:11434 .venv/bin/python -m pytest -m real_ollama`
(scripts/real-ollama-tags creates the tags); without the variable every test here is skipped,
with the reason in the summary.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import ollama
import pytest

from bot.config import Settings
from bot.domain import Framing, Requester, Role
from bot.engine.backend import OllamaBackend, Timeouts
from bot.engine.catalog import Catalog
from bot.engine.lens import OllamaLink, next_token_distribution
from bot.engine.lens_chat_text import chat_text
from bot.engine.lens_samples import sample_both
from bot.engine.lens_shift import ShiftKind, token_shift
from bot.engine.requests import build_request
from bot.runtime import make_backend
from tests.bot.test_real_ollama import SMOLLM2, real_catalog, real_settings  # noqa: F401

pytestmark = pytest.mark.real_ollama

RAW = Framing("raw", "{prompt}", ("\n\n\n\n",))
NUMBER = "Pick a number from 1 to 10:"


@pytest.fixture
async def backend(real_ollama_url: str) -> AsyncIterator[OllamaBackend]:
    backend = OllamaBackend(real_ollama_url, Timeouts(connect=5, first_token=60, total=120))
    yield backend
    await backend.close()


async def test_the_first_position_gives_real_probabilities_on_both_sides(backend: OllamaBackend):
    sides = await next_token_distribution(backend, SMOLLM2, RAW, NUMBER, 10)
    for side in sides.values():
        chances = [c.probability for c in side.chances]
        assert 1 <= len(chances) <= 10 and chances == sorted(chances, reverse=True)
        assert all(0 < p <= 1 for p in chances) and side.covered <= 1.0001


async def test_at_n_reads_after_the_first_n_tokens_of_the_greedy_answer(backend: OllamaBackend):
    sides = await next_token_distribution(backend, SMOLLM2, RAW, NUMBER, 5, at=3)
    greedy = await backend.client.chat(
        model=SMOLLM2.instruct, messages=[{"role": "user", "content": NUMBER}], stream=False,
        options={"temperature": 0, "num_predict": 3, "num_thread": 1},
    )  # fmt: skip
    assert sides[Role.INSTRUCT].prefix == greedy.message.content


async def test_the_chat_written_out_reads_as_ollamas_own_template_does(backend: OllamaBackend):
    # The lens writes the instruct chat out itself (ChatML for SmolLM2): the first-token odds
    # through that text, sent raw, match /api/chat's through Ollama's template.
    link = OllamaLink.of(backend)
    text = await chat_text(link, SMOLLM2.instruct, NUMBER)
    common = {"stream": False, "logprobs": True, "top_logprobs": 5}
    options = {"num_predict": 1, "temperature": 0, "num_thread": 1}
    raw = await backend.client.generate(
        model=SMOLLM2.instruct, prompt=text, raw=True, options=options, **common
    )
    chat = await backend.client.chat(
        model=SMOLLM2.instruct, messages=[{"role": "user", "content": NUMBER}],
        options=options, **common,
    )  # fmt: skip
    ours = [(a.token, round(a.logprob, 3)) for a in raw.logprobs[0].top_logprobs]
    theirs = [(a.token, round(a.logprob, 3)) for a in chat.logprobs[0].top_logprobs]
    assert ours == theirs


async def test_the_same_weights_shift_nothing(backend: OllamaBackend):
    # Both tags hold the same GGUF: reading the same text, the base tag ranks every greedy
    # token of the instruct tag first (a token split differently on re-reading may not be).
    report = await token_shift(backend, SMOLLM2, "What is the capital of France?", max_tokens=16)
    assert 1 <= len(report.tokens) <= 16
    assert report.share(ShiftKind.UNSHIFTED) >= 0.9
    assert report.requests == 2 + len(report.tokens)


async def test_samples_are_seeded_and_counted(
    real_settings: Settings,  # noqa: F811
    real_catalog: Catalog,  # noqa: F811
):
    request = build_request(
        real_settings, real_catalog, Requester("test", "u1"), NUMBER,
        pair=SMOLLM2.name, max_tokens=8, temperature=1.0, seed=11,
    )  # fmt: skip
    backend = make_backend(real_settings, real_catalog)
    try:
        run = await sample_both(backend, request, 4, parallel=1)
    finally:
        await backend.close()
    assert run.seeds == (11, 12, 13, 14)
    for side in run.sides.values():
        assert len(side.samples) == 4 and side.stats.total >= 1


async def test_a_client_error_from_the_real_server_is_ours(backend: OllamaBackend):
    with pytest.raises(ollama.ResponseError):
        await backend.client.generate(
            model=SMOLLM2.base, prompt="x", raw=True, stream=False, logprobs=True, top_logprobs=21
        )
