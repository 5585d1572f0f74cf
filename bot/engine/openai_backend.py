"""An OpenAI-compatible server as a backend: the base side through /v1/completions, the instruct
side through /v1/chat/completions, both streamed as server-sent events.

vLLM, SGLang, llama.cpp's server and LiteLLM's router all speak this dialect; every failure is
mapped to the same error kinds as the Ollama backend, so the compare service, the renderer and
the store cannot tell the two apart.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import logging
import os
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
from dotenv import dotenv_values

from bot.domain import CompareRequest, Role, SideStats
from bot.engine.backend import TextSink, Timeouts, note_unshown
from bot.engine.line_safe import SurrogateMender
from bot.engine.pools import DEFAULT_CONNECTIONS, CountingTransport, PoolState
from bot.errors import (
    BackendBusy,
    BackendError,
    BackendRejected,
    BackendStreamError,
    BackendTimeout,
    BackendUnreachable,
    ConnectionLost,
    ModelError,
    ModelNotPulled,
    without_retry_advice,
)

log = logging.getLogger(__name__)

DONE = "[DONE]"


# The shared error types word their messages for Ollama; these keep the kind (what the store,
# the renderer and the tests look at) and tell the operator about the right server instead.
class ServerUnreachable(BackendUnreachable):
    def __init__(self, endpoint: str) -> None:
        BackendError.__init__(
            self,
            f"Cannot reach the OpenAI-compatible server at {endpoint}. Is it running? "
            "Its address is the pair's `endpoint` in prompts/pairs.toml.",
        )
        self.host = endpoint


class ModelNotServed(ModelNotPulled):
    def __init__(self, model: str, endpoint: str) -> None:
        BackendError.__init__(
            self,
            f"The model `{model}` is not served at {endpoint}: start the engine with it "
            f"(its ids are listed at {endpoint}/models) or fix the pair in prompts/pairs.toml.",
        )
        self.model = model


class ServerBusy(BackendBusy):
    def __init__(self, endpoint: str, detail: str, retry_after: str | None = None) -> None:
        wait = f"Try again in {retry_after} s." if retry_after else "Try again in a minute."
        detail = without_retry_advice(detail)
        BackendError.__init__(self, f"The server at {endpoint} is busy ({detail}). {wait}")


class ServerRejected(BackendRejected):
    def __init__(self, endpoint: str, status: int, detail: str) -> None:
        BackendError.__init__(
            self, f"The server at {endpoint} rejected the request ({status}): {detail}"
        )


def api_key_from_env(name: str | None, env_file: Path = Path(".env")) -> str | None:
    """The key in variable `name`: the environment first, then `.env` as the settings read it."""
    if not name:
        return None
    value = os.environ.get(name)
    if value is None and env_file.is_file():
        value = dotenv_values(env_file).get(name)
    return value or None


async def sse_data(lines: AsyncIterator[str]) -> AsyncIterator[str]:
    """The `data` of each server-sent event: fields line by line, a blank line ends an event,
    lines starting with ':' are comments (keep-alive pings)."""
    data: list[str] = []
    async for line in lines:
        if not line:
            if data:
                yield "\n".join(data)
                data = []
            continue
        field, _, value = line.partition(":")
        if field == "data":
            data.append(value.removeprefix(" "))
    if data:  # a last event without its blank line
        yield "\n".join(data)


def error_detail(body: bytes, fallback: str) -> tuple[str, str]:
    """(message, code) from an error body in any of the shapes these servers send."""
    try:
        payload = json.loads(body)
    except ValueError:
        text = body.decode("utf-8", "replace").strip()
        return (text[:300] or fallback), ""
    if not isinstance(payload, dict):
        return fallback, ""
    error = payload.get("error", payload)  # {"error": {...}}, or vLLM's older flat object
    if isinstance(error, str):  # {"error": "Unauthorized"}
        return error, ""
    if isinstance(error, dict):
        message = error.get("message") or error.get("detail") or fallback
        return str(message), str(error.get("code") or "")
    return fallback, ""


class OpenAIBackend:
    """One OpenAI-compatible endpoint (its base URL, usually ending in /v1)."""

    def __init__(
        self,
        endpoint: str,
        timeouts: Timeouts,
        api_key: str | None = None,
        api_key_env: str | None = None,
        connections: int = DEFAULT_CONNECTIONS,
    ) -> None:
        self.host = endpoint.rstrip("/")
        self._timeouts = timeouts
        self._api_key_env = api_key_env
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        # A stream holds its connection to the end: the pool is sized for every running side.
        self._pool = CountingTransport(self.host, connections)
        # Reads are bounded by our own first-token and total deadlines, not by httpx.
        self._http = httpx.AsyncClient(
            base_url=self.host + "/",
            headers=headers,
            transport=self._pool,
            timeout=httpx.Timeout(timeouts.total, connect=timeouts.connect),
        )

    def pool(self) -> PoolState:
        return self._pool.state()

    async def close(self) -> None:
        await self._http.aclose()

    async def list_models(self) -> set[str]:
        try:
            response = await self._http.get("models")
        except httpx.TransportError:
            raise ServerUnreachable(self.host) from None
        if response.status_code >= 400:
            raise self._http_error(response.status_code, response.content, response.headers, "")
        try:
            return {str(model["id"]) for model in response.json()["data"]}
        except (ValueError, KeyError, TypeError):
            raise BackendStreamError(f"{self.host}/models answered unexpectedly") from None

    async def version(self) -> str:
        # The API has no version call; listing the models proves the server and the key work.
        count = len(await self.list_models())
        return f"OpenAI-compatible, {count} model{'s' if count != 1 else ''}"

    async def run_side(self, role: Role, request: CompareRequest, on_text: TextSink) -> SideStats:
        model = request.pair.tag(role)
        body: dict[str, Any] = {"model": model}
        if role is Role.BASE:
            path = "completions"
            body["prompt"] = request.framed_prompt
            body.update(request.options.to_openai(request.framing.stop))
        else:
            path = "chat/completions"
            body["messages"] = [{"role": "user", "content": request.prompt}]
            body.update(request.options.to_openai(()))
        # include_usage: the token counts arrive in one last chunk with no choices.
        body.update(stream=True, stream_options={"include_usage": True})
        return await self._stream(path, body, model, on_text)

    async def _stream(
        self, path: str, body: dict[str, Any], model: str, on_text: TextSink
    ) -> SideStats:
        loop = asyncio.get_running_loop()
        started = loop.time()
        first_at: float | None = None
        last_at: float | None = None
        finish_reason: str | None = None
        usage: dict[str, Any] = {}
        timings: dict[str, Any] = {}
        done = False
        mend = SurrogateMender()
        try:
            # The deadline covers the wait for headers too: a server with every slot busy
            # may hold the request before it answers at all.
            async with (
                asyncio.timeout(self._timeouts.first_token) as deadline,
                self._http.stream("POST", path, json=body) as response,
            ):
                if response.status_code >= 400:
                    content = await response.aread()
                    raise self._http_error(response.status_code, content, response.headers, model)
                async for data in sse_data(response.aiter_lines()):
                    if data == DONE:
                        done = True
                        break
                    chunk = _decode(data)
                    for choice in chunk.get("choices") or ():
                        if not isinstance(choice, dict):
                            raise BackendStreamError(
                                f"The server at {self.host} sent a choice that is no object"
                            )
                        text = mend(_choice_text(choice))
                        if text:
                            last_at = loop.time()
                            if first_at is None:
                                first_at = last_at
                                deadline.reschedule(started + self._timeouts.total)
                            on_text(text)
                        finish_reason = choice.get("finish_reason") or finish_reason
                    usage = _object(chunk.get("usage")) or usage
                    timings = _object(chunk.get("timings")) or timings  # llama.cpp's figures
            if held := mend.flush():
                on_text(held)
        except TimeoutError:
            if first_at is None:
                raise BackendTimeout("the first token", self._timeouts.first_token) from None
            raise BackendTimeout("the whole answer", self._timeouts.total) from None
        except (httpx.ConnectError, httpx.ConnectTimeout):
            raise ServerUnreachable(self.host) from None
        except (httpx.RemoteProtocolError, httpx.ReadError, httpx.ReadTimeout):
            raise ConnectionLost(f"the server at {self.host}") from None
        if not done and finish_reason is None:
            raise ConnectionLost(f"the server at {self.host}")
        note_unshown(model, mend.replaced)
        stats = _stats(finish_reason, usage, timings, started, first_at, last_at, loop.time())
        return dataclasses.replace(stats, unshown_chars=mend.replaced)

    def _http_error(
        self, status: int, content: bytes, headers: httpx.Headers, model: str
    ) -> BackendError:
        detail, code = error_detail(content, httpx.codes.get_reason_phrase(status) or "error")
        if model and _means_unknown_model(status, detail, code, model):
            return ModelNotServed(model, self.host)
        if status in (429, 503):
            return ServerBusy(self.host, detail, headers.get("Retry-After"))
        if status in (401, 403):
            variable = self._api_key_env or "the pair's api_key_env"
            return ServerRejected(self.host, status, f"{detail}; check the key in {variable}")
        if status == 404:
            return ServerRejected(
                self.host, status, f"{detail}; does the endpoint end in /v1 as the server expects?"
            )
        if 400 <= status < 500:
            return ServerRejected(self.host, status, detail)
        return BackendStreamError(f"The server at {self.host} failed with HTTP {status}: {detail}")


def _means_unknown_model(status: int, detail: str, code: str, model: str) -> bool:
    if code == "model_not_found":  # OpenAI, LiteLLM
        return True
    if status == 404:  # vLLM: "The model `X` does not exist."; SGLang, llama.cpp's router;
        # Ollama's /v1: "model 'X' not found"
        return model in detail or "does not exist" in detail or detail.startswith("model '")
    return status == 400 and "Invalid model name" in detail  # LiteLLM's router


_NOT_UNDERSTOOD = "The server sent an event twinbot does not understand"


def _decode(data: str) -> dict[str, Any]:
    try:
        chunk = json.loads(data)
    except ValueError:
        raise BackendStreamError(_NOT_UNDERSTOOD) from None
    if not isinstance(chunk, dict):
        raise BackendStreamError(_NOT_UNDERSTOOD)
    if "error" in chunk or chunk.get("object") == "error":
        # vLLM (and Ollama's /v1) report a failure mid-stream as an event; the status stayed 200.
        raise ModelError(error_detail(data.encode(), "error")[0])
    return chunk


def _object(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _choice_text(choice: dict[str, Any]) -> str:
    delta = choice.get("delta")
    if isinstance(delta, dict):  # chat
        return str(delta.get("content") or "")
    return str(choice.get("text") or "")  # completions


def _stats(
    finish_reason: str | None,
    usage: dict[str, Any],
    timings: dict[str, Any],
    started: float,
    first_at: float | None,
    last_at: float | None,
    ended: float,
) -> SideStats:
    eval_count = _first_int(usage.get("completion_tokens"), timings.get("predicted_n"))
    predicted_ms = timings.get("predicted_ms")
    if isinstance(predicted_ms, int | float) and predicted_ms > 0:
        eval_ns: int | None = int(predicted_ms * 1e6)
    elif first_at is not None and last_at is not None and last_at > first_at:
        # No server timing: the generation time as measured here, first to last text.
        eval_ns = int((last_at - first_at) * 1e9)
    else:
        eval_ns = None
    return SideStats(
        done_reason=finish_reason,
        eval_count=eval_count,
        eval_duration_ns=eval_ns,
        prompt_eval_count=_first_int(usage.get("prompt_tokens"), timings.get("prompt_n")),
        first_token_s=None if first_at is None else first_at - started,
        wall_s=ended - started,
    )


def _first_int(*values: Any) -> int | None:
    for value in values:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
    return None
