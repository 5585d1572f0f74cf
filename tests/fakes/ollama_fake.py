"""A fake Ollama server speaking the real REST protocol on 127.0.0.1, for the real `ollama` client.

Shapes follow Ollama's docs and source (see ../shared/fixtures/ollama): NDJSON streams with
`done: false` chunks and a final chunk carrying the stats in nanoseconds, `{"error": ...}`
bodies with the real status codes, and mid-stream error lines under a 200.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Self

from aiohttp import web

NDJSON = "application/x-ndjson"


@dataclass
class Script:
    """What the fake does for one model: the tokens it streams and how it misbehaves."""

    tokens: list[str] = field(default_factory=lambda: ["Hello", ",", " world", "."])
    delay: float = 0.0  # seconds between chunks
    first_delay: float = 0.0  # seconds before the first chunk (prompt evaluation)
    status: int | None = None  # answer this HTTP status and error body instead of a stream
    error: str | None = None  # the error text for `status` or for a mid-stream error
    error_after: int | None = None  # send an error line after this many chunks (status stays 200)
    drop_after: int | None = None  # cut the connection after this many chunks (Ollama killed)
    # Tokens computed from the request body instead of `tokens` (a guard model's verdict, say).
    reply: Callable[[dict[str, Any]], list[str]] | None = None


def _now() -> str:
    return datetime.now(UTC).isoformat().replace("+00:00", "Z")


@dataclass
class RecordedRequest:
    path: str
    body: dict[str, Any]


class OllamaFake:
    def __init__(self, models: set[str] | None = None, version: str = "0.12.3") -> None:
        self.models: set[str] = set(models or ())
        self.version = version
        self.scripts: dict[str, Script] = {}
        self.default_script = Script()
        self.requests: list[RecordedRequest] = []
        self.busy = False  # every generation answers 503, as past OLLAMA_MAX_QUEUE
        self.active_streams = 0
        self.peak_streams = 0
        self.on_stream_start: Callable[[str], None] | None = None
        self._runner: web.AppRunner | None = None
        self.url = ""

    def script(self, model: str, script: Script) -> None:
        self.scripts[model] = script

    def requests_to(self, path: str) -> list[dict[str, Any]]:
        return [r.body for r in self.requests if r.path == path]

    async def __aenter__(self) -> Self:
        app = web.Application()
        app.router.add_post("/api/generate", self._generate)
        app.router.add_post("/api/chat", self._chat)
        app.router.add_get("/api/tags", self._tags)
        app.router.add_get("/api/version", self._version)
        app.router.add_get("/api/ps", self._ps)
        app.router.add_post("/api/show", self._show)
        app.router.add_get("/", self._root)
        self._runner = web.AppRunner(app, handle_signals=False, shutdown_timeout=0.2)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.url = f"http://127.0.0.1:{port}"
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    # --- protocol ---------------------------------------------------------------------------

    @staticmethod
    def _error(status: int, message: str) -> web.Response:
        return web.Response(
            status=status, text=json.dumps({"error": message}), content_type="application/json"
        )

    async def _read(self, request: web.Request) -> dict[str, Any] | web.Response:
        try:
            body = await request.json()
        except json.JSONDecodeError:
            return self._error(400, "invalid character looking for beginning of value")
        if not isinstance(body, dict):
            return self._error(400, "json: cannot unmarshal into Go value")
        self.requests.append(RecordedRequest(request.path, body))
        if not body.get("model"):
            return self._error(400, "model is required")
        return body

    def _refusal(self, body: dict[str, Any]) -> web.Response | None:
        model = str(body["model"])
        script = self.scripts.get(model, self.default_script)
        if model not in self.models:
            return self._error(404, f"model '{model}' not found")
        if self.busy:
            return self._error(
                503, "server busy, please try again.  maximum pending requests exceeded"
            )
        if script.status is not None:
            return self._error(script.status, script.error or "internal error")
        return None

    async def _generate(self, request: web.Request) -> web.StreamResponse:
        body = await self._read(request)
        if isinstance(body, web.Response):
            return body
        if body.get("raw") and any(body.get(k) for k in ("template", "system", "context")):
            return self._error(400, "raw mode does not support template, system, or context")
        refusal = self._refusal(body)
        if refusal is not None:
            return refusal

        def chunk(text: str) -> dict[str, Any]:
            return {"model": body["model"], "created_at": _now(), "response": text, "done": False}

        return await self._stream(request, body, chunk, final_extra={"response": ""})

    async def _chat(self, request: web.Request) -> web.StreamResponse:
        body = await self._read(request)
        if isinstance(body, web.Response):
            return body
        refusal = self._refusal(body)
        if refusal is not None:
            return refusal

        def chunk(text: str) -> dict[str, Any]:
            return {
                "model": body["model"],
                "created_at": _now(),
                "message": {"role": "assistant", "content": text},
                "done": False,
            }

        return await self._stream(
            request, body, chunk, final_extra={"message": {"role": "assistant", "content": ""}}
        )

    async def _stream(
        self,
        request: web.Request,
        body: dict[str, Any],
        chunk: Callable[[str], dict[str, Any]],
        final_extra: dict[str, Any],
    ) -> web.StreamResponse:
        model = str(body["model"])
        script = self.scripts.get(model, self.default_script)
        options = body.get("options") or {}
        limit = int(options.get("num_predict", -1))
        stops = [s for s in options.get("stop") or [] if s]
        streaming = body.get("stream", True)
        started = time.monotonic_ns()
        tokens = script.reply(body) if script.reply is not None else script.tokens
        if self.on_stream_start is not None:
            self.on_stream_start(model)

        response = web.StreamResponse(
            headers={"Content-Type": NDJSON if streaming else "application/json"}
        )
        await response.prepare(request)
        self.active_streams += 1
        self.peak_streams = max(self.peak_streams, self.active_streams)
        text, count, reason = "", 0, "stop"
        first_token_ns = 0
        try:
            await asyncio.sleep(script.first_delay)
            for index, token in enumerate(tokens):
                if index and script.delay:
                    await asyncio.sleep(script.delay)
                if script.drop_after is not None and index >= script.drop_after:
                    request.transport.close()  # type: ignore[union-attr]
                    return response
                if script.error_after is not None and index >= script.error_after:
                    await self._line(
                        response,
                        {
                            "error": script.error
                            or "an error was encountered while running the model"
                        },
                    )
                    return response
                if limit >= 0 and count >= limit:
                    reason = "length"
                    break
                piece, stopped = _cut_at_stop(text, token, stops)
                if not first_token_ns:
                    first_token_ns = time.monotonic_ns()
                if piece:
                    text += piece
                    count += 1
                    if streaming:
                        await self._line(response, chunk(piece))
                if stopped:
                    break
            eval_ns = max(1, time.monotonic_ns() - (first_token_ns or started))
            final = {
                **chunk(""),
                **final_extra,
                "done": True,
                "done_reason": reason,
                "total_duration": time.monotonic_ns() - started,
                "load_duration": 1_000_000,
                "prompt_eval_count": len(str(body.get("prompt") or body.get("messages"))) // 4 + 1,
                "prompt_eval_duration": max(1, first_token_ns - started) if first_token_ns else 1,
                "eval_count": count,
                "eval_duration": eval_ns,
            }
            if not streaming:
                final["response" if "response" in final_extra else "message"] = (
                    text if "response" in final_extra else {"role": "assistant", "content": text}
                )
            await self._line(response, final)
            await response.write_eof()
        finally:
            self.active_streams -= 1
        return response

    @staticmethod
    async def _line(response: web.StreamResponse, payload: dict[str, Any]) -> None:
        try:
            line = json.dumps(payload, ensure_ascii=False).encode()
        except UnicodeEncodeError:  # a lone surrogate: sent as `\ud800`, as a Python server does
            line = json.dumps(payload).encode()
        await response.write(line + b"\n")

    async def _tags(self, request: web.Request) -> web.Response:
        models = [
            {
                "name": tag,
                "model": tag,
                "modified_at": "2025-05-04T17:37:44.706015396-07:00",
                "size": 807_000_000,
                "digest": f"{abs(hash(tag)):064x}"[:64],
                "details": {
                    "parent_model": "",
                    "format": "gguf",
                    "family": "llama",
                    "families": ["llama"],
                    "parameter_size": "1.2B",
                    "quantization_level": "Q4_K_M",
                },
            }
            for tag in sorted(self.models)
        ]
        return web.json_response({"models": models})

    async def _version(self, request: web.Request) -> web.Response:
        return web.json_response({"version": self.version})

    async def _ps(self, request: web.Request) -> web.Response:
        return web.json_response({"models": []})

    async def _show(self, request: web.Request) -> web.Response:
        body = await request.json()
        model = body.get("model") or body.get("name")
        if model not in self.models:
            return self._error(404, f"model '{model}' not found")
        return web.json_response(
            {"modelfile": "", "parameters": "", "template": "", "capabilities": ["completion"]}
        )

    async def _root(self, request: web.Request) -> web.Response:
        return web.Response(text="Ollama is running")


def _cut_at_stop(text: str, token: str, stops: list[str]) -> tuple[str, bool]:
    """The part of `token` before any stop sequence completes, as Ollama's runner trims it."""
    combined = text + token
    for stop in stops:
        at = combined.find(stop, max(0, len(text) - len(stop) + 1))
        if at != -1:
            return combined[len(text) : at] if at >= len(text) else "", True
    return token, False
