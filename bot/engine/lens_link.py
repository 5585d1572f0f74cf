"""What every view of the lens shares: its errors and the Ollama client it talks through."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TypeVar

import httpx
import ollama

from bot.engine.backend import OllamaBackend, map_response_error
from bot.engine.routing import RoutingBackend
from bot.errors import BackendError, BackendUnreachable

MAX_TOP_K = 20  # Ollama answers 400 beyond this

T = TypeVar("T")
LensBackend = RoutingBackend | OllamaBackend | ollama.AsyncClient


class LensUnsupported(BackendError):
    """The server (or the kind of pair) cannot give next-token probabilities."""

    kind = "lens_unsupported"


class LensEndedEarly(BackendError):
    """The model ended its answer before the position the lens was asked about."""

    kind = "lens_ended_early"


@dataclass(frozen=True, slots=True)
class OllamaLink:
    """The client the lens talks through, and the host it names in messages."""

    client: ollama.AsyncClient
    host: str

    @classmethod
    def of(cls, backend: LensBackend) -> OllamaLink:
        if isinstance(backend, RoutingBackend):
            backend = backend.ollama
        if isinstance(backend, OllamaBackend):
            return cls(backend.client, backend.host)
        return cls(backend, "the Ollama server")

    async def call(self, model: str, request: Callable[[], Awaitable[T]]) -> T:
        """One request, Ollama's failures as our own errors (one clear sentence each)."""
        try:
            return await request()
        except ollama.ResponseError as exc:
            raise map_response_error(exc, model) from None
        except (ConnectionError, httpx.TransportError):
            raise BackendUnreachable(self.host) from None
