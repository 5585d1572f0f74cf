"""Token shift (URIAL, arXiv 2312.01552): how far alignment moved each token of an answer.

The instruct twin answers greedily; then, for each token of that answer, the base twin reads
the same text (the instruct twin's input, written out by lens_chat_text, and the answer so far)
and the lens reads where the answer's token ranks among the base twin's likeliest next tokens.
URIAL's classes: rank 1 is unshifted, ranks 2-3 marginal, beyond that shifted. Ollama lists at
most 20 alternatives, so a token beyond them has rank "> 20" and no probability.

On Ollama that is one request per token, one after another: each prompt extends the last one,
so the runner reuses its cached prefix and only reads the new token. The answer is capped (the
cost grows with it) and the loop is cancellable between requests. On an OpenAI-compatible pair
served by vLLM the base twin scores the whole answer in one call (lens_shift_vllm).
"""

from __future__ import annotations

import enum
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from bot.domain import BackendKind, ModelPair
from bot.engine.lens import (
    MAX_TOP_K,
    LensBackend,
    LensEndedEarly,
    OllamaLink,
    base_options,
    check_logprobs,
)
from bot.engine.lens_chat_text import chat_text
from bot.errors import InputError

DEFAULT_SHIFT_TOKENS = 128
MAX_SHIFT_TOKENS = 512
Progress = Callable[[int, int], None]  # (tokens scored, tokens in the answer)


class ShiftKind(enum.Enum):
    UNSHIFTED = "unshifted"  # rank 1
    MARGINAL = "marginal"  # rank 2-3
    SHIFTED = "shifted"  # rank 4 and beyond


@dataclass(frozen=True, slots=True)
class TokenShift:
    token: str
    # Under the base twin: None when beyond the 20 Ollama lists (vLLM gives every rank).
    rank: int | None
    base_probability: float | None  # None when the rank is unknown
    instruct_probability: float | None  # None when scoring an answer already given

    @property
    def kind(self) -> ShiftKind:
        if self.rank == 1:
            return ShiftKind.UNSHIFTED
        if self.rank is not None and self.rank <= 3:
            return ShiftKind.MARGINAL
        return ShiftKind.SHIFTED

    @property
    def rank_text(self) -> str:
        return str(self.rank) if self.rank is not None else f">{MAX_TOP_K}"


@dataclass(frozen=True, slots=True)
class ShiftReport:
    base_model: str
    instruct_model: str
    tokens: tuple[TokenShift, ...]
    capped: bool  # the answer went on past the cap; only its first tokens were scored
    requests: int

    def share(self, kind: ShiftKind) -> float:
        if not self.tokens:
            return 0.0
        return sum(token.kind is kind for token in self.tokens) / len(self.tokens)

    def most_shifted(self, count: int = 8) -> list[TokenShift]:
        """The shifted tokens the base twin found least likely first (beyond 20 first)."""
        shifted = [t for t in self.tokens if t.kind is ShiftKind.SHIFTED]
        return sorted(shifted, key=lambda t: (t.rank is not None, -(t.rank or 0)))[:count]


def check_shift_tokens(tokens: int) -> int:
    if not 1 <= tokens <= MAX_SHIFT_TOKENS:
        raise InputError(f"--max-tokens for the shift must be between 1 and {MAX_SHIFT_TOKENS}.")
    return tokens


async def token_shift(
    backend: LensBackend,
    pair: ModelPair,
    prompt: str,
    *,
    max_tokens: int = DEFAULT_SHIFT_TOKENS,
    on_progress: Progress | None = None,
) -> ShiftReport:
    """The instruct twin's greedy answer to `prompt`, each token ranked by the base twin."""
    check_shift_tokens(max_tokens)
    if pair.backend is BackendKind.OPENAI:
        from bot.engine.lens_shift_vllm import vllm_token_shift

        rows, capped = await vllm_token_shift(pair, prompt, max_tokens)
        shifts = tuple(TokenShift(*row) for row in rows)
        return ShiftReport(pair.base, pair.instruct, shifts, capped, requests=3)
    link = OllamaLink.of(backend)
    answer = await link.call(
        pair.instruct,
        lambda: link.client.chat(
            model=pair.instruct,
            messages=[{"role": "user", "content": prompt}],
            think=pair.instruct_think,
            stream=False,
            logprobs=True,
            options=base_options(pair, max_tokens),
        ),
    )
    if not (answer.message.content or ""):
        raise LensEndedEarly(
            f"`{pair.instruct}` ended before its first token: there is no answer to score."
        )
    entries = check_logprobs(answer, pair.instruct, link.host)
    text = await chat_text(link, pair.instruct, prompt)
    scored: list[TokenShift] = []
    for index, entry in enumerate(entries):
        if on_progress is not None:
            on_progress(index, len(entries))
        seen = text + "".join(str(e.token) for e in entries[:index])
        scored.append(await _score(link, pair, seen, entry))
    if on_progress is not None:
        on_progress(len(entries), len(entries))
    return ShiftReport(
        base_model=pair.base,
        instruct_model=pair.instruct,
        tokens=tuple(scored),
        capped=answer.done_reason == "length",
        requests=2 + len(entries),  # the answer, the template, one per token
    )


async def _next_alternatives(link: OllamaLink, pair: ModelPair, seen: str) -> Any:
    """The base twin's next token after `seen`, with its 20 likeliest alternatives."""
    reply = await link.call(
        pair.base,
        lambda: link.client.generate(
            model=pair.base, prompt=seen, raw=True, stream=False, logprobs=True,
            top_logprobs=MAX_TOP_K, options=base_options(pair, 1),
        ),
    )  # fmt: skip
    [first, *_] = check_logprobs(reply, pair.base, link.host)
    return first


async def _score(link: OllamaLink, pair: ModelPair, seen: str, entry: Any) -> TokenShift:
    """Where the base twin, reading `seen`, ranks the instruct twin's next token."""
    first = await _next_alternatives(link, pair, seen)
    token = str(entry.token)
    rank, probability = rank_of(token, first.top_logprobs or [first])
    return TokenShift(token, rank, probability, _exp(entry.logprob))


# Where an answer's next token most likely ends when the base twin lists no alternative that
# starts it (a rank beyond 20): a word with its leading space, one mark, or a run of spaces.
_PIECE = re.compile(r" ?\w+| ?[^\w\s]|\s+")


async def score_answer(
    backend: LensBackend,
    pair: ModelPair,
    prompt: str,
    answer: str,
    *,
    max_tokens: int = DEFAULT_SHIFT_TOKENS,
) -> ShiftReport:
    """Token shift for an answer the instruct twin already gave (a chat comparison's): only
    the base twin is asked, one request per token. Ollama has no tokenizer endpoint, so the
    answer's tokens are found while scoring: at each position the token is the longest of the
    base twin's 20 alternatives that the rest of the answer starts with (the twins share a
    tokenizer, so the instruct twin's token is among them unless it ranks beyond 20; then the
    next word or mark is taken as the token). The instruct twin's own probabilities are not
    known (None)."""
    check_shift_tokens(max_tokens)
    if not answer:
        raise LensEndedEarly(f"`{pair.instruct}` gave no answer: there is nothing to score.")
    if pair.backend is BackendKind.OPENAI:
        from bot.engine.lens_shift_vllm import vllm_score_answer

        rows, capped = await vllm_score_answer(pair, prompt, answer, max_tokens)
        shifts = tuple(TokenShift(*row) for row in rows)
        return ShiftReport(pair.base, pair.instruct, shifts, capped, requests=3)
    link = OllamaLink.of(backend)
    seen = await chat_text(link, pair.instruct, prompt)
    rest, scored = answer, list[TokenShift]()
    while rest and len(scored) < max_tokens:
        first = await _next_alternatives(link, pair, seen)
        alternatives = first.top_logprobs or [first]
        starts = [str(a.token) for a in alternatives if str(a.token) and rest.startswith(a.token)]
        if starts:
            token = max(starts, key=len)
            rank, probability = rank_of(token, alternatives)
        else:
            found = _PIECE.match(rest)
            token, rank, probability = (found.group() if found else rest[0]), None, None
        scored.append(TokenShift(token, rank, probability, None))
        seen, rest = seen + token, rest[len(token) :]
    return ShiftReport(
        pair.base, pair.instruct, tuple(scored), bool(rest), requests=1 + len(scored)
    )


def rank_of(token: str, alternatives: Sequence[Any]) -> tuple[int | None, float | None]:
    """`token`'s rank (1-based) and probability among `alternatives`, likeliest first."""
    ordered = sorted(alternatives, key=lambda alt: -float(alt.logprob))
    for rank, alt in enumerate(ordered, start=1):
        if str(alt.token) == token:
            return rank, _exp(alt.logprob)
    return None, None


def _exp(logprob: Any) -> float:
    import math

    return math.exp(float(logprob))
