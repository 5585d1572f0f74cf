"""Fixtures that run one test against either kind of model server: Ollama or OpenAI-compatible."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
from typing import Any

import pytest

from bot.domain import BackendKind, ModelPair
from bot.engine.backend import OllamaBackend, Timeouts
from bot.engine.catalog import Catalog
from bot.engine.routing import RoutingBackend
from tests.conftest import SMALL_PAIR
from tests.fakes.ollama_fake import OllamaFake
from tests.fakes.openai_fake import OpenAIFake


def openai_pair(endpoint: str, name: str = "fake-openai", **fields: Any) -> ModelPair:
    """The small pair, served by an OpenAI-compatible server at `endpoint` (both sides)."""
    base, instruct = SMALL_PAIR
    pair = ModelPair(
        name,
        base,
        instruct,
        backend=BackendKind.OPENAI,
        base_endpoint=endpoint,
        instruct_endpoint=endpoint,
    )
    return replace(pair, **fields)


@pytest.fixture
async def openai_fake() -> AsyncIterator[OpenAIFake]:
    async with OpenAIFake(models=set(SMALL_PAIR)) as fake:
        yield fake


@dataclass
class ModelServer:
    """A fake model server, the pair that names it, and a backend wired the way production is."""

    kind: BackendKind
    fake: OllamaFake | OpenAIFake
    pair: ModelPair
    ollama_url: str

    def backend(self, first_token: float = 2.0, total: float = 5.0) -> RoutingBackend:
        timeouts = Timeouts(connect=2.0, first_token=first_token, total=total)
        return RoutingBackend(OllamaBackend(self.ollama_url, timeouts), timeouts, [self.pair])

    def missing_model_hint(self, tag: str) -> str:
        """What the user is told when `tag` is not on this server."""
        if self.kind is BackendKind.OLLAMA:
            return f"ollama pull {tag}"
        return f"`{tag}` is not served at {self.fake.url}"


@pytest.fixture(params=[BackendKind.OLLAMA, BackendKind.OPENAI], ids=str)
def model_server(
    request: pytest.FixtureRequest, ollama: OllamaFake, openai_fake: OpenAIFake, catalog: Catalog
) -> ModelServer:
    if request.param is BackendKind.OLLAMA:
        return ModelServer(request.param, ollama, catalog.pair("llama3.2-1b"), ollama.url)
    return ModelServer(request.param, openai_fake, openai_pair(openai_fake.url), ollama.url)
