"""Token shift on OpenAI-compatible servers that are vLLM: the scoring in one call.

vLLM extends the API with what the shift needs, token ids end to end so nothing is tokenized
twice:
1. `POST /tokenize` with the chat `messages` (add_generation_prompt) on the instruct server:
   the ids of the instruct twin's exact input;
2. `POST /v1/completions` on the instruct server with those ids as the prompt, temperature 0,
   `logprobs: 1` and `return_tokens_as_token_ids`: the greedy answer as ids
   ("token_id:N") with their logprobs;
3. `POST /v1/completions` on the base server with input + answer ids and `prompt_logprobs: 20`:
   for every prompt position, the top 20 and the actual token with its logprob and its true
   rank in the vocabulary (so a rank beyond 20 is known exactly), `decoded_token` its text.
A server without these (OpenAI itself, llama.cpp, SGLang) is refused with a line naming why.
"""

from __future__ import annotations

from typing import Any

import httpx

from bot.domain import ModelPair, Role
from bot.engine.lens import MAX_TOP_K, LensEndedEarly, LensUnsupported
from bot.engine.openai_backend import ServerUnreachable, api_key_from_env, error_detail
from bot.errors import BackendError, BackendStreamError

TOKEN_ID = "token_id:"
Row = tuple[str, int | None, float | None, float | None]  # token, base rank and p, instruct p
REQUEST_SECONDS = 120.0  # each of the three calls; the scoring reads the whole answer at once


def _root(endpoint: str) -> str:
    """The server's root: vLLM serves /tokenize beside /v1, not under it."""
    endpoint = endpoint.rstrip("/")
    return endpoint.removesuffix("/v1")


async def vllm_token_shift(pair: ModelPair, prompt: str, max_tokens: int) -> tuple[list[Row], bool]:
    """(token, base rank, base probability, instruct probability) per answer token, and
    whether the answer was capped."""
    import math

    instruct_url = pair.endpoint(Role.INSTRUCT) or ""
    base_url = pair.endpoint(Role.BASE) or ""
    key = api_key_from_env(pair.api_key_env)
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    async with httpx.AsyncClient(headers=headers, timeout=REQUEST_SECONDS) as http:
        tokenized = await _post(
            http, f"{_root(instruct_url)}/tokenize", pair.instruct,
            {"model": pair.instruct, "messages": [{"role": "user", "content": prompt}],
             "add_generation_prompt": True},
        )  # fmt: skip
        asked = [int(t) for t in tokenized.get("tokens") or []]
        answer = await _post(
            http, f"{instruct_url.rstrip('/')}/completions", pair.instruct,
            {"model": pair.instruct, "prompt": asked, "max_tokens": max_tokens,
             "temperature": 0, "logprobs": 1, "return_tokens_as_token_ids": True},
        )  # fmt: skip
        [choice] = answer.get("choices") or [{}]
        logprobs = choice.get("logprobs") or {}
        tokens = [str(t) for t in logprobs.get("tokens") or []]
        if not tokens:
            raise LensEndedEarly(
                f"`{pair.instruct}` ended before its first token: there is no answer to score."
            )
        if not all(t.startswith(TOKEN_ID) for t in tokens):
            raise LensUnsupported(
                f"The server at {instruct_url} did not return token ids "
                "(`return_tokens_as_token_ids`): the token shift needs vLLM."
            )
        ids = [int(t.removeprefix(TOKEN_ID)) for t in tokens]
        instruct_logprobs = [float(lp) for lp in logprobs.get("token_logprobs") or []]
        scored = await _post(
            http, f"{base_url.rstrip('/')}/completions", pair.base,
            {"model": pair.base, "prompt": asked + ids, "max_tokens": 1, "temperature": 0,
             "prompt_logprobs": MAX_TOP_K},
        )  # fmt: skip
    rows = _rows(scored, pair, base_url, asked, ids, [math.exp(lp) for lp in instruct_logprobs])
    return rows, choice.get("finish_reason") == "length"


async def vllm_score_answer(
    pair: ModelPair, prompt: str, answer: str, max_tokens: int
) -> tuple[list[Row], bool]:
    """An answer the instruct twin already gave, scored by the base twin: its chat input and the
    answer tokenized by the instruct server (`/tokenize`, twice), then one scoring call. The
    instruct twin's own probabilities are not asked for (None)."""
    instruct_url = pair.endpoint(Role.INSTRUCT) or ""
    base_url = pair.endpoint(Role.BASE) or ""
    key = api_key_from_env(pair.api_key_env)
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    tokenize = f"{_root(instruct_url)}/tokenize"
    async with httpx.AsyncClient(headers=headers, timeout=REQUEST_SECONDS) as http:
        tokenized = await _post(
            http, tokenize, pair.instruct,
            {"model": pair.instruct, "messages": [{"role": "user", "content": prompt}],
             "add_generation_prompt": True},
        )  # fmt: skip
        asked = [int(t) for t in tokenized.get("tokens") or []]
        pieces = await _post(
            http, tokenize, pair.instruct,
            {"model": pair.instruct, "prompt": answer, "add_special_tokens": False},
        )  # fmt: skip
        ids = [int(t) for t in pieces.get("tokens") or []]
        capped, ids = len(ids) > max_tokens, ids[:max_tokens]
        if not ids:
            raise LensEndedEarly(f"`{pair.instruct}` gave no answer: there is nothing to score.")
        scored = await _post(
            http, f"{base_url.rstrip('/')}/completions", pair.base,
            {"model": pair.base, "prompt": asked + ids, "max_tokens": 1, "temperature": 0,
             "prompt_logprobs": MAX_TOP_K},
        )  # fmt: skip
    return _rows(scored, pair, base_url, asked, ids, [None] * len(ids)), capped


def _rows(
    scored: Any,
    pair: ModelPair,
    base_url: str,
    asked: list[int],
    ids: list[int],
    instruct: list[float | None],
) -> list[Row]:
    """Each answer token's rank and probability in the base twin's `prompt_logprobs`."""
    import math

    [base_choice] = scored.get("choices") or [{}]
    positions = base_choice.get("prompt_logprobs")
    if not isinstance(positions, list) or len(positions) != len(asked) + len(ids):
        raise LensUnsupported(
            f"The server at {base_url} returned no `prompt_logprobs` for `{pair.base}`: the "
            "token shift on an OpenAI-compatible pair needs vLLM's prompt logprobs."
        )
    rows: list[Row] = []
    for offset, token_id in enumerate(ids):
        entry = (positions[len(asked) + offset] or {}).get(str(token_id)) or {}
        rank = entry.get("rank")
        logprob = entry.get("logprob")
        rows.append(
            (
                str(entry.get("decoded_token") or ""),
                int(rank) if rank is not None else None,
                math.exp(float(logprob)) if logprob is not None else None,
                instruct[offset] if offset < len(instruct) else 0.0,
            )
        )
    return rows


async def _post(http: httpx.AsyncClient, url: str, model: str, body: dict[str, Any]) -> Any:
    try:
        response = await http.post(url, json=body)
    except httpx.TransportError:
        raise ServerUnreachable(url) from None
    if response.status_code == 404 and url.endswith("/tokenize"):
        raise LensUnsupported(
            f"The server at {url.removesuffix('/tokenize')} has no /tokenize: the token shift "
            "on an OpenAI-compatible pair needs vLLM (its /tokenize and prompt logprobs)."
        )
    if response.status_code >= 400:
        detail, _ = error_detail(response.content, response.reason_phrase or "error")
        raise BackendError(f"The server at {url} refused the token shift for `{model}`: {detail}")
    try:
        return response.json()
    except ValueError:
        raise BackendStreamError(f"The server at {url} answered with no JSON") from None
