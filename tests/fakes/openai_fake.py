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

With a toy model (`Script.next_token`) it also plays vLLM's extensions the lens's token shift
uses: `POST /tokenize` (chat messages through ChatML, `add_generation_prompt`) answering
`{count, max_model_len, tokens}`, and a non-streamed `/v1/completions` taking the prompt as
token ids, with `logprobs` (the legacy `{tokens, token_logprobs, top_logprobs, text_offset}`,
tokens as "token_id:N" under `return_tokens_as_token_ids`) and `prompt_logprobs: K` (per prompt
position `null` first, then `{id: {logprob, rank, decoded_token}}` holding the top K and the
actual token with its true rank). A toy vocabulary gives each token text an id.
"""

from __future__ import annotations

import asyncio
import json
import random
import time
import uuid
from collections.abc import Callable
from typing import Any, Self

from aiohttp import web

from tests.fakes.ollama_fake import END_OF_TEXT, RecordedRequest, Script, _cut_at_stop, _pick

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
        # False plays a server without vLLM's extensions: /tokenize is a 404, prompt_logprobs
        # and return_tokens_as_token_ids are ignored (llama.cpp's server ignores unknown fields).
        self.vllm_extensions = True
        self.vocab = ToyVocab()

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
        app.router.add_post("/tokenize", self._tokenize)
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
        script = self.scripts.get(str(body["model"]), self.default_script)
        if body.get("stream") is not True and script.next_token is not None:
            return self._complete_once(body, script)
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

    # --- vLLM's extensions (the token shift) --------------------------------------------------

    async def _tokenize(self, request: web.Request) -> web.Response:
        if not self.vllm_extensions:
            return web.json_response({"detail": "Not Found"}, status=404)
        refused = self._unauthorized(request)
        if refused is not None:
            return refused
        body = await request.json()
        self.requests.append(RecordedRequest(request.path, body))
        return web.json_response(_tokenize_route(self, body))

    def _complete_once(self, body: dict[str, Any], script: Script) -> web.Response:
        """A non-streamed completion from the toy model, with vLLM's logprobs when asked."""
        assert script.next_token is not None
        vocab = self.vocab
        prompt = body["prompt"]
        ids = list(prompt) if isinstance(prompt, list) else vocab.encode(str(prompt))
        text = vocab.decode(ids)
        rng = random.Random(body.get("seed"))
        temperature = float(body.get("temperature", 1.0))
        as_ids = self.vllm_extensions and bool(body.get("return_tokens_as_token_ids"))
        name = (lambda t: f"token_id:{vocab.id(t)}") if as_ids else (lambda t: t)
        tokens: list[str] = []
        token_logprobs: list[float] = []
        reason = "stop"
        for _ in range(int(body.get("max_tokens", 16))):
            alternatives = script.next_token(text)
            token = _pick(alternatives, temperature, rng)
            if token == END_OF_TEXT:
                break
            _, _, logprob = _ranked(alternatives, token)
            tokens.append(token)
            token_logprobs.append(logprob)
            text += token
        else:
            reason = "length"
        choice: dict[str, Any] = {
            "index": 0, "text": "".join(tokens), "logprobs": None, "finish_reason": reason,
            "stop_reason": None,
        }  # fmt: skip
        if body.get("logprobs") is not None:
            start = len(vocab.decode(ids))
            offsets = [start + len("".join(tokens[:n])) for n in range(len(tokens))]
            choice["logprobs"] = {
                "text_offset": offsets,
                "token_logprobs": token_logprobs,
                "tokens": [name(t) for t in tokens],
                "top_logprobs": [
                    {name(t): lp} for t, lp in zip(tokens, token_logprobs, strict=True)
                ],
            }
        top = body.get("prompt_logprobs")
        if self.vllm_extensions and isinstance(top, int):
            positions: list[dict[str, Any] | None] = [None]
            for at in range(1, len(ids)):
                actual = vocab.texts[ids[at]]
                ordered, rank, logprob = _ranked(script.next_token(vocab.decode(ids[:at])), actual)
                entry = {
                    str(vocab.id(t)): {"logprob": lp, "rank": n, "decoded_token": t}
                    for n, (t, lp) in enumerate(ordered[:top], start=1)
                }
                entry[str(ids[at])] = {"logprob": logprob, "rank": rank, "decoded_token": actual}
                positions.append(entry)
            choice["prompt_logprobs"] = positions
        usage = {"prompt_tokens": len(ids), "completion_tokens": len(tokens),
                 "total_tokens": len(ids) + len(tokens)}  # fmt: skip
        return web.json_response(
            {
                "id": f"cmpl-{uuid.uuid4().hex}",
                "object": "text_completion",
                "created": int(time.time()),
                "model": body["model"],
                "choices": [choice],
                "usage": usage,
            }
        )


class ToyVocab:
    """Token text <-> id for the toy models: ids given in order of first sight; text is cut
    greedily into the longest known tokens, else single characters."""

    SPECIAL = ("<|im_start|>", END_OF_TEXT)

    def __init__(self) -> None:
        self.ids: dict[str, int] = {}
        self.texts: list[str] = []
        for token in self.SPECIAL:
            self.id(token)

    def id(self, text: str) -> int:
        if text not in self.ids:
            self.ids[text] = len(self.texts)
            self.texts.append(text)
        return self.ids[text]

    def encode(self, text: str) -> list[int]:
        known = sorted(self.ids, key=len, reverse=True)
        out: list[int] = []
        at = 0
        while at < len(text):
            piece = next((k for k in known if k and text.startswith(k, at)), text[at])
            out.append(self.id(piece))
            at += len(piece)
        return out

    def decode(self, ids: list[int]) -> str:
        return "".join(self.texts[i] for i in ids)


def _chatml(messages: list[dict[str, Any]]) -> str:
    turns = "".join(f"<|im_start|>{m['role']}\n{m['content']}<|im_end|>\n" for m in messages)
    return turns + "<|im_start|>assistant\n"


def _ranked(
    alternatives: list[tuple[str, float]], actual: str
) -> tuple[list[tuple[str, float]], int, float]:
    """The alternatives likeliest first, the actual token's rank and logprob (one past the
    last listed, a little less likely, when the toy does not list it)."""
    ordered = sorted(alternatives, key=lambda alt: -alt[1])
    for rank, (token, logprob) in enumerate(ordered, start=1):
        if token == actual:
            return ordered, rank, logprob
    return ordered, len(ordered) + 1, (ordered[-1][1] if ordered else 0.0) - 1.0


def _tokenize_route(fake: OpenAIFake, body: dict[str, Any]) -> dict[str, Any]:
    text = _chatml(body["messages"]) if "messages" in body else str(body.get("prompt", ""))
    tokens = fake.vocab.encode(text)
    return {"count": len(tokens), "max_model_len": 8192, "tokens": tokens}
