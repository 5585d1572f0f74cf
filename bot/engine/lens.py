"""The alignment lens: where each twin puts its probability for the next token of its answer.

Both sides ask Ollama for tokens with `logprobs: true` and `top_logprobs: k`, the base side on
/api/generate (raw, the framed prompt), the instruct side on /api/chat (the model's own
template), at once. The alternatives at one position are the distribution shown.

At position 0 each side asks for one token. `at=N` asks each side for N+1 tokens at
temperature 0 and reads the alternatives of the last: one request a side, the distribution
after the first N tokens of that side's own (greedy) answer. `after=TEXT` puts the same text
after both prompts (the instruct side's chat written out, see lens_chat_text) and asks for one
token: the two twins compared at the same point of one answer.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

from bot.domain import BackendKind, Framing, ModelPair, Role
from bot.engine.lens_chat_text import chat_text
from bot.engine.lens_link import (
    MAX_TOP_K,
    LensBackend,
    LensEndedEarly,
    LensUnsupported,
    OllamaLink,
)
from bot.errors import InputError

__all__ = [
    "MAX_TOP_K",
    "Distribution",
    "LensBackend",
    "LensEndedEarly",
    "LensUnsupported",
    "OllamaLink",
    "TokenChance",
    "at_position",
    "base_options",
    "check_at",
    "check_logprobs",
    "check_top_k",
    "next_token_distribution",
    "require_ollama",
]

MAX_AT = 256  # tokens into an answer `at` may point (one request a side either way)


@dataclass(frozen=True, slots=True)
class TokenChance:
    token: str
    probability: float  # 0..1, exp(logprob)


@dataclass(frozen=True, slots=True)
class Distribution:
    """One side's top-k next tokens at one position, likeliest first."""

    role: Role
    model: str
    chances: tuple[TokenChance, ...]
    prefix: str = ""  # the answer text before this position ("" at the first token)

    @property
    def covered(self) -> float:
        """The probability mass the top-k hold together (the rest is the long tail)."""
        return sum(chance.probability for chance in self.chances)


def check_top_k(top_k: int) -> int:
    if not 1 <= top_k <= MAX_TOP_K:
        raise InputError(f"--top must be between 1 and {MAX_TOP_K} (Ollama lists at most 20).")
    return top_k


def check_at(at: int) -> int:
    if not 0 <= at <= MAX_AT:
        raise InputError(f"--at must be between 0 and {MAX_AT} tokens into the answer.")
    return at


def require_ollama(pair: ModelPair, what: str = "The lens") -> None:
    if pair.backend is not BackendKind.OLLAMA:
        raise LensUnsupported(
            f"{what} is not supported yet for `{pair.name}`: it is served by an "
            "OpenAI-compatible server, and twinbot reads next-token probabilities from "
            "Ollama only so far. Pick an Ollama pair with --pair."
        )


def base_options(pair: ModelPair, num_predict: int) -> dict[str, Any]:
    options: dict[str, Any] = {"num_predict": num_predict, "temperature": 0.0}
    if pair.num_thread is not None:
        options["num_thread"] = pair.num_thread
    return options


async def next_token_distribution(
    backend: LensBackend,
    pair: ModelPair,
    framing: Framing,
    prompt: str,
    top_k: int,
    *,
    at: int = 0,
    after: str = "",
) -> dict[Role, Distribution]:
    """Each twin's top-k (token, probability) for the next token of its answer: the first
    token, the one after `at` tokens of its own answer, or the one after the text `after`."""
    check_top_k(top_k)
    check_at(at)
    if at and after:
        raise InputError("Pick one position: --at N or --after TEXT, not both.")
    require_ollama(pair)
    link = OllamaLink.of(backend)
    common: dict[str, Any] = {"stream": False, "logprobs": True, "top_logprobs": top_k}
    options = base_options(pair, at + 1)

    async def base() -> Any:
        return await link.client.generate(
            model=pair.base, prompt=framing.frame(prompt) + after, raw=True, options=options,
            **common,
        )  # fmt: skip

    async def instruct() -> Any:
        if after:
            text = await chat_text(link, pair.instruct, prompt)
            return await link.client.generate(
                model=pair.instruct, prompt=text + after, raw=True, options=options, **common
            )
        messages = [{"role": "user", "content": prompt}]
        return await link.client.chat(
            model=pair.instruct,
            messages=messages,
            think=pair.instruct_think,
            options=options,
            **common,
        )

    async def side(role: Role, call: Callable[[], Awaitable[Any]]) -> Distribution:
        model = pair.tag(role)
        answer = await link.call(model, call)
        logprobs = check_logprobs(answer, model, link.host)
        if len(logprobs) <= at:
            raise LensEndedEarly(
                f"`{model}` ended its answer after {len(logprobs)} tokens, before token "
                f"{at + 1}: pick --at below {len(logprobs)}."
            )
        prefix = after or "".join(str(entry.token) for entry in logprobs[:at])
        return at_position(role, model, logprobs[at], prefix)

    # Both at once; each is one short request, so both are waited for and the first failure told.
    results = await asyncio.gather(
        side(Role.BASE, base), side(Role.INSTRUCT, instruct), return_exceptions=True
    )
    for result in results:
        if isinstance(result, BaseException):
            raise result
    return {d.role: d for d in results if isinstance(d, Distribution)}


def check_logprobs(answer: Any, model: str, host: str) -> Sequence[Any]:
    """The answer's logprobs entries, or the reason there are none."""
    logprobs: Sequence[Any] | None = answer.logprobs
    if logprobs:
        return logprobs
    text = answer.message.content if hasattr(answer, "message") else answer.response
    if not text and answer.eval_count:
        # Greedy, the end-of-text token came first: Ollama writes no token, so no entry.
        raise LensEndedEarly(
            f"`{model}` ends its answer right there (end-of-text is its likeliest next token), "
            "so Ollama lists no alternatives at that point."
        )
    raise LensUnsupported(
        f"Ollama at {host} returned no logprobs for `{model}`: this Ollama is older than "
        "the lens needs (v0.24.0 returns them; upgrade the server), or the model ended "
        "before its first token."
    )


def at_position(role: Role, model: str, entry: Any, prefix: str = "") -> Distribution:
    """One logprobs entry as a distribution: its alternatives, else the sampled token alone."""
    alternatives = entry.top_logprobs or [entry]
    chances = tuple(
        TokenChance(str(alt.token), math.exp(float(alt.logprob))) for alt in alternatives
    )
    return Distribution(role, model, tuple(sorted(chances, key=lambda c: -c.probability)), prefix)
