"""A fake Slack (Web API + Socket Mode websocket + response_url) on 127.0.0.1.

Real bolt/slack_sdk clients talk to it over HTTP and websockets, and it enforces
the rules Slack enforces (auth, membership, size limits, 429s), so a test fails
where production would. Usage:

    async with SlackFake() as fake:
        client = AsyncWebClient(token=fake.bot_token, base_url=fake.api_url)
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import itertools
import json
import math
import re
import time
import uuid
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, Literal
from urllib.parse import urlencode

from aiohttp import WSMsgType, web

JSON = dict[str, Any]
TEXT_LIMIT = 40_000  # chat.postMessage / chat.update `text`
SECTION_TEXT_LIMIT = 3_000  # section block text
BLOCKS_LIMIT = 50
ACK_DEADLINE = 3.0  # Slack shows the user an error past this
RESPONSE_URL_USES = 5  # a response_url takes at most 5 posts
TIER3 = ("chat.update", "reactions.add")  # about 50 a minute per workspace, per method
# The streaming methods (slack-sdk 3.47.0; docs.slack.dev method pages): chat.appendStream is
# Tier 4 (100+ a minute), chat.stopStream Tier 2 (20+); chat.startStream's page names no tier
# that could be checked here, so the fake takes Tier 2 like its twin chat.stopStream.
STREAM_LIMITS = {"chat.startStream": 20, "chat.appendStream": 100, "chat.stopStream": 20}
MARKDOWN_LIMIT = 12_000  # markdown_text per call, every streaming method


_ESCAPED = re.compile(r"\\([!-/:-@\[-`{-~])")  # a backslash escape: the character shows as is
_LIVE_MARKUP = re.compile(r"<[^<>]*>|\]\(")  # Slack's <…> forms; a markdown link or image
_AUTOLINKED = re.compile(r"[a-z][a-z0-9+.-]*://|www\.|@(?:here|channel|everyone)\b", re.I)


def live_markdown(text: str) -> list[str]:
    """What in streamed `markdown_text` Slack could render live: a `<…>` mention, link or
    command or a markdown link or image not escaped (Slack documents the backslash escape),
    and in the text as shown, a bare URL or a broadcast word (Slack links those by itself).
    Slack's pages do not say how streamed markdown treats mentions, so the fake takes every
    such form as live."""
    shown = _ESCAPED.sub(r"\1", text)
    return _LIVE_MARKUP.findall(_ESCAPED.sub("\x00", text)) + _AUTOLINKED.findall(shown)


@dataclass
class ApiCall:
    """One Web API request as the fake saw it (token kept apart from params)."""

    method: str
    params: JSON
    token: str | None
    at: float  # time.monotonic()
    status: int = 200
    response: JSON = field(default_factory=dict)

    @property
    def error(self) -> str | None:
        return None if self.response.get("ok") else self.response.get("error")


@dataclass
class Message:
    channel: str
    ts: str
    text: str
    blocks: list[Any] | None
    thread_ts: str | None
    user: str
    history: list[tuple[str, list[Any] | None]]  # every (text, blocks) version, first = posted
    reactions: list[str] = field(default_factory=list)  # names the bot added
    deleted: bool = False
    files: list[str] = field(default_factory=list)  # ids of files shared with this message
    streaming: bool = False  # started by chat.startStream and not stopped (or expired) yet
    stream_started: float = 0.0  # time.monotonic() of chat.startStream


@dataclass
class Channel:
    id: str
    member: bool = True  # False -> posting answers not_in_channel
    messages: dict[str, Message] = field(default_factory=dict)


@dataclass
class SocketAck:
    envelope_id: str
    payload: JSON | None
    latency: float  # seconds from sending the envelope to receiving the ack

    @property
    def late(self) -> bool:
        return self.latency > ACK_DEADLINE


@dataclass
class ResponseUrlPost:
    path: str
    body: JSON
    at: float


@dataclass
class UploadedFile:
    """A file uploaded the v2 way: getUploadURLExternal, POST to the URL, completeUploadExternal."""

    id: str
    filename: str
    length: int
    alt_txt: str | None
    data: bytes | None = None  # set by the POST to the upload URL
    title: str | None = None
    channel: str | None = None  # set by completeUploadExternal (shared there)


@dataclass
class _Forced:
    status: int
    error: str
    retry_after: int


class _Fail(Exception):
    """Raised by a method handler: becomes {"ok": false, "error": ..., **extra}."""

    def __init__(self, error: str, **extra: Any) -> None:
        super().__init__(error)
        self.error, self.extra = error, extra


def sign(secret: str, body: str, timestamp: int | None = None) -> dict[str, str]:
    """Slack's request signature headers: v0=HMAC-SHA256(secret, "v0:{ts}:{body}")."""
    ts = str(int(time.time()) if timestamp is None else timestamp)
    digest = hmac.new(secret.encode(), f"v0:{ts}:{body}".encode(), hashlib.sha256).hexdigest()
    return {"X-Slack-Request-Timestamp": ts, "X-Slack-Signature": f"v0={digest}"}


class SlackFake:
    def __init__(
        self,
        *,
        update_limit: int = 50,  # chat.update, Tier 3: per workspace ...
        update_window: float = 60.0,  # ... per this many seconds (sliding window)
        post_rate: float = 1.0,  # chat.postMessage per second per channel ...
        post_burst: int = 5,  # ... with this burst allowance (token bucket)
        long_text: Literal["error", "truncate"] = "error",  # >40k: msg_too_long or truncate+warn
        stream_limits: dict[str, int] | None = None,  # per method, per `update_window`
        stream_ttl: float | None = None,  # a stream not stopped by then stops taking appends
    ) -> None:
        # Tier 3 methods (chat.update, reactions.add) share these figures, each method with
        # its own sliding window per workspace, as Slack counts them.
        self.update_limit, self.update_window = update_limit, update_window
        self.post_rate, self.post_burst, self.long_text = post_rate, post_burst, long_text
        self.stream_limits = {**STREAM_LIMITS, **(stream_limits or {})}
        self.stream_ttl = stream_ttl
        self.team_id, self.team_domain, self.app_id = "T0TWINBOT", "twinbot-test", "A0TWINBOT"
        self.bot_user_id, self.bot_id = "U0TWINBOT", "B0TWINBOT"
        self.user_id = "U0HUMAN01"  # default human for commands and reactions
        self.channel_id = "C0TWINBOT"  # default channel, bot is a member
        self.bot_token = "xoxb-1111-2222-fakebottoken"
        self.app_token = "xapp-1-A0TWINBOT-3333-fakeapptoken"
        self.signing_secret = "8f742231b10e8888abcd99fakesecret"
        self.verification_token = "fakeverificationtoken"
        self.scopes = "commands,chat:write,reactions:read,reactions:write,files:write,users:read"
        self.channels: dict[str, Channel] = {self.channel_id: Channel(self.channel_id)}
        self.calls: list[ApiCall] = []
        self.ratelimited: Counter[str] = Counter()  # 429s served, per method
        self.acks: list[SocketAck] = []
        self.responses: list[ResponseUrlPost] = []
        self.files: dict[str, UploadedFile] = {}
        self.bot_users: set[str] = {self.bot_user_id}  # users.info says is_bot for these
        self._forced: dict[str, deque[_Forced]] = {}
        self._tier3_hits: dict[str, deque[float]] = {}  # method -> answered-at times
        self._post_buckets: dict[str, tuple[float, float]] = {}  # channel -> (tokens, at)
        self._ts = itertools.count(1)
        self._ids = itertools.count(1)
        self._tickets: set[str] = set()
        self._sockets: list[web.WebSocketResponse] = []
        self._sent_at: dict[str, float] = {}
        self._changed = asyncio.Event()  # set whenever the recorded state changes
        self._runner: web.AppRunner | None = None
        self.port = 0
        self._methods: dict[str, Callable[[JSON], JSON]] = {
            "auth.test": self._auth_test,
            "chat.postMessage": self._post_message,
            "chat.update": self._update,
            "chat.startStream": self._start_stream,
            "chat.appendStream": self._append_stream,
            "chat.stopStream": self._stop_stream,
            "chat.postEphemeral": self._post_ephemeral,
            "chat.delete": self._delete,
            "reactions.add": self._reactions_add,
            "reactions.remove": self._reactions_remove,
            "apps.connections.open": self._connections_open,
            "users.info": self._users_info,
            "files.getUploadURLExternal": self._get_upload_url,
            "files.completeUploadExternal": self._complete_upload,
        }

    # ---- lifecycle -------------------------------------------------------------------------

    async def __aenter__(self) -> SlackFake:
        app = web.Application()
        app.router.add_route("*", "/api/{method}", self._api)
        app.router.add_get("/socket", self._socket)
        app.router.add_post("/commands/{rest:.*}", self._response_url)
        app.router.add_post("/upload/v1/{file_id}", self._upload)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = self._runner.addresses[0][1]
        return self

    async def __aexit__(
        self, et: type[BaseException] | None, ev: BaseException | None, tb: TracebackType | None
    ) -> None:
        for ws in list(self._sockets):
            await ws.close()
        if self._runner is not None:
            await self._runner.cleanup()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def api_url(self) -> str:
        return f"{self.base_url}/api/"  # AsyncWebClient urljoins the method onto this

    # ---- switches and state ----------------------------------------------------------------

    def add_channel(self, channel_id: str, *, member: bool = True) -> Channel:
        ch = self.channels.setdefault(channel_id, Channel(channel_id))
        ch.member = member
        return ch

    def fail_next(
        self,
        method: str,
        times: int = 1,
        *,
        status: int = 200,
        error: str | None = None,
        retry_after: int = 1,
    ) -> None:
        """Next `times` calls of `method`: status 429 -> ratelimited with Retry-After,
        5xx -> a server error, 200 -> {"ok": false, "error": error}."""
        if status == 200 and error is None:
            raise ValueError("status 200 needs an error")
        default = "ratelimited" if status == 429 else "internal_error"
        forced = _Forced(status, error or default, retry_after)
        self._forced.setdefault(method, deque()).extend([forced] * times)

    def calls_to(self, method: str) -> list[ApiCall]:
        return [c for c in self.calls if c.method == method]

    @property
    def ratelimited_total(self) -> int:
        return sum(self.ratelimited.values())

    def message(self, channel: str, ts: str) -> Message:
        return self.channels[channel].messages[ts]

    def thread(self, channel: str, parent_ts: str) -> list[Message]:
        """Parent then replies in ts order, deleted ones left out."""
        msgs = self.channels[channel].messages.values()
        found = [m for m in msgs if m.ts == parent_ts or m.thread_ts == parent_ts]
        return sorted((m for m in found if not m.deleted), key=lambda m: float(m.ts))

    def thread_texts(self, channel: str, parent_ts: str) -> list[str]:
        return [m.text for m in self.thread(channel, parent_ts)]

    async def wait_for(self, predicate: Callable[[], bool], within: float = 5.0) -> None:
        """Wait until `predicate()` (over the fake's state) holds, re-checking on every
        request, ack or (dis)connection: bolt runs listeners as background tasks."""
        async with asyncio.timeout(within):
            while not predicate():
                self._changed.clear()
                await self._changed.wait()

    # ---- Web API ---------------------------------------------------------------------------

    async def _api(self, request: web.Request) -> web.Response:
        params: JSON = dict(request.query)  # slack_sdk sends some methods' params as a query
        if request.content_type == "application/json":
            body = await request.json()
            params.update(body if isinstance(body, dict) else {})
        elif request.can_read_body:
            form = await request.post()
            params.update({k: v for k, v in form.items() if isinstance(v, str)})
        auth = request.headers.get("Authorization", "")
        token = auth.removeprefix("Bearer ") if auth.startswith("Bearer ") else None
        token = params.pop("token", None) or token
        call = ApiCall(request.match_info["method"], params, token, time.monotonic())
        self.calls.append(call)
        call.status, call.response, retry_after = self._answer(call)
        self._changed.set()
        headers = {"X-OAuth-Scopes": self.scopes}
        if call.status == 429:
            self.ratelimited[call.method] += 1
            headers["Retry-After"] = str(retry_after)
        return web.json_response(call.response, status=call.status, headers=headers)

    def _answer(self, call: ApiCall) -> tuple[int, JSON, int]:
        queue = self._forced.get(call.method)
        if queue:
            f = queue.popleft()
            return f.status, {"ok": False, "error": f.error}, f.retry_after
        handler = self._methods.get(call.method)
        try:
            if handler is None:
                raise _Fail("unknown_method", req_method=call.method)
            self._check_token(call)
            wait = self._rate_wait(call)
            if wait > 0:
                return 429, {"ok": False, "error": "ratelimited"}, max(1, math.ceil(wait))
            return 200, handler(call.params), 0
        except _Fail as e:
            return 200, {"ok": False, "error": e.error, **e.extra}, 0

    def _check_token(self, call: ApiCall) -> None:
        if not call.token:
            raise _Fail("not_authed")
        if call.token not in (self.bot_token, self.app_token):
            raise _Fail("invalid_auth")
        wants_app = call.method == "apps.connections.open"
        if (call.token == self.app_token) != wants_app:
            raise _Fail("not_allowed_token_type")

    def _rate_wait(self, call: ApiCall) -> float:
        """Seconds until the call would be allowed; 0 = allowed (and counted)."""
        now = time.monotonic()
        limit = self.update_limit if call.method in TIER3 else self.stream_limits.get(call.method)
        if limit is not None:  # one sliding window per method and workspace
            hits = self._tier3_hits.setdefault(call.method, deque())
            while hits and now - hits[0] >= self.update_window:
                hits.popleft()
            if len(hits) >= limit:
                return hits[0] + self.update_window - now
            hits.append(now)
        elif call.method == "chat.postMessage":  # token bucket per channel
            channel = str(call.params.get("channel", ""))
            tokens, last = self._post_buckets.get(channel, (float(self.post_burst), now))
            tokens = min(float(self.post_burst), tokens + (now - last) * self.post_rate)
            if tokens < 1:
                self._post_buckets[channel] = (tokens, now)
                return (1 - tokens) / self.post_rate
            self._post_buckets[channel] = (tokens - 1, now)
        return 0.0

    def _channel(self, p: JSON, *, member: bool = True) -> Channel:
        ch = self.channels.get(str(p.get("channel", "")))
        if ch is None:
            raise _Fail("channel_not_found")
        if member and not ch.member:
            raise _Fail("not_in_channel")
        return ch

    def _find(self, p: JSON, ts_key: str = "ts", *, member: bool = True) -> Message:
        msg = self._channel(p, member=member).messages.get(str(p.get(ts_key, "")))
        if msg is None or msg.deleted:
            raise _Fail("message_not_found")
        return msg

    def _content(self, p: JSON, old: Message | None = None) -> tuple[str, list[Any] | None, JSON]:
        """Validate text/blocks like Slack; returns (text, blocks, extra response fields)."""
        text = str(p["text"]) if "text" in p else (old.text if old else "")
        blocks = p.get("blocks", old.blocks if old else None)
        if isinstance(blocks, str):  # form bodies carry blocks as a JSON string
            try:
                blocks = json.loads(blocks)
            except ValueError:
                raise _Fail("invalid_blocks_format") from None
        if not text and not blocks and not p.get("attachments"):
            raise _Fail("no_text")
        extra: JSON = {}
        if len(text) > TEXT_LIMIT:
            if self.long_text == "error":
                raise _Fail("msg_too_long")
            text = text[:TEXT_LIMIT]
            warn = "[WARN] Your message was truncated but still posted."
            extra = {"response_metadata": {"warnings": ["message_truncated"], "messages": [warn]}}
        if blocks is not None:
            self._check_blocks(blocks)
        return text, blocks, extra

    @staticmethod
    def _check_blocks(blocks: Any) -> None:
        problems: list[str] = []
        if not isinstance(blocks, list):
            problems.append("must be an array [json-pointer:/blocks]")
        elif len(blocks) > BLOCKS_LIMIT:
            problems.append(f"no more than {BLOCKS_LIMIT} items allowed [json-pointer:/blocks]")
        else:
            for i, b in enumerate(blocks):
                section = isinstance(b, dict) and b.get("type") == "section"
                inner = b.get("text") if section else None
                if isinstance(inner, dict) and len(str(inner.get("text", ""))) > SECTION_TEXT_LIMIT:
                    problems.append(
                        f"must be less than {SECTION_TEXT_LIMIT + 1} characters "
                        f"[json-pointer:/blocks/{i}/text/text]"
                    )
        if problems:
            meta = {"messages": [f"[ERROR] {p}" for p in problems]}
            raise _Fail("invalid_blocks", errors=problems, response_metadata=meta)

    def _next_ts(self) -> str:
        micros = next(self._ts) * 100  # "1700000000.000100", "...000200": unique, increasing
        return f"{1_700_000_000 + micros // 1_000_000}.{micros % 1_000_000:06d}"

    def _message_json(self, m: Message) -> JSON:
        d: JSON = {
            "type": "message",
            "user": m.user,
            "bot_id": self.bot_id,
            "app_id": self.app_id,
            "team": self.team_id,
            "ts": m.ts,
            "text": m.text,
        }
        if m.blocks is not None:
            d["blocks"] = m.blocks
        if m.thread_ts is not None:
            d.update(thread_ts=m.thread_ts, parent_user_id=self.bot_user_id)
        return d

    # ---- method handlers -------------------------------------------------------------------

    def _auth_test(self, p: JSON) -> JSON:
        # bolt takes user_id as the bot user id (because bot_id is set) and ignores its events
        return {
            "ok": True,
            "url": f"https://{self.team_domain}.slack.com/",
            "team": "Twinbot Test",
            "user": "twinbot",
            "team_id": self.team_id,
            "user_id": self.bot_user_id,
            "bot_id": self.bot_id,
            "is_enterprise_install": False,
        }

    def _post_message(self, p: JSON) -> JSON:
        ch = self._channel(p)
        text, blocks, extra = self._content(p)
        thread_ts = str(p["thread_ts"]) if p.get("thread_ts") else None
        if thread_ts is not None and not re.fullmatch(r"\d+\.\d+", thread_ts):
            raise _Fail("invalid_thread_ts")
        ts = self._next_ts()
        # An unknown thread_ts is accepted, as Slack does: the reply then shows nowhere.
        m = Message(ch.id, ts, text, blocks, thread_ts, self.bot_user_id, [(text, blocks)])
        ch.messages[ts] = m
        return {"ok": True, "channel": ch.id, "ts": ts, "message": self._message_json(m), **extra}

    def _update(self, p: JSON) -> JSON:
        m = self._find(p)
        if m.user != self.bot_user_id:
            raise _Fail("cant_update_message")
        m.text, m.blocks, extra = self._content(p, old=m)
        m.history.append((m.text, m.blocks))
        msg, ch = self._message_json(m), m.channel
        return {"ok": True, "channel": ch, "ts": m.ts, "text": m.text, "message": msg, **extra}

    # ---- streaming (chat.startStream / appendStream / stopStream) ---------------------------

    @staticmethod
    def _missing(field_name: str) -> _Fail:
        meta = {"messages": [f"[ERROR] missing required field: {field_name}"]}
        return _Fail("invalid_arguments", response_metadata=meta)

    def _markdown(self, p: JSON, *, required: bool) -> str:
        """The text a streaming call appends: `markdown_text`, then any markdown_text chunks."""
        pieces = [str(p["markdown_text"])] if p.get("markdown_text") else []
        chunks = p.get("chunks") or []
        if isinstance(chunks, str):
            try:
                chunks = json.loads(chunks)
            except ValueError:
                raise _Fail("invalid_chunks") from None
        for chunk in chunks:
            if not isinstance(chunk, dict) or not chunk.get("type"):
                raise _Fail("invalid_chunks")
            if chunk["type"] == "markdown_text":
                pieces.append(str(chunk.get("text", "")))
        text = "".join(pieces)
        if required and not text:
            raise self._missing("markdown_text")
        if len(str(p.get("markdown_text") or "")) > MARKDOWN_LIMIT:
            meta = {"messages": [f"[ERROR] must be less than {MARKDOWN_LIMIT + 1} characters"]}
            raise _Fail("invalid_arguments", response_metadata=meta)
        return text

    def _streaming(self, p: JSON) -> Message:
        m = self._find(p)
        if m.user != self.bot_user_id:
            raise _Fail("cant_update_message")
        expired = self.stream_ttl is not None
        if expired and time.monotonic() - m.stream_started > (self.stream_ttl or 0.0):
            m.streaming = False
        if not m.streaming:
            raise _Fail("message_not_in_streaming_state")
        return m

    def _start_stream(self, p: JSON) -> JSON:
        ch = self._channel(p)
        thread_ts = str(p.get("thread_ts") or "")
        if not thread_ts:
            raise self._missing("thread_ts")  # streamed messages are replies to a request
        if not re.fullmatch(r"\d+\.\d+", thread_ts):
            raise _Fail("invalid_thread_ts")
        if not ch.id.startswith("D"):  # outside a DM Slack must know who asked
            for needed in ("recipient_user_id", "recipient_team_id"):
                if not p.get(needed):
                    raise self._missing(needed)
        text = self._markdown(p, required=False)
        ts = self._next_ts()
        m = Message(ch.id, ts, text, None, thread_ts, self.bot_user_id, [(text, None)])
        m.streaming, m.stream_started = True, time.monotonic()
        ch.messages[ts] = m
        return {"ok": True, "channel": ch.id, "ts": ts}

    def _append_stream(self, p: JSON) -> JSON:
        m = self._streaming(p)
        m.text += self._markdown(p, required=True)
        m.history.append((m.text, m.blocks))
        return {"ok": True, "channel": m.channel, "ts": m.ts}

    def _stop_stream(self, p: JSON) -> JSON:
        m = self._streaming(p)
        m.text += self._markdown(p, required=False)
        blocks = p.get("blocks")
        if isinstance(blocks, str):
            try:
                blocks = json.loads(blocks)
            except ValueError:
                raise _Fail("invalid_blocks_format") from None
        if blocks is not None:
            self._check_blocks(blocks)
            m.blocks = blocks  # rendered below the streamed text
        m.streaming = False
        m.history.append((m.text, m.blocks))
        return {"ok": True, "channel": m.channel, "ts": m.ts, "message": self._message_json(m)}

    def _post_ephemeral(self, p: JSON) -> JSON:
        self._channel(p)
        if not p.get("user"):
            raise _Fail("user_not_in_channel")
        self._content(p)
        return {"ok": True, "message_ts": self._next_ts()}

    def _delete(self, p: JSON) -> JSON:
        m = self._find(p)
        if m.user != self.bot_user_id:
            raise _Fail("cant_delete_message")
        m.deleted = True
        return {"ok": True, "channel": m.channel, "ts": m.ts}

    def _reactions_add(self, p: JSON) -> JSON:
        m, name = self._find(p, "timestamp", member=False), str(p.get("name", ""))
        if not name:
            raise _Fail("invalid_name")
        if name in m.reactions:
            raise _Fail("already_reacted")
        m.reactions.append(name)
        return {"ok": True}

    def _reactions_remove(self, p: JSON) -> JSON:
        m, name = self._find(p, "timestamp", member=False), str(p.get("name", ""))
        if name not in m.reactions:
            raise _Fail("no_reaction")
        m.reactions.remove(name)
        return {"ok": True}

    def _connections_open(self, p: JSON) -> JSON:
        ticket = uuid.uuid4().hex
        self._tickets.add(ticket)
        url = f"ws://127.0.0.1:{self.port}/socket?ticket={ticket}&app_id={self.app_id}"
        return {"ok": True, "url": url}

    def _users_info(self, p: JSON) -> JSON:
        user = str(p.get("user", ""))
        if not re.fullmatch(r"[UWB][A-Z0-9]+", user):
            raise _Fail("user_not_found")
        is_bot = user in self.bot_users
        name = "twinbot" if user == self.bot_user_id else user.lower()
        return {
            "ok": True,
            "user": {"id": user, "team_id": self.team_id, "name": name, "is_bot": is_bot,
                     "is_app_user": False, "deleted": False},
        }  # fmt: skip

    def _get_upload_url(self, p: JSON) -> JSON:
        filename, length = str(p.get("filename") or ""), str(p.get("length") or "")
        if not filename or not length.isdigit():
            raise _Fail("invalid_arguments")
        file_id = f"F{next(self._ids):08d}"
        alt = p.get("alt_txt")
        self.files[file_id] = UploadedFile(file_id, filename, int(length), alt and str(alt))
        return {
            "ok": True,
            "upload_url": f"{self.base_url}/upload/v1/{file_id}",
            "file_id": file_id,
        }

    async def _upload(self, request: web.Request) -> web.Response:
        upload = self.files.get(request.match_info["file_id"])
        if upload is None or upload.data is not None:
            return web.Response(status=404, text="not found")
        upload.data = await request.read()
        self._changed.set()
        return web.Response(text=f"OK - {len(upload.data)}")

    def _complete_upload(self, p: JSON) -> JSON:
        try:
            wanted = json.loads(str(p.get("files", "")))
        except ValueError:
            raise _Fail("invalid_arguments") from None
        uploads = []
        for item in wanted if isinstance(wanted, list) else []:
            upload = self.files.get(str(item.get("id")))
            if upload is None or upload.data is None or upload.channel is not None:
                raise _Fail("file_not_found")
            uploads.append((upload, item.get("title")))
        if not uploads:
            raise _Fail("invalid_arguments")
        channel_id = p.get("channel_id")
        if channel_id:
            ch = self._channel({"channel": channel_id})
            thread_ts = str(p["thread_ts"]) if p.get("thread_ts") else None
            text = str(p.get("initial_comment") or "")
            ts = self._next_ts()
            message = Message(ch.id, ts, text, None, thread_ts, self.bot_user_id, [(text, None)])
            message.files = [upload.id for upload, _ in uploads]
            ch.messages[ts] = message
        for upload, title in uploads:
            upload.title, upload.channel = title or upload.filename, channel_id or None
        files = [{"id": u.id, "name": u.filename, "title": u.title} for u, _ in uploads]
        return {"ok": True, "files": files}

    # ---- response_url ----------------------------------------------------------------------

    def response_url(self) -> str:
        return f"{self.base_url}/commands/{self.team_id}/{next(self._ids)}/{uuid.uuid4().hex}"

    async def _response_url(self, request: web.Request) -> web.Response:
        if sum(r.path == request.path for r in self.responses) >= RESPONSE_URL_USES:
            return web.Response(status=404, text="used_url")
        body = await request.json()
        self.responses.append(ResponseUrlPost(request.path, body, time.monotonic()))
        self._changed.set()
        return web.Response(text="ok")

    def responses_to(self, path: str) -> list[JSON]:
        return [r.body for r in self.responses if r.path == path]

    def ephemerals_shown(self, path: str) -> list[str]:
        """What the user sees from one response_url, as Slack shows it: each post is a new
        message, except that `replace_original` replaces the last one and `delete_original`
        removes it."""
        shown: list[str] = []
        for body in self.responses_to(path):
            if body.get("delete_original"):
                if shown:
                    shown.pop()
            elif body.get("replace_original") and shown:
                shown[-1] = str(body.get("text", ""))
            else:
                shown.append(str(body.get("text", "")))
        return shown

    # ---- payload builders and HTTP-mode drivers --------------------------------------------

    def slash_command_payload(
        self,
        command: str = "/compare",
        text: str = "",
        *,
        user_id: str | None = None,
        channel_id: str | None = None,
        **extra: str,
    ) -> dict[str, str]:
        """The form fields Slack sends for a slash command (same dict in Socket Mode)."""
        channel_id = channel_id or self.channel_id
        if channel_id not in self.channels:
            self.add_channel(channel_id)
        n = next(self._ids)
        return {
            "token": self.verification_token,
            "team_id": self.team_id,
            "team_domain": self.team_domain,
            "channel_id": channel_id,
            "channel_name": "general",
            "user_id": user_id or self.user_id,
            "user_name": "human",
            "command": command,
            "text": text,
            "api_app_id": self.app_id,
            "is_enterprise_install": "false",
            "response_url": self.response_url(),
            "trigger_id": f"{n}.{n}.{uuid.uuid4().hex}",
            **extra,
        }

    def event_callback(self, event: JSON) -> JSON:
        """The Events API body (`event_callback`) wrapping `event`."""
        return {
            "token": self.verification_token,
            "team_id": self.team_id,
            "api_app_id": self.app_id,
            "event": event,
            "type": "event_callback",
            "event_id": f"Ev{next(self._ids):08d}",
            "event_time": int(time.time()),
            "authorizations": [
                {
                    "enterprise_id": None,
                    "team_id": self.team_id,
                    "user_id": self.bot_user_id,
                    "is_bot": True,
                    "is_enterprise_install": False,
                }
            ],
            "is_ext_shared_channel": False,
        }

    def reaction_event(
        self,
        reaction: str,
        item_ts: str,
        *,
        user: str | None = None,
        channel: str | None = None,
        removed: bool = False,
        event_ts: str | None = None,
    ) -> JSON:
        """A reaction_added (or reaction_removed) event on a message."""
        return {
            "type": "reaction_removed" if removed else "reaction_added",
            "user": user or self.user_id,
            "reaction": reaction,
            "item_user": self.bot_user_id,
            "item": {"type": "message", "channel": channel or self.channel_id, "ts": item_ts},
            "event_ts": event_ts or f"{time.time():.6f}",
        }

    def block_action_payload(
        self,
        action_id: str,
        value: str,
        message_ts: str,
        *,
        user: str | None = None,
        channel: str | None = None,
        thread_ts: str | None = None,
    ) -> JSON:
        """The `block_actions` payload Slack sends when someone clicks a button in a message."""
        channel = channel or self.channel_id
        user = user or self.user_id
        message: JSON = {"type": "message", "ts": message_ts, "user": self.bot_user_id}
        container: JSON = {
            "type": "message",
            "message_ts": message_ts,
            "channel_id": channel,
            "is_ephemeral": False,
        }
        if thread_ts is not None:
            message["thread_ts"] = container["thread_ts"] = thread_ts
        n = next(self._ids)
        return {
            "type": "block_actions",
            "user": {
                "id": user,
                "username": user.lower(),
                "name": user.lower(),
                "team_id": self.team_id,
            },
            "api_app_id": self.app_id,
            "token": self.verification_token,
            "container": container,
            "trigger_id": f"{n}.{n}.{uuid.uuid4().hex}",
            "team": {"id": self.team_id, "domain": self.team_domain},
            "enterprise": None,
            "is_enterprise_install": False,
            "channel": {"id": channel, "name": "general"},
            "message": message,
            "state": {"values": {}},
            "response_url": self.response_url(),
            "actions": [
                {
                    "action_id": action_id,
                    "block_id": "b1",
                    "text": {"type": "plain_text", "text": "button", "emoji": True},
                    "value": value,
                    "type": "button",
                    "action_ts": f"{time.time():.6f}",
                }
            ],
        }

    def signed_interaction(
        self, payload: JSON, *, timestamp: int | None = None, secret: str | None = None
    ) -> tuple[str, dict[str, str]]:
        """(body, headers) for POSTing an interaction: a form with one `payload` JSON field."""
        body = urlencode({"payload": json.dumps(payload)})
        headers = sign(secret or self.signing_secret, body, timestamp)
        return body, {"Content-Type": "application/x-www-form-urlencoded", **headers}

    def signed_slash_command(
        self,
        command: str = "/compare",
        text: str = "",
        *,
        timestamp: int | None = None,
        secret: str | None = None,
        **kw: str,
    ) -> tuple[str, dict[str, str]]:
        """(body, headers) for POSTing a slash command to bolt's HTTP endpoint."""
        body = urlencode(self.slash_command_payload(command, text, **kw))
        headers = sign(secret or self.signing_secret, body, timestamp)
        return body, {"Content-Type": "application/x-www-form-urlencoded", **headers}

    def signed_event(
        self, event: JSON, *, timestamp: int | None = None, secret: str | None = None
    ) -> tuple[str, dict[str, str]]:
        body = json.dumps(self.event_callback(event))
        headers = sign(secret or self.signing_secret, body, timestamp)
        return body, {"Content-Type": "application/json", **headers}

    # ---- Socket Mode -----------------------------------------------------------------------

    async def _socket(self, request: web.Request) -> web.StreamResponse:
        if request.query.get("ticket") not in self._tickets:
            return web.Response(status=401, text="invalid ticket")
        ws = web.WebSocketResponse()  # autoping answers slack_sdk's "sdk-ping-pong" pings
        await ws.prepare(request)
        self._sockets.append(ws)
        self._changed.set()
        await ws.send_json(
            {
                "type": "hello",
                "num_connections": len(self._sockets),
                "debug_info": {
                    "host": "applink-fake",
                    "build_number": 1,
                    "approximate_connection_time": 18060,
                },
                "connection_info": {"app_id": self.app_id},
            }
        )
        try:
            async for msg in ws:
                if msg.type == WSMsgType.TEXT:
                    self._on_socket_message(json.loads(msg.data))
        finally:
            self._sockets.remove(ws)
            self._changed.set()
        return ws

    def _on_socket_message(self, data: JSON) -> None:
        envelope_id = str(data.get("envelope_id", ""))
        sent = self._sent_at.get(envelope_id)
        if sent is not None:  # anything else is not an ack of ours; Slack ignores it
            latency = time.monotonic() - sent
            self.acks.append(SocketAck(envelope_id, data.get("payload"), latency))
            self._changed.set()

    @property
    def connected(self) -> bool:
        return bool(self._sockets)

    async def send_envelope(
        self, type_: str, payload: JSON, *, accepts_response_payload: bool
    ) -> str:
        """Push an envelope to the newest socket (waiting for one); returns its envelope_id."""
        await self.wait_for(lambda: self.connected)
        envelope_id = str(uuid.uuid4())
        envelope: JSON = {
            "envelope_id": envelope_id,
            "payload": payload,
            "type": type_,
            "accepts_response_payload": accepts_response_payload,
        }
        if type_ == "events_api":
            envelope.update(retry_attempt=0, retry_reason="")
        self._sent_at[envelope_id] = time.monotonic()
        await self._sockets[-1].send_json(envelope)
        return envelope_id

    async def send_slash_command(self, command: str = "/compare", text: str = "", **kw: str) -> str:
        payload = self.slash_command_payload(command, text, **kw)
        return await self.send_envelope("slash_commands", payload, accepts_response_payload=True)

    async def send_event(self, event: JSON) -> str:
        body = self.event_callback(event)
        return await self.send_envelope("events_api", body, accepts_response_payload=False)

    async def send_interaction(self, payload: JSON) -> str:
        return await self.send_envelope("interactive", payload, accepts_response_payload=False)

    async def send_disconnect(self, reason: str = "refresh_requested") -> None:
        """What Slack sends before recycling a connection: the client must reconnect."""
        await self._sockets[-1].send_json(
            {"type": "disconnect", "reason": reason, "debug_info": {"host": "applink-fake"}}
        )

    async def wait_ack(self, envelope_id: str, within: float = ACK_DEADLINE) -> SocketAck:
        """The first ack for an envelope; TimeoutError if none `within` seconds."""
        await self.wait_for(lambda: any(a.envelope_id == envelope_id for a in self.acks), within)
        return next(a for a in self.acks if a.envelope_id == envelope_id)
