"""The Ollama backend: one side of a comparison as a stream, every failure mapped to our errors."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any, Protocol
from urllib.parse import urlsplit

import httpx
import ollama
import pydantic

from bot.domain import CompareRequest, Role, SideStats
from bot.engine.line_safe import LineSafeTransport, SurrogateMender
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
    RunnerDied,
)

log = logging.getLogger(__name__)

TextSink = Callable[[str], None]


class Backend(Protocol):
    """What the compare service needs from a model server."""

    async def run_side(self, role: Role, request: CompareRequest, on_text: TextSink) -> SideStats:
        """Stream one side, handing each piece of text to `on_text`; return Ollama's final stats."""
        ...

    async def list_models(self) -> set[str]: ...

    async def version(self) -> str: ...

    async def close(self) -> None: ...


@dataclass(frozen=True, slots=True)
class Timeouts:
    connect: float
    first_token: float
    total: float


def normalize_host(host: str) -> str:
    """Read a host the way Ollama's own tools do: no scheme means http and port 11434."""
    host = host.strip()
    has_scheme = "://" in host
    parts = urlsplit(host if has_scheme else f"http://{host}")
    default_port = {"http": 80, "https": 443}.get(parts.scheme, 11434) if has_scheme else 11434
    port = parts.port or default_port
    hostname = parts.hostname or "127.0.0.1"
    if ":" in hostname:
        hostname = f"[{hostname}]"  # IPv6 literal
    return f"{parts.scheme}://{hostname}:{port}{parts.path.rstrip('/')}"


def canonical_tag(tag: str) -> str:
    """Ollama lists `name:latest` for a tag pulled as `name`."""
    return tag if ":" in tag.rsplit("/", 1)[-1] else f"{tag}:latest"


class OllamaBackend:
    def __init__(
        self, host: str, timeouts: Timeouts, connections: int = DEFAULT_CONNECTIONS
    ) -> None:
        self.host = normalize_host(host)
        self._timeouts = timeouts
        # Reads are bounded by our own first-token and total deadlines, not by httpx.
        http_timeout = httpx.Timeout(timeouts.total, connect=timeouts.connect)
        # A stream holds its connection to the end: the pool is sized for every running side
        # (see pools). The transport keeps NDJSON lines whole when a model writes U+0085.
        self._pool = CountingTransport("ollama", connections)
        self._client = ollama.AsyncClient(
            host=self.host, timeout=http_timeout, transport=LineSafeTransport(self._pool)
        )
        self._http = httpx.AsyncClient(base_url=self.host, timeout=http_timeout)

    def pool(self) -> PoolState:
        return self._pool.state()

    @property
    def client(self) -> ollama.AsyncClient:
        """The ollama client, for calls beyond a comparison's stream (the lens's logprobs)."""
        return self._client

    async def close(self) -> None:
        await self._client.close()  # type: ignore[no-untyped-call]  # untyped upstream
        await self._http.aclose()

    async def version(self) -> str:
        # The ollama client has no version() call; /api/version is one GET.
        try:
            response = await self._http.get("/api/version")
            response.raise_for_status()
            return str(response.json().get("version", "unknown"))
        except httpx.TransportError:
            raise BackendUnreachable(self.host) from None
        except (httpx.HTTPStatusError, ValueError) as exc:
            raise BackendStreamError(
                f"Ollama's /api/version answered unexpectedly: {exc}"
            ) from None

    async def list_models(self) -> set[str]:
        try:
            listing = await self._client.list()
        except (ConnectionError, httpx.TransportError):
            raise BackendUnreachable(self.host) from None
        except ollama.ResponseError as exc:
            raise BackendStreamError(f"Ollama could not list its models: {exc.error}") from None
        return {canonical_tag(m.model) for m in listing.models if m.model}

    async def run_side(self, role: Role, request: CompareRequest, on_text: TextSink) -> SideStats:
        model = request.pair.tag(role)
        think = request.pair.instruct_think if role is Role.INSTRUCT else None
        try:
            try:
                return await self._stream(role, request, on_text, think)
            except ollama.ResponseError as exc:
                # Some servers refuse the `think` field for models that cannot think.
                if think is None or "does not support thinking" not in str(exc.error):
                    raise
                log.info("model %s refused think=%s; retrying without it", model, think)
                return await self._stream(role, request, on_text, None)
        except ollama.ResponseError as exc:
            raise map_response_error(exc, model) from None

    async def _open(
        self, role: Role, request: CompareRequest, think: bool | None
    ) -> AsyncIterator[Any]:
        options = request.options.to_ollama(request.framing.stop if role is Role.BASE else ())
        if role is Role.BASE:
            return await self._client.generate(
                model=request.pair.base,
                prompt=request.framed_prompt,
                raw=True,
                stream=True,
                options=options,
            )
        return await self._client.chat(
            model=request.pair.instruct,
            messages=[{"role": "user", "content": request.prompt}],
            stream=True,
            options=options,
            think=think,
        )

    async def _stream(
        self, role: Role, request: CompareRequest, on_text: TextSink, think: bool | None
    ) -> SideStats:
        loop = asyncio.get_running_loop()
        started = loop.time()
        first_token_at: float | None = None
        final: Any = None
        mend = SurrogateMender()
        stream = await self._open(role, request, think)
        try:
            async with asyncio.timeout(self._timeouts.first_token) as deadline:
                async for chunk in stream:
                    if first_token_at is None:
                        first_token_at = loop.time()
                        deadline.reschedule(started + self._timeouts.total)
                    text = mend(_chunk_text(chunk))
                    if text:
                        on_text(text)
                    if chunk.done:
                        final = chunk
            if held := mend.flush():
                on_text(held)
        except TimeoutError:
            if first_token_at is None:
                cause = await self._first_token_cause(request.pair.tag(role))
                raise BackendTimeout("the first token", self._timeouts.first_token, cause) from None
            raise BackendTimeout("the whole answer", self._timeouts.total) from None
        except (ConnectionError, httpx.ConnectError, httpx.ConnectTimeout):
            raise BackendUnreachable(self.host) from None
        except (httpx.RemoteProtocolError, httpx.ReadError, httpx.ReadTimeout):
            raise ConnectionLost(f"Ollama at {self.host}") from None
        except pydantic.ValidationError:
            raise BackendStreamError(
                "Ollama sent a chunk twinbot does not understand; is the server newer than "
                "the `ollama` library twinbot runs with?"
            ) from None
        finally:
            aclose = getattr(stream, "aclose", None)
            if aclose is not None:
                await aclose()
        if final is None:
            raise ConnectionLost(f"Ollama at {self.host}")
        note_unshown(request.pair.tag(role), mend.replaced)
        return SideStats(
            done_reason=final.done_reason,
            eval_count=final.eval_count,
            eval_duration_ns=final.eval_duration,
            prompt_eval_count=final.prompt_eval_count,
            total_duration_ns=final.total_duration,
            load_duration_ns=final.load_duration,
            first_token_s=None if first_token_at is None else first_token_at - started,
            wall_s=loop.time() - started,
            unshown_chars=mend.replaced,
        )

    async def loaded_models(self) -> set[str] | None:
        """The tags Ollama holds in memory now (`/api/ps`), or None when it cannot say."""
        try:
            response = await self._http.get("/api/ps", timeout=self._timeouts.connect)
            response.raise_for_status()
            models = response.json().get("models") or []
            return {canonical_tag(str(m.get("model") or m.get("name"))) for m in models}
        except (httpx.HTTPError, ValueError, AttributeError):
            return None

    async def _first_token_cause(self, model: str) -> str | None:
        """Why no token came: a model still loading, or a loaded one with work ahead of it."""
        loaded = await self.loaded_models()
        if loaded is None:
            return None
        if canonical_tag(model) in loaded:
            return (
                f"`{model}` is loaded (Ollama's /api/ps lists it), so the server was busy with "
                "other requests or a long prompt; try again later, or raise "
                "TWINBOT_FIRST_TOKEN_TIMEOUT"
            )
        return (
            f"`{model}` is not in memory yet (Ollama's /api/ps), so it was probably still "
            "loading; try again in a minute, or raise TWINBOT_FIRST_TOKEN_TIMEOUT"
        )


def note_unshown(model: str, count: int) -> None:
    if count:
        log.warning(
            "model %s sent %d undecodable character(s) (lone UTF-16 surrogates): kept as U+FFFD",
            model,
            count,
        )


# Ollama's words when the process running a model dies: mid-stream (an error line under a 200)
# and for the requests that were queued behind it (a 500).
_RUNNER_DIED = ("error was encountered while running the model", "runner process no longer running")


def map_response_error(exc: ollama.ResponseError, model: str) -> BackendError:
    """Ollama's error answer as our own error, with the true cause and the fix in its message."""
    detail = str(exc.error)
    status = exc.status_code
    if any(words in detail for words in _RUNNER_DIED):
        return RunnerDied(model, detail)
    if status == -1:
        return ModelError(detail)
    if status == 404 and "not found" in detail:
        return ModelNotPulled(model)
    if status == 503:
        return BackendBusy(detail)
    if 400 <= status < 500 or (status == 500 and detail.startswith('option "')):
        # Ollama answers a wrongly typed option with a 500, but the request was at fault.
        return BackendRejected(status, detail)
    return BackendStreamError(f"Ollama failed with HTTP {status}: {detail}")


def _chunk_text(chunk: Any) -> str:
    if isinstance(chunk, ollama.ChatResponse):
        return chunk.message.content or ""
    return str(getattr(chunk, "response", None) or "")
