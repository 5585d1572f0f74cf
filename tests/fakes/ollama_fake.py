"""A fake Ollama server speaking the real REST protocol on 127.0.0.1, for the real `ollama` client.

Shapes follow the bytes of a real server (v0.24.0, ../shared/fixtures/ollama/real-v0.24.0,
checked by tests/fakes/test_ollama_contract.py): NDJSON streams with `done: false` chunks and a
final chunk carrying the stats in nanoseconds, `{"error": ...}` bodies with the real status
codes, mid-stream error lines under a 200, and the OpenAI-compatible `/v1` routes as SSE.

A script's `tokens` are model tokens: `eval_count` counts every token sampled (the end-of-text
token too, and those a stop sequence swallowed), not the chunks written, as Ollama does.

Asked `logprobs: true` (with `top_logprobs: N`), each chunk carries a `logprobs` list for the
tokens it holds, `{token, logprob, bytes, top_logprobs: [{token, logprob, bytes}]}`, the final
chunk none, and an answer not streamed all of them in one list, as v0.24.0 does (logprobs/).

A script may carry a toy language model (`Script.next_token`): the alternatives for the next
token given the text the model sees, which is the raw prompt on /api/generate and the messages
written out by the model's template on /api/chat (ChatML as Ollama's chatml.gotmpl writes it: a
trailing assistant message is closed and a new assistant turn opened, never continued). Tokens
are then sampled from it with the request's temperature and seed, so a prompt that ends inside
an answer gets the distribution at that point, as a real model gives it.
"""

from __future__ import annotations

import asyncio
import json
import math
import random
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Self

from aiohttp import web

NDJSON = "application/x-ndjson"
RAW_TEMPLATE = "{{ .Prompt }}"
CHATML_TEMPLATE = (
    "{{- range .Messages }}<|im_start|>{{ .Role }}\n{{ .Content }}<|im_end|>\n{{ end }}"
    "<|im_start|>assistant\n"
)
RUNNER_DIED = "an error was encountered while running the model: unexpected EOF"
RUNNER_GONE = "llama runner process no longer running: -1 "
END_OF_TEXT = "<|im_end|>"  # a toy model's end-of-text: counted, never sent (as the runner)
TOP_LOGPROBS_LIMIT = 20
TOP_LOGPROBS_ERROR = f"top_logprobs must be between 0 and {TOP_LOGPROBS_LIMIT}"
BUSY = "server busy, please try again.  maximum pending requests exceeded"
# Ollama's option types (api.Options): a value of another JSON type is a 500 naming the option.
INT_OPTIONS = frozenset(
    {"num_predict", "seed", "num_ctx", "num_thread", "num_keep", "top_k", "num_batch", "num_gpu"}
)
FLOAT_OPTIONS = frozenset(
    {"temperature", "top_p", "min_p", "typical_p", "repeat_penalty", "presence_penalty"}
)


@dataclass
class Script:
    """What the fake does for one model: the tokens it samples and how it misbehaves."""

    tokens: list[str] = field(default_factory=lambda: ["Hello", ",", " world", "."])
    delay: float = 0.0  # seconds between tokens
    first_delay: float = 0.0  # seconds before the first token (prompt evaluation)
    status: int | None = None  # answer this HTTP status and error body instead of a stream
    error: str | None = None  # the error text for `status` or for a mid-stream error
    error_after: int | None = None  # send an error line after this many chunks (status stays 200)
    drop_after: int | None = None  # cut the connection after this many chunks (Ollama killed)
    # The model process dies after this many chunks: this stream ends in Ollama's error line,
    # and every request queued behind it for the same model is a 500 (as a real runner dies).
    kill_runner_after: int | None = None
    # Tokens computed from the request body instead of `tokens` (a guard model's verdict, say).
    reply: Callable[[dict[str, Any]], list[str]] | None = None
    # Per token (by position), the alternatives a `top_logprobs` request sees, most likely
    # first: (token, logprob). A sampled token listed here gets that logprob. Positions not
    # given get the sampled token at -0.1 and made-up alternatives below it.
    alternatives: list[list[tuple[str, float]]] = field(default_factory=list)
    # A toy language model: the alternatives (token, logprob), likeliest first, for the token
    # after this text; it may list more than 20 (top_logprobs shows the first N). When set,
    # `tokens`, `reply` and `alternatives` are not used.
    next_token: Callable[[str], list[tuple[str, float]]] | None = None


@dataclass
class CpuModel:
    """Token pace on a CPU host: runners whose threads together exceed the cores spin against
    each other, and each slows to `contention_factor` of its speed (0.5 against 64 tokens/s on
    2 cores with Ollama's default threads, measured on a real server)."""

    cores: int = 2
    tokens_per_s: float = 400.0  # one runner alone with every core
    contention_factor: float = 0.05


def _now() -> str:
    return datetime.now(UTC).isoformat().replace("+00:00", "Z")


def go_json(payload: object) -> bytes:
    """JSON as Go's encoder writes it: compact, UTF-8 raw (C1 controls too), HTML escaped."""
    text = json.dumps(payload, ensure_ascii=False, separators=(",", ":"))
    for char, escaped in (
        ("<", "\\u003c"),
        (">", "\\u003e"),
        ("&", "\\u0026"),
        ("\u2028", "\\u2028"),
        ("\u2029", "\\u2029"),
    ):
        text = text.replace(char, escaped)
    try:
        return text.encode()
    except UnicodeEncodeError:  # a lone surrogate: sent as `\ud800`, as a Python server does
        return json.dumps(payload, separators=(",", ":")).encode()


@dataclass
class RecordedRequest:
    path: str
    body: dict[str, Any]


@dataclass
class _Answer:
    """One generation as it came out: the chunks' text, why it ended, and Ollama's stats."""

    pieces: list[str] = field(default_factory=list)
    piece_logprobs: list[list[dict[str, Any]]] = field(default_factory=list)  # one per piece
    eval_count: int = 0
    done_reason: str = "stop"
    error: str | None = None
    dropped: bool = False


class OllamaFake:
    def __init__(self, models: set[str] | None = None, version: str = "0.12.3") -> None:
        self.models: set[str] = set(models or ())
        self.version = version
        self.scripts: dict[str, Script] = {}
        self.default_script = Script()
        self.requests: list[RecordedRequest] = []
        self.busy = False  # every generation answers 503, as past OLLAMA_MAX_QUEUE
        self.thinking_models: set[str] = set()  # the others answer 400 to `think: true`
        # False plays an Ollama from before logprobs: the fields are ignored, none come back.
        self.serves_logprobs = True
        self.templates: dict[str, str] = {}  # per tag; `{{ .Prompt }}` when not set
        self.pullable: set[str] = set()  # tags /api/pull can fetch; others fail as offline
        self.loaded: set[str] = set()  # listed by /api/ps once a model has answered
        self.cpu: CpuModel | None = None  # when set, token pace follows num_thread per request
        self.active_streams = 0
        self.peak_streams = 0
        self.on_stream_start: Callable[[str], None] | None = None
        # When a list: (loop time, model, text) of every chunk as it is sent (benchmarks time
        # how long a token takes to reach the screen).
        self.chunk_log: list[tuple[float, str, str]] | None = None
        self._active_threads: list[int] = []
        self._dying: dict[str, asyncio.Event] = {}
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
        app.router.add_post("/api/pull", self._pull)
        app.router.add_get("/api/tags", self._tags)
        app.router.add_get("/api/version", self._version)
        app.router.add_get("/api/ps", self._ps)
        app.router.add_post("/api/show", self._show)
        app.router.add_get("/v1/models", self._v1_models)
        app.router.add_post("/v1/chat/completions", self._v1_chat)
        app.router.add_post("/v1/completions", self._v1_completions)
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
            status=status,
            body=go_json({"error": message}),
            charset="utf-8",
            content_type="application/json",
        )

    @staticmethod
    def _json(payload: object) -> web.Response:
        return web.Response(body=go_json(payload), charset="utf-8", content_type="application/json")

    async def _read(self, request: web.Request) -> dict[str, Any] | web.Response:
        raw = await request.read()
        try:
            body = json.loads(raw)
        except json.JSONDecodeError as exc:
            # Go's decoder: a body cut short is "unexpected EOF", anything else a bad character.
            truncated = exc.pos >= len(raw.rstrip())
            return self._error(
                400,
                "unexpected EOF"
                if truncated
                else "invalid character looking for beginning of value",
            )
        if not isinstance(body, dict):
            return self._error(400, "json: cannot unmarshal into Go value")
        self.requests.append(RecordedRequest(request.path, body))
        return body

    def _refusal(self, body: dict[str, Any]) -> web.Response | None:
        model = str(body.get("model") or "")
        if model not in self.models:
            return self._error(404, f"model '{model}' not found")
        bad = _bad_option(body.get("options") or {})
        if bad is not None:
            return self._error(500, bad)
        top = body.get("top_logprobs")
        if self.serves_logprobs and isinstance(top, int) and not 0 <= top <= TOP_LOGPROBS_LIMIT:
            return self._error(400, TOP_LOGPROBS_ERROR)
        if body.get("think") is True and model not in self.thinking_models:
            return self._error(400, f'"{model}" does not support thinking')
        if self.busy:
            return self._error(503, BUSY)
        script = self.scripts.get(model, self.default_script)
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
        model = str(body["model"])

        def chunk(text: str) -> dict[str, Any]:
            return {"model": model, "created_at": _now(), "response": text, "done": False}

        if not body.get("prompt"):
            # An empty prompt only loads the model: one JSON object, no stats, even if streamed.
            self.loaded.add(model)
            return self._json({**chunk(""), "done": True, "done_reason": "load"})
        return await self._answer(request, body, chunk, "response")

    async def _chat(self, request: web.Request) -> web.StreamResponse:
        body = await self._read(request)
        if isinstance(body, web.Response):
            return body
        if not body.get("model"):
            return self._error(400, "model is required")
        refusal = self._refusal(body)
        if refusal is not None:
            return refusal
        model = str(body["model"])

        def chunk(text: str) -> dict[str, Any]:
            return {
                "model": model,
                "created_at": _now(),
                "message": {"role": "assistant", "content": text},
                "done": False,
            }

        if not body.get("messages"):
            self.loaded.add(model)
            return self._json({**chunk(""), "done": True, "done_reason": "load"})
        return await self._answer(request, body, chunk, "message")

    async def _answer(
        self,
        request: web.Request,
        body: dict[str, Any],
        chunk: Callable[[str], dict[str, Any]],
        field_name: str,
    ) -> web.StreamResponse:
        model = str(body["model"])
        dying = self._dying.get(model)
        if dying is not None:
            # Queued behind a runner that is about to die: Ollama answers 500 once it has.
            await dying.wait()
            return await self._queued_failure(request)
        started = time.monotonic_ns()
        streaming = body.get("stream", True) is not False
        response: web.StreamResponse | None = None
        if streaming:
            response = web.StreamResponse(headers={"Content-Type": NDJSON})
            await response.prepare(request)
        answer = _Answer()
        first_token_ns = 0
        with_logprobs = self.serves_logprobs and body.get("logprobs") is True
        async for piece in self._sample(request, body, answer):
            first_token_ns = first_token_ns or time.monotonic_ns()
            if response is not None:
                out = chunk(piece)
                if with_logprobs:
                    out["logprobs"] = answer.piece_logprobs[-1]
                await response.write(go_json(out) + b"\n")
        if answer.dropped:
            return response or web.Response(status=500)
        if answer.error is not None:
            if response is None:
                return self._error(500, answer.error)
            await response.write(go_json({"error": answer.error}) + b"\n")
            return response
        now = time.monotonic_ns()
        final: dict[str, Any] = {
            **chunk(""),
            "done": True,
            "done_reason": answer.done_reason,
            "total_duration": now - started,
            "load_duration": 1_000_000,
            "prompt_eval_count": len(str(body.get("prompt") or body.get("messages"))) // 4 + 1,
            "prompt_eval_duration": max(1, (first_token_ns or now) - started),
            "eval_count": answer.eval_count,
        }
        if answer.pieces:
            # Only end-of-text sampled: Go leaves the zero eval_duration out of the JSON.
            final["eval_duration"] = max(1, now - first_token_ns)
        if response is None:
            text = "".join(answer.pieces)
            final[field_name] = (
                text if field_name == "response" else {"role": "assistant", "content": text}
            )
            if with_logprobs:
                final["logprobs"] = [entry for piece in answer.piece_logprobs for entry in piece]
            return self._json(final)
        await response.write(go_json(final) + b"\n")
        await response.write_eof()
        return response

    async def _queued_failure(self, request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(status=500, headers={"Content-Type": "application/json"})
        await response.prepare(request)
        await response.write(go_json({"error": RUNNER_GONE}))
        await response.write_eof()
        return response

    async def _sample(
        self, request: web.Request, body: dict[str, Any], answer: _Answer
    ) -> AsyncIterator[str]:
        """Yield each chunk's text as Ollama's runner emits it, filling `answer` as it goes.

        Text that could be the start of a stop sequence is held back until it cannot, and a
        completed stop sequence is cut off and never sent, as the runner does.
        """
        model = str(body["model"])
        script = self.scripts.get(model, self.default_script)
        options = body.get("options") or {}
        limit = int(options.get("num_predict", -1))
        stops = [s for s in options.get("stop") or [] if s]
        threads = int(options.get("num_thread") or 0) or (self.cpu.cores if self.cpu else 1)
        tokens: list[str] | None = None
        if script.next_token is None:
            tokens = script.reply(body) if script.reply is not None else script.tokens
        else:  # a toy model: what it reads, and its draws
            model_text = self._seen_text(body)
            rng = random.Random(options.get("seed"))
            temperature = float(options.get("temperature", 0.8))
        top = int(body.get("top_logprobs") or 0)
        with_logprobs = body.get("logprobs") is True
        held: list[dict[str, Any]] = []  # logprobs of the tokens in `pending`
        if self.on_stream_start is not None:
            self.on_stream_start(model)
        if script.kill_runner_after is not None:
            self._dying[model] = asyncio.Event()
        self.active_streams += 1
        self.peak_streams = max(self.peak_streams, self.active_streams)
        self._active_threads.append(threads)
        pending = ""
        try:
            await asyncio.sleep(script.first_delay)  # loading the model, reading the prompt
            self.loaded.add(model)
            for index in range(1 << 30):
                if tokens is not None:
                    token = tokens[index] if index < len(tokens) else None
                    alternatives = []  # listed only when logprobs are asked for (below)
                else:
                    assert script.next_token is not None
                    alternatives = script.next_token(model_text)
                    token = _pick(alternatives, temperature, rng)
                    model_text += token
                    token = None if token == END_OF_TEXT else token
                if limit >= 0 and answer.eval_count >= limit:
                    answer.done_reason = "length"
                    break
                if index:
                    await asyncio.sleep(self._pace(script, threads))
                sent = len(answer.pieces)
                if script.drop_after is not None and sent >= script.drop_after:
                    answer.dropped = True
                    request.transport.close()  # type: ignore[union-attr]
                    return
                if script.kill_runner_after is not None and sent >= script.kill_runner_after:
                    answer.error = RUNNER_DIED
                    return
                if script.error_after is not None and sent >= script.error_after:
                    answer.error = (
                        script.error or "an error was encountered while running the model"
                    )
                    return
                answer.eval_count += 1
                if token is None:  # end-of-text
                    break
                pending += token
                if with_logprobs:
                    listed = alternatives or _alternatives(script, index, token)
                    held.append(_logprob(token, listed, top))
                at, stopped = _find_stop(pending, stops)
                if stopped:
                    pending = pending[:at]
                elif _ends_in_stop_prefix(pending, stops):
                    continue
                if pending:
                    answer.pieces.append(pending)
                    answer.piece_logprobs.append(held)
                    held = []
                    if self.chunk_log is not None:
                        self.chunk_log.append((asyncio.get_running_loop().time(), model, pending))
                    yield pending
                    pending = ""
                if stopped:
                    break
            if pending:
                answer.pieces.append(pending)
                answer.piece_logprobs.append(held)
                yield pending
        finally:
            self.active_streams -= 1
            self._active_threads.remove(threads)
            dying = self._dying.pop(model, None) if script.kill_runner_after is not None else None
            if dying is not None:
                dying.set()

    def _seen_text(self, body: dict[str, Any]) -> str:
        """The text the model reads: the prompt, or the messages through its template."""
        if "messages" not in body:
            return str(body.get("prompt") or "")
        messages = [m for m in body.get("messages") or [] if isinstance(m, dict)]
        if "<|im_start|>" in self.templates.get(str(body.get("model")), RAW_TEMPLATE):
            turns = "".join(
                f"<|im_start|>{m.get('role')}\n{m.get('content', '')}<|im_end|>\n" for m in messages
            )
            return turns + "<|im_start|>assistant\n"
        # `{{ .Prompt }}`: Ollama's legacy path writes the last user message only.
        users = [str(m.get("content", "")) for m in messages if m.get("role") == "user"]
        return users[-1] if users else ""

    def _pace(self, script: Script, threads: int) -> float:
        """Seconds between two tokens: the script's delay, or the CPU model's pace."""
        if self.cpu is None:
            return script.delay
        cpu = self.cpu
        speed = cpu.tokens_per_s * min(threads, cpu.cores) / cpu.cores
        if sum(self._active_threads) > cpu.cores:
            speed *= cpu.contention_factor
        return max(script.delay, 1 / speed)

    async def _pull(self, request: web.Request) -> web.StreamResponse:
        body = await self._read(request)
        if isinstance(body, web.Response):
            return body
        tag = str(body.get("model") or body.get("name") or "")
        response = web.StreamResponse(headers={"Content-Type": NDJSON})
        await response.prepare(request)
        lines: list[dict[str, Any]] = [{"status": "pulling manifest"}]
        if tag in self.pullable:
            layer = {"status": "pulling 74701a8c35f6", "digest": "sha256:74701a8c35f6"}
            lines += [{**layer, "total": 1000, "completed": done} for done in (0, 500, 1000)]
            lines += [{"status": "verifying sha256 digest"}, {"status": "success"}]
            self.models.add(tag)
        else:
            name, _, version = tag.partition(":")
            url = f"https://registry.ollama.ai/v2/library/{name}/manifests/{version or 'latest'}"
            lines.append(
                {
                    "error": f'pull model manifest: Get "{url}": '
                    "dial tcp: lookup registry.ollama.ai: no such host"
                }
            )
        for line in lines:
            await response.write(go_json(line) + b"\n")
        await response.write_eof()
        return response

    def _details(self) -> dict[str, Any]:
        return {
            "parent_model": "",
            "format": "gguf",
            "family": "llama",
            "families": ["llama"],
            "parameter_size": "1.2B",
            "quantization_level": "Q4_K_M",
        }

    async def _tags(self, request: web.Request) -> web.Response:
        models = [
            {
                "name": tag,
                "model": tag,
                "modified_at": "2025-05-04T17:37:44.706015396-07:00",
                "size": 807_000_000,
                "digest": f"{abs(hash(tag)):064x}"[:64],
                "details": self._details(),
            }
            for tag in sorted(self.models)
        ]
        return self._json({"models": models})

    async def _version(self, request: web.Request) -> web.Response:
        return self._json({"version": self.version})

    async def _ps(self, request: web.Request) -> web.Response:
        models = [
            {
                "name": tag,
                "model": tag,
                "size": 807_000_000,
                "digest": f"{abs(hash(tag)):064x}"[:64],
                "details": self._details(),
                "expires_at": "2099-01-01T00:00:00Z",
                "size_vram": 0,
                "context_length": 4096,
            }
            for tag in sorted(self.loaded & self.models)
        ]
        return self._json({"models": models})

    async def _show(self, request: web.Request) -> web.Response:
        body = await self._read(request)
        if isinstance(body, web.Response):
            return body
        model = str(body.get("model") or body.get("name") or "")
        if model not in self.models:
            return self._error(404, f"model '{model}' not found")
        template = self.templates.get(model, RAW_TEMPLATE)
        capabilities = ["completion"] + (["thinking"] if model in self.thinking_models else [])
        return self._json(
            {
                "modelfile": f"FROM {model}\nTEMPLATE {json.dumps(template)}\n",
                "parameters": "",
                "template": template,
                "details": self._details(),
                "model_info": {"general.architecture": "llama", "llama.context_length": 8192},
                "tensors": [{"name": "token_embd.weight", "type": "Q4_K", "shape": [2048, 128256]}],
                "capabilities": capabilities,
                "modified_at": "2025-05-04T17:37:44.706015396-07:00",
            }
        )

    # --- the OpenAI-compatible routes (/v1): SSE, errors in OpenAI's shape -------------------

    @staticmethod
    def _v1_error(status: int, message: str, kind: str) -> web.Response:
        payload = {"error": {"message": message, "type": kind, "param": None, "code": None}}
        # These go through Go's json.Encoder, which ends the body with a newline.
        return web.Response(
            status=status,
            body=go_json(payload) + b"\n",
            headers={"Content-Type": "application/json"},
        )

    async def _v1_models(self, request: web.Request) -> web.Response:
        data = [
            {"id": tag, "object": "model", "created": 1_700_000_000, "owned_by": "library"}
            for tag in sorted(self.models)
        ]
        return web.Response(
            body=go_json({"object": "list", "data": data}),
            headers={"Content-Type": "application/json"},
        )

    async def _v1_chat(self, request: web.Request) -> web.StreamResponse:
        return await self._v1(request, chat=True)

    async def _v1_completions(self, request: web.Request) -> web.StreamResponse:
        return await self._v1(request, chat=False)

    async def _v1(self, request: web.Request, chat: bool) -> web.StreamResponse:
        body = await self._read(request)
        if isinstance(body, web.Response):
            return body
        model = str(body.get("model") or "")
        if model not in self.models:
            return self._v1_error(404, f"model '{model}' not found", "not_found_error")
        if self.busy:
            return self._v1_error(503, BUSY, "api_error")
        options: dict[str, Any] = {"num_predict": body.get("max_tokens", -1)}
        if body.get("stop"):
            stop = body["stop"]
            options["stop"] = [stop] if isinstance(stop, str) else stop
        native = {**body, "options": options}
        ident = f"chatcmpl-{len(self.requests)}" if chat else f"cmpl-{len(self.requests)}"
        kind = "chat.completion.chunk" if chat else "text_completion"
        created = int(time.time())
        usage_each = not chat and bool((body.get("stream_options") or {}).get("include_usage"))

        def chunk(text: str, reason: str | None) -> dict[str, Any]:
            if chat:
                choice: dict[str, Any] = {
                    "index": 0,
                    "delta": {"role": "assistant", "content": text},
                    "finish_reason": reason,
                }
                return {
                    "id": ident,
                    "object": kind,
                    "created": created,
                    "model": model,
                    "system_fingerprint": "fp_ollama",
                    "choices": [choice],
                }
            out: dict[str, Any] = {
                "id": ident,
                "object": kind,
                "created": created,
                "choices": [{"text": text, "index": 0, "finish_reason": reason}],
                "model": model,
                "system_fingerprint": "fp_ollama",
            }
            if usage_each:
                out["usage"] = {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0}
            return out

        response = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await response.prepare(request)
        answer = _Answer()
        async for piece in self._sample(request, native, answer):
            await response.write(b"data: " + go_json(chunk(piece, None)) + b"\n\n")
        if answer.dropped:
            return response
        if answer.error is not None:
            error = {"error": {"message": answer.error, "type": "api_error", "param": None}}
            await response.write(b"data: " + go_json(error) + b"\n\n")
            return response
        reason = "length" if answer.done_reason == "length" else "stop"
        await response.write(b"data: " + go_json(chunk("", reason)) + b"\n\n")
        if (body.get("stream_options") or {}).get("include_usage"):
            prompt_tokens = len(str(body.get("prompt") or body.get("messages"))) // 4 + 1
            usage = {
                **chunk("", None),
                "choices": [],
                "usage": {
                    "prompt_tokens": prompt_tokens,
                    "completion_tokens": answer.eval_count,
                    "total_tokens": prompt_tokens + answer.eval_count,
                },
            }
            await response.write(b"data: " + go_json(usage) + b"\n\n")
        await response.write(b"data: [DONE]\n\n")
        await response.write_eof()
        return response

    async def _root(self, request: web.Request) -> web.Response:
        return web.Response(text="Ollama is running")


def _bad_option(options: dict[str, Any]) -> str | None:
    """Ollama's 500 for an option of the wrong JSON type, in its words."""
    for key, value in options.items():
        is_number = isinstance(value, int | float) and not isinstance(value, bool)
        if key in INT_OPTIONS and not is_number:
            return f'option "{key}" must be of type integer'
        if key in FLOAT_OPTIONS and not is_number:
            return f'option "{key}" must be of type float'
        if key == "stop" and not (
            isinstance(value, list) and all(isinstance(s, str) for s in value)
        ):
            return f'option "{key}" must be of type array'
    return None


def _token_entry(token: str, logprob: float) -> dict[str, Any]:
    # A lone surrogate (a token cut inside a character) keeps bytes rather than failing.
    return {"token": token, "logprob": logprob, "bytes": list(token.encode(errors="surrogatepass"))}


def _alternatives(script: Script, index: int, token: str) -> list[tuple[str, float]]:
    """The script's alternatives at this position, else the sampled token first and filler."""
    if index < len(script.alternatives):
        return script.alternatives[index]
    return [(token, -0.1), *((f"<alt{n}>", -2.0 - n) for n in range(TOP_LOGPROBS_LIMIT))]


def _pick(alternatives: list[tuple[str, float]], temperature: float, rng: random.Random) -> str:
    """A toy model's token: the likeliest at temperature 0, else drawn at that temperature."""
    if temperature <= 0:
        return max(alternatives, key=lambda alt: alt[1])[0]
    weights = [math.exp(lp / temperature) for _, lp in alternatives]
    return rng.choices([tok for tok, _ in alternatives], weights=weights)[0]


def _logprob(token: str, alternatives: list[tuple[str, float]], top: int) -> dict[str, Any]:
    """One token's logprobs entry in Ollama's shape; `top_logprobs` only when asked for."""
    own = next((lp for alt, lp in alternatives if alt == token), -0.1)
    entry = _token_entry(token, own)
    if top:
        entry["top_logprobs"] = [_token_entry(alt, lp) for alt, lp in alternatives[:top]]
    return entry


def _find_stop(text: str, stops: list[str]) -> tuple[int, bool]:
    """Where the first completed stop sequence starts in `text`, if any."""
    found = [at for at in (text.find(stop) for stop in stops) if at != -1]
    return (min(found), True) if found else (len(text), False)


def _ends_in_stop_prefix(text: str, stops: list[str]) -> bool:
    """True when the end of `text` could still grow into a stop sequence."""
    return any(text.endswith(stop[:length]) for stop in stops for length in range(1, len(stop)))


def _cut_at_stop(text: str, token: str, stops: list[str]) -> tuple[str, bool]:
    """The part of `token` before any stop sequence completes (the OpenAI-compatible fake's
    simpler rule: it does not hold back a possible stop prefix)."""
    combined = text + token
    for stop in stops:
        at = combined.find(stop, max(0, len(text) - len(stop) + 1))
        if at != -1:
            return combined[len(text) : at] if at >= len(text) else "", True
    return token, False


def suffix_model(
    table: dict[str, list[tuple[str, float]]], default: list[tuple[str, float]] | None = None
) -> Callable[[str], list[tuple[str, float]]]:
    """A toy language model for `Script.next_token`: the alternatives listed for the longest
    key the text ends with, else `default` (end-of-text)."""
    ordered = sorted(table, key=len, reverse=True)

    def next_token(text: str) -> list[tuple[str, float]]:
        for key in ordered:
            if text.endswith(key):
                return table[key]
        return default or [(END_OF_TEXT, 0.0)]

    return next_token
