"""The alignment lens: where each twin puts its probability for the first token of its answer.

Both sides ask Ollama for one token with `logprobs: true` and `top_logprobs: k`, the base side
on /api/generate (raw, the framed prompt), the instruct side on /api/chat (the model's own
template), at once. The alternatives of that one position are the distribution shown.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import httpx
import ollama

from bot.domain import BackendKind, Framing, ModelPair, Role
from bot.engine.backend import OllamaBackend, map_response_error
from bot.engine.routing import RoutingBackend
from bot.errors import BackendError, BackendUnreachable, InputError

MAX_TOP_K = 20  # Ollama answers 400 beyond this


class LensUnsupported(BackendError):
    """The server (or the kind of pair) cannot give next-token probabilities."""

    kind = "lens_unsupported"


@dataclass(frozen=True, slots=True)
class TokenChance:
    token: str
    probability: float  # 0..1, exp(logprob)


@dataclass(frozen=True, slots=True)
class Distribution:
    """One side's top-k next tokens at the first position, likeliest first."""

    role: Role
    model: str
    chances: tuple[TokenChance, ...]

    @property
    def covered(self) -> float:
        """The probability mass the top-k hold together (the rest is the long tail)."""
        return sum(chance.probability for chance in self.chances)


def check_top_k(top_k: int) -> int:
    if not 1 <= top_k <= MAX_TOP_K:
        raise InputError(f"--top must be between 1 and {MAX_TOP_K} (Ollama lists at most 20).")
    return top_k


async def next_token_distribution(
    backend: RoutingBackend | OllamaBackend | ollama.AsyncClient,
    pair: ModelPair,
    framing: Framing,
    prompt: str,
    top_k: int,
) -> dict[Role, Distribution]:
    """Each twin's top-k (token, probability) for the first token of its answer."""
    check_top_k(top_k)
    if pair.backend is not BackendKind.OLLAMA:
        raise LensUnsupported(
            f"The lens is not supported yet for `{pair.name}`: it is served by an "
            "OpenAI-compatible server, and twinbot reads next-token probabilities from "
            "Ollama only so far. Pick an Ollama pair with --pair."
        )
    if isinstance(backend, RoutingBackend):
        backend = backend.ollama
    client = backend.client if isinstance(backend, OllamaBackend) else backend
    host = backend.host if isinstance(backend, OllamaBackend) else "the Ollama server"
    options: dict[str, Any] = {"num_predict": 1}
    if pair.num_thread is not None:
        options["num_thread"] = pair.num_thread
    common: dict[str, Any] = {"stream": False, "logprobs": True, "top_logprobs": top_k}

    async def base() -> Any:
        return await client.generate(
            model=pair.base, prompt=framing.frame(prompt), raw=True, options=options, **common
        )

    async def instruct() -> Any:
        messages = [{"role": "user", "content": prompt}]
        return await client.chat(
            model=pair.instruct,
            messages=messages,
            think=pair.instruct_think,
            options=options,
            **common,
        )

    async def side(role: Role, call: Any) -> Distribution:
        model = pair.tag(role)
        try:
            answer = await call()
        except ollama.ResponseError as exc:
            raise map_response_error(exc, model) from None
        except (ConnectionError, httpx.TransportError):
            raise BackendUnreachable(host) from None
        return _first_position(role, model, answer.logprobs, host)

    # Both at once; each is one token, so both are waited for and the first failure told.
    results = await asyncio.gather(
        side(Role.BASE, base), side(Role.INSTRUCT, instruct), return_exceptions=True
    )
    for result in results:
        if isinstance(result, BaseException):
            raise result
    return {d.role: d for d in results if isinstance(d, Distribution)}


def _first_position(
    role: Role, model: str, logprobs: Sequence[Any] | None, host: str
) -> Distribution:
    if not logprobs:
        raise LensUnsupported(
            f"Ollama at {host} returned no logprobs for `{model}`: this Ollama is older than "
            "the lens needs (v0.24.0 returns them; upgrade the server), or the model ended "
            "before its first token."
        )
    alternatives = logprobs[0].top_logprobs or [logprobs[0]]
    chances = tuple(
        TokenChance(str(alt.token), math.exp(float(alt.logprob))) for alt in alternatives
    )
    return Distribution(role, model, tuple(sorted(chances, key=lambda c: -c.probability)))
