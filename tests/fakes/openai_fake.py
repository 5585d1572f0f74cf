"""A fake OpenAI-compatible server (vLLM's dialect) on 127.0.0.1, for twinbot's OpenAI backend.

Shapes follow the OpenAI API and vLLM's server: `/v1/completions` and `/v1/chat/completions`
stream server-sent events (`data: {...}` then `data: [DONE]`), text in `choices[0].text` or
`choices[0].delta.content`, `finish_reason` `stop` or `length` in the last choice chunk, and with
`stream_options.include_usage` one more chunk with no choices and the `usage`. Errors are
`{"error": {"message", "type", "param", "code"}}` with the real status: 404 for an unknown model
(vLLM: "The model `X` does not exist."), 400 for a bad request, 401 without the key, 429 with
`Retry-After`, 503 when overloaded; a failure after the stream began is a `data: {"error": ...}`
event under the 200 (then `[DONE]`, as vLLM does).

It is scripted with the same `Script` as the fake Ollama, so one test can drive either.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import Callable
from typing import Any, Self

from aiohttp import web

from tests.fakes.ollama_fake import RecordedRequest, Script, _cut_at_stop

SSE = "text/event-stream"


def _error_body(message: str, type_: str, code: int | str, param: str | None = None) -> str:
    return json.dumps({"error": {"message": message, "type": type_, "param": param, "code": code}})


class OpenAIFake:
    def __init__(self, models: set[str] | None = None, api_key: str | None = None) -> None:
        self.models: set[str] = set(models or ())
        self.api_key = api_key  # when set, requests without `Authorization: Bearer <key>` get 401
        self.scripts: dict[str, Script] = {}
        self.default_script = Script()
        self.requests: list[RecordedRequest] = []
        self.authorizations: list[str | None] = []
        self.busy = False  # every generation answers 503, as an overloaded server
        self.retry_after: int | None = None  # every generation answers 429 with this Retry-After
        self.send_usage = (
            True  # honour stream_options.include_usage (llama.cpp's older builds don't)
        )
        self.send_done = True  # end with `data: [DONE]`
        self.send_finish = True  # send the last choice chunk with its finish_reason
        self.timings = False  # add llama.cpp's `timings` object to the last chunk
        self.active_streams = 0
        self.peak_streams = 0
        self.on_stream_start: Callable[[str], None] | None = None
        self._runner: web.AppRunner | None = None
        self.root = ""
        self.url = ""  # the base URL a pair names as its endpoint, ending in /v1

    def script(self, model: str, script: Script) -> None:
        self.scripts[model] = script

    def requests_to(self, path: str) -> list[dict[str, Any]]:
        return [r.body for r in self.requests if r.path == path]

    async def __aenter__(self) -> Self:
        app = web.Application()
        app.router.add_post("/v1/completions", self._completions)
        app.router.add_post("/v1/chat/completions", self._chat)
        app.router.add_get("/v1/models", self._models)
        app.router.add_get("/health", self._health)
        self._runner = web.AppRunner(app, handle_signals=False, shutdown_timeout=0.2)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.root = f"http://127.0.0.1:{port}"
        self.url = f"{self.root}/v1"
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    # --- protocol ---------------------------------------------------------------------------

    @staticmethod
    def _error(
        status: int, message: str, type_: str, param: str | None = None, **headers: str
    ) -> web.Response:
        return web.Response(
            status=status,
            text=_error_body(message, type_, status, param),
            content_type="application/json",
            headers=headers,
        )

    def _unauthorized(self, request: web.Request) -> web.Response | None:
        given = request.headers.get("Authorization")
        self.authorizations.append(given)
        if self.api_key is not None and given != f"Bearer {self.api_key}":
            # vLLM's --api-key middleware answers exactly this.
            return web.json_response({"error": "Unauthorized"}, status=401)
        return None

    async def _read(self, request: web.Request, required: str) -> dict[str, Any] | web.Response:
        refused = self._unauthorized(request)
        if refused is not None:
            return refused
        try:
            body = await request.json()
        except json.JSONDecodeError:
            return self._error(400, "Expecting value: line 1 column 1 (char 0)", "BadRequestError")
        if not isinstance(body, dict):
            return self._error(400, "Input should be a valid dictionary", "BadRequestError")
        self.requests.append(RecordedRequest(request.path, body))
        for name in ("model", required):
            if name not in body:
                return self._error(400, f"Field required: {name}", "BadRequestError", name)
        temperature = body.get("temperature", 1.0)
        if not isinstance(temperature, int | float) or not 0 <= temperature <= 2:
            return self._error(
                400, "temperature must be in [0, 2]", "BadRequestError", "temperature"
            )
        if not isinstance(body.get("max_tokens", 1), int) or body.get("max_tokens", 1) < 1:
            return self._error(
                400, "max_tokens must be at least 1", "BadRequestError", "max_tokens"
            )
        return body

    def _refusal(self, body: dict[str, Any]) -> web.Response | None:
        model = str(body["model"])
        if model not in self.models:
            return self._error(
                404, f"The model `{model}` does not exist.", "NotFoundError", "model"
            )
        if self.retry_after is not None:
            return self._error(
                429,
                "Rate limit reached for requests",
                "rate_limit_error",
                **{"Retry-After": str(self.retry_after)},
            )
        if self.busy:
            return self._error(
                503, "The server is overloaded, try again later", "ServiceUnavailable"
            )
        script = self.scripts.get(model, self.default_script)
        if script.status is not None:
            return self._error(script.status, script.error or "internal error", "BadRequestError")
        return None

    async def _completions(self, request: web.Request) -> web.StreamResponse:
        body = await self._read(request, "prompt")
        if isinstance(body, web.Response):
            return body
        refusal = self._refusal(body)
        if refusal is not None:
            return refusal
        if not isinstance(body["prompt"], str):
            return self._error(400, "prompt must be a string", "BadRequestError", "prompt")
        ident = f"cmpl-{uuid.uuid4().hex}"

        def choice(text: str, finish: str | None) -> dict[str, Any]:
            return {"index": 0, "text": text, "logprobs": None, "finish_reason": finish}

        return await self._stream(request, body, ident, "text_completion", choice, first=None)

    async def _chat(self, request: web.Request) -> web.StreamResponse:
        body = await self._read(request, "messages")
        if isinstance(body, web.Response):
            return body
        refusal = self._refusal(body)
        if refusal is not None:
            return refusal
        messages = body["messages"]
        if not isinstance(messages, list) or not all(
            isinstance(m, dict) and {"role", "content"} <= m.keys() for m in messages
        ):
            return self._error(400, "messages must be a list of {role, content}", "BadRequestError")
        ident = f"chatcmpl-{uuid.uuid4().hex}"

        def choice(text: str, finish: str | None) -> dict[str, Any]:
            delta = {"content": text} if text or finish is None else {}
            return {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}

        # The first chat chunk names the role and carries no text.
        first = {"index": 0, "delta": {"role": "assistant", "content": ""}, "finish_reason": None}
        return await self._stream(request, body, ident, "chat.completion.chunk", choice, first)

    async def _stream(
        self,
        request: web.Request,
        body: dict[str, Any],
        ident: str,
        kind: str,
        choice: Callable[[str, str | None], dict[str, Any]],
        first: dict[str, Any] | None,
    ) -> web.StreamResponse:
        model = str(body["model"])
        script = self.scripts.get(model, self.default_script)
        if body.get("stream") is not True:
            return self._error(400, "this fake only streams", "BadRequestError", "stream")
        limit = int(body.get("max_tokens", 16))
        stop = body.get("stop") or []
        stops = [stop] if isinstance(stop, str) else [s for s in stop if s]
        include_usage = bool((body.get("stream_options") or {}).get("include_usage"))
        created = int(time.time())
        started = time.monotonic()
        if self.on_stream_start is not None:
            self.on_stream_start(model)

        def chunk(choices: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
            payload = {"id": ident, "object": kind, "created": created, "model": model}
            payload["choices"] = choices
            if include_usage:
                payload["usage"] = None  # OpenAI sends null until the last chunk
            payload.update(extra)
            return payload

        response = web.StreamResponse(headers={"Content-Type": SSE, "Cache-Control": "no-cache"})
        await response.prepare(request)
        self.active_streams += 1
        self.peak_streams = max(self.peak_streams, self.active_streams)
        text, count, reason = "", 0, "stop"
        try:
            if first is not None:
                await self._event(response, chunk([first]))
            await asyncio.sleep(script.first_delay)
            for index, token in enumerate(script.tokens):
                if index and script.delay:
                    await asyncio.sleep(script.delay)
                if script.drop_after is not None and index >= script.drop_after:
                    request.transport.close()  # type: ignore[union-attr]
                    return response
                if script.error_after is not None and index >= script.error_after:
                    message = script.error or "EngineCore encountered an issue"
                    await self._event(
                        response, json.loads(_error_body(message, "InternalServerError", 500))
                    )
                    await self._data(response, "[DONE]")
                    return response
                if count >= limit:
                    reason = "length"
                    break
                piece, stopped = _cut_at_stop(text, token, stops)
                if piece:
                    text += piece
                    count += 1
                    await self._event(response, chunk([choice(piece, None)]))
                if stopped:
                    break
            last = chunk([choice("", reason)])
            if self.timings:
                elapsed_ms = (time.monotonic() - started) * 1000
                last["timings"] = {"predicted_n": count, "predicted_ms": max(elapsed_ms, 0.001)}
            if self.send_finish:
                await self._event(response, last)
            if include_usage and self.send_usage:
                prompt_tokens = len(json.dumps(body.get("prompt") or body.get("messages"))) // 4
                usage = {
                    "prompt_tokens": prompt_tokens,
                    "completion_tokens": count,
                    "total_tokens": prompt_tokens + count,
                }
                await self._event(response, chunk([], usage=usage))
            if self.send_done:
                await self._data(response, "[DONE]")
            await response.write_eof()
        finally:
            self.active_streams -= 1
        return response

    @staticmethod
    async def _data(response: web.StreamResponse, data: str) -> None:
        await response.write(f"data: {data}\n\n".encode())

    async def _event(self, response: web.StreamResponse, payload: dict[str, Any]) -> None:
        data = json.dumps(payload, ensure_ascii=False)
        try:
            data.encode()
        except UnicodeEncodeError:  # a lone surrogate: sent as `\ud800`, as a Python server does
            data = json.dumps(payload)
        await self._data(response, data)

    async def _models(self, request: web.Request) -> web.Response:
        refused = self._unauthorized(request)
        if refused is not None:
            return refused
        data = [
            {"id": model, "object": "model", "created": 0, "owned_by": "vllm", "root": model}
            for model in sorted(self.models)
        ]
        return web.json_response({"object": "list", "data": data})

    async def _health(self, request: web.Request) -> web.Response:
        return web.Response(status=200)
