"""A fake Discord (REST under /api/v10 and a gateway websocket) for a REAL discord.py Client.

It speaks the wire protocol discord.py 2.7 expects and enforces what Discord enforces (3 s ack,
double ack, size limits, per-channel rate limits), so a test fails where production would.
Use: ``async with DiscordFake() as fake, pointed_at(fake), running_client(MyClient()):``.
"""

from __future__ import annotations

import asyncio
import contextlib
import fnmatch
import hashlib
import json
import math
import secrets
import time
import warnings
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, TypeVar

import yarl
from aiohttp import WSMsgType, web

with warnings.catch_warnings():
    # discord.py imports audioop, deprecated since 3.11; the suite runs with -W error.
    warnings.simplefilter("ignore", DeprecationWarning)
    import discord

JSON = dict[str, Any]
API = "/api/v10"
DISCORD_EPOCH_MS = 1_420_070_400_000
FLAG_HAS_THREAD, FLAG_EPHEMERAL, FLAG_LOADING = 1 << 5, 1 << 6, 1 << 7
# Gateway intent each event needs (first matching prefix wins); others need none.
INTENT_FOR = {
    "MESSAGE_REACTION": 1 << 10,
    "MESSAGE_": 1 << 9,
    "THREAD_": 1,
    "CHANNEL_": 1,
    "GUILD_CREATE": 1,
}
# @everyone may view, send (also in threads), make threads, react, embed, read history, use commands
EVERYONE_PERMS = str(sum(1 << bit for bit in (6, 10, 11, 14, 15, 16, 18, 31, 35, 36, 38)))
ADMINISTRATOR = 1 << 3
ALL_PERMS = str((1 << 51) - 1)  # what Discord resolves an administrator's permissions to
BODY = web.RequestKey[Any]("body")  # the parsed JSON body
RATE_HEADERS = web.RequestKey[dict[str, str]]("rate_headers")  # set by a budgeted route


class ApiError(Exception):
    """Raised by a handler; the middleware answers it as Discord's JSON error."""

    def __init__(self, status: int, body: JSON, headers: dict[str, str] | None = None) -> None:
        super().__init__(status, body)
        self.status, self.body, self.headers = status, body, headers or {}


def api_error(status: int, code: int, message: str, errors: JSON | None = None) -> ApiError:
    body: JSON = {"code": code, "message": message}
    if errors:
        body["errors"] = errors
    return ApiError(status, body)


def _json_response(
    data: Any, status: int = 200, headers: dict[str, str] | None = None
) -> web.Response:
    # Exactly "application/json": discord.py reads "...; charset=utf-8" as plain text.
    hdrs = {"Content-Type": "application/json", **(headers or {})}
    return web.Response(status=status, body=json.dumps(data).encode(), headers=hdrs)


def _iso(ts: float | None = None) -> str:
    return datetime.fromtimestamp(time.time() if ts is None else ts, UTC).isoformat()


def _rate_headers(limit: int, remaining: int, reset_after: float, bucket: str) -> dict[str, str]:
    return {
        "X-RateLimit-Limit": str(limit),
        "X-RateLimit-Remaining": str(remaining),
        "X-RateLimit-Reset": f"{time.time() + reset_after:.3f}",
        "X-RateLimit-Reset-After": f"{reset_after:.3f}",
        "X-RateLimit-Bucket": hashlib.md5(bucket.encode()).hexdigest(),
    }  # opaque, as Discord


@dataclass
class RecordedRequest:
    method: str
    path: str  # below /api/v10, percent-decoded: /channels/1/messages/2/reactions/👍/@me
    query: dict[str, str]
    json: Any  # parsed body (payload_json for multipart); None without one
    at: float  # loop time of arrival
    status: int | None = None  # set once answered
    response: Any = None
    response_headers: dict[str, str] = field(default_factory=dict)
    files: dict[str, bytes] = field(default_factory=dict)  # multipart `files[n]` parts, by name


@dataclass
class StoredMessage:
    id: int
    channel_id: int
    author_id: int
    content: str
    embeds: list[JSON]
    allowed_mentions: JSON | None
    flags: int = 0
    type: int = 0
    webhook_id: int | None = None
    interaction_metadata: JSON | None = None
    thread_id: int | None = None
    edited_at: str | None = None
    deleted: bool = False
    history: list[tuple[str, list[JSON]]] = field(default_factory=list)  # create, then each edit
    reactions: dict[str, set[int]] = field(default_factory=dict)  # "👍" or "name:id" -> user ids

    @property
    def contents(self) -> list[str]:
        return [content for content, _ in self.history]


@dataclass
class Channel:
    id: int
    type: int  # 0 text, 2 voice, 4 category, 5 news, 11 public thread, 12 private thread, 15 forum
    name: str
    parent_id: int | None = None
    nsfw: bool = False
    owner_id: int | None = None
    auto_archive_duration: int = 1440
    created: str = field(default_factory=_iso)
    deny_send: bool = False
    messages: dict[int, StoredMessage] = field(default_factory=dict)

    @property
    def is_thread(self) -> bool:
        return self.type in (10, 11, 12)


@dataclass
class CallbackAttempt:
    status: int  # what the fake answered
    type: int | None
    data: JSON | None
    error_code: int | None


@dataclass
class InteractionRecord:
    id: int
    token: str
    type: int  # 2 application command, 4 autocomplete
    payload: JSON  # the INTERACTION_CREATE d
    dispatched_at: float
    deadline: float
    attempts: list[CallbackAttempt] = field(default_factory=list)
    response_type: int | None = None  # the accepted callback's type
    response_data: JSON | None = None
    original_message_id: int | None = None
    answered: asyncio.Event = field(default_factory=asyncio.Event)

    @property
    def acked(self) -> bool:
        return self.response_type is not None

    async def wait_callback(self, timeout: float = 5.0) -> CallbackAttempt:  # noqa: ASYNC109
        """The first callback attempt, accepted or refused."""
        await asyncio.wait_for(self.answered.wait(), timeout)
        return self.attempts[0]


@dataclass
class _Window:
    start: float
    used: int = 0


class DiscordFake:
    """One guild (``guild_id``) with a text channel (``channel_id``), a bot (``bot_id`` ==
    ``app_id``) and a human user (``user_id``). REST at ``rest_base``, gateway at
    ``gateway_url``, on 127.0.0.1 and a free port."""

    def __init__(
        self,
        *,
        ack_deadline: float = 3.0,
        rate_limit: int = 5,
        rate_window: float = 5.0,
        token_ttl: float = 900.0,
        heartbeat_interval_ms: int = 41_250,
    ) -> None:
        self.ack_deadline, self.token_ttl = ack_deadline, token_ttl
        self.rate_limit, self.rate_window = rate_limit, rate_window  # create+edit, per channel
        self.heartbeat_interval_ms = heartbeat_interval_ms
        self._last_id = 0
        self.app_id = self.bot_id = self.snowflake()  # a bot's user id is its application id
        self.guild_id, self.owner_id, self.user_id = (self.snowflake() for _ in range(3))
        self.users: dict[int, JSON] = {}
        self.bot_user: JSON = {
            **self.add_user("twinbot", self.bot_id),
            "bot": True,
            "verified": True,
            "mfa_enabled": False,
            "flags": 0,
            "email": None,
        }
        self.add_user("owner", self.owner_id)
        self.add_user("alice", self.user_id)
        self.channels: dict[int, Channel] = {}
        self.channel_id = self.add_channel("general")
        self.roles: dict[int, JSON] = {}  # besides @everyone; add before the client connects
        self.member_roles: dict[int, list[int]] = {}  # user id -> role ids
        self.requests: list[RecordedRequest] = []
        self.commands: dict[int | None, list[JSON]] = {}  # guild id (None: global) -> synced
        self.interactions: dict[int, InteractionRecord] = {}
        self.rate_limit_hits = 0  # every 429 served
        self.deny_threads = False  # thread creation answers 403 50013
        # When set, REST calls must carry `Authorization: Bot <bot_token>` (401 otherwise), as
        # on Discord; None accepts any token. Interaction callbacks and webhooks carry theirs
        # in the URL.
        self.bot_token: str | None = None
        self._edit_failures: list[tuple[int, float]] = []
        # The bot lacks Attach Files: a message create with attachments answers 403 50013.
        self.deny_attachments = False
        self._windows: dict[int, _Window] = {}
        self.identify_count = self.resume_count = self.replayed = self.intents = 0
        self.gateway_connections: list[str] = []  # path and query of each websocket
        self._ws: web.WebSocketResponse | None = None
        self._sockets: set[web.WebSocketResponse] = set()
        self._session_id: str | None = None
        self._seq = 0
        self._history: list[JSON] = []  # this session's dispatches, for RESUME
        self._send_lock = asyncio.Lock()
        self._change = asyncio.Event()
        self._runner: web.AppRunner | None = None
        self.port = 0

    # ---- lifecycle -----------------------------------------------------------------------
    async def start(self) -> None:
        app = web.Application(middlewares=[self._middleware])
        add, a = app.router.add_route, API
        add("GET", a + "/users/@me", self._get_me)
        add("GET", a + "/oauth2/applications/@me", self._get_application)
        add("GET", a + "/gateway", self._get_gateway)
        add("GET", a + "/gateway/bot", self._get_gateway)
        add("*", a + "/applications/{app}/commands", self._commands)
        add("*", a + "/applications/{app}/guilds/{guild}/commands", self._commands)
        add("POST", a + "/interactions/{iid}/{token}/callback", self._callback)
        add("POST", a + "/webhooks/{app}/{token}", self._followup)
        add("*", a + "/webhooks/{app}/{token}/messages/{mid}", self._webhook_message)
        add("GET", a + "/channels/{cid}", self._get_channel)
        add("*", a + "/channels/{cid}/messages", self._messages)
        add("*", a + "/channels/{cid}/messages/{mid}", self._message)
        add("POST", a + "/channels/{cid}/messages/{mid}/threads", self._thread_from_message)
        add("POST", a + "/channels/{cid}/threads", self._thread_without_message)
        add("*", a + "/channels/{cid}/messages/{mid}/reactions/{emoji}/@me", self._own_reaction)
        add("POST", a + "/channels/{cid}/typing", self._typing)
        add("GET", "/gateway", self._gateway)
        add("GET", "/resume-gateway", self._gateway)  # distinct: shows resume_gateway_url is used
        self._runner = web.AppRunner(app, access_log=None, handle_signals=False)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", 0).start()
        self.port = self._runner.addresses[0][1]

    async def stop(self) -> None:
        for ws in list(self._sockets):
            await ws.close(code=1001)
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> DiscordFake:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    @property
    def rest_base(self) -> str:
        return f"http://127.0.0.1:{self.port}{API}"

    @property
    def gateway_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/gateway"

    # ---- world setup and switches --------------------------------------------------------
    def snowflake(self) -> int:
        now = (int(time.time() * 1000) - DISCORD_EPOCH_MS) << 22 | 1 << 17 | 1 << 12
        self._last_id = max(self._last_id + 1, now)
        return self._last_id

    def add_user(self, name: str, user_id: int | None = None) -> JSON:
        uid = user_id or self.snowflake()
        self.users[uid] = {
            "id": str(uid),
            "username": name,
            "global_name": None,
            "discriminator": "0",
            "avatar": None,
            "public_flags": 0,
        }
        return self.users[uid]

    def add_channel(
        self, name: str, *, type: int = 0, nsfw: bool = False, parent_id: int | None = None
    ) -> int:
        """A guild channel; add it before the client connects so GUILD_CREATE carries it."""
        ch = Channel(self.snowflake(), type, name, parent_id, nsfw)
        self.channels[ch.id] = ch
        return ch.id

    def add_role(self, name: str, permissions: int = 0) -> int:
        """A guild role (in GUILD_CREATE: add it before the client connects)."""
        role_id = self.snowflake()
        self.roles[role_id] = {
            "id": str(role_id),
            "name": name,
            "permissions": str(permissions),
            "position": len(self.roles) + 1,
            "color": 0,
            "hoist": False,
            "managed": False,
            "mentionable": False,
            "icon": None,
            "unicode_emoji": None,
            "flags": 0,
        }
        return role_id

    def give_role(self, user_id: int, role_id: int) -> None:
        """The member holds the role in every payload from now on (interactions resolve their
        permissions from it, as Discord does; Administrator resolves to all)."""
        self.member_roles.setdefault(user_id, []).append(role_id)

    def _permissions(self, user_id: int) -> str:
        bits = int(EVERYONE_PERMS)
        for role_id in self.member_roles.get(user_id, []):
            bits |= int(self.roles[role_id]["permissions"])
        return ALL_PERMS if bits & ADMINISTRATOR else str(bits)

    def deny_send(self, channel_id: int, deny: bool = True) -> None:
        """Message create in this channel or thread answers 403 50013 Missing Permissions."""
        self.channels[channel_id].deny_send = deny

    def fail_next_edits(self, count: int, status: int = 500, retry_after: float = 0.1) -> None:
        """The next `count` message edits (channel or webhook PATCH) answer 500 or 429."""
        self._edit_failures.extend([(status, retry_after)] * count)

    # ---- reading state -------------------------------------------------------------------
    def message(self, message_id: int) -> StoredMessage:
        for ch in self.channels.values():
            if message_id in ch.messages:
                return ch.messages[message_id]
        raise KeyError(message_id)

    def channel_messages(self, channel_id: int) -> list[StoredMessage]:
        return [m for m in self.channels[channel_id].messages.values() if not m.deleted]

    def threads(self) -> list[Channel]:
        return [ch for ch in self.channels.values() if ch.is_thread]

    def calls(self, method: str, path_glob: str) -> list[RecordedRequest]:
        """Recorded requests, e.g. ``calls("PATCH", "/channels/*/messages/*")``."""
        return [
            r
            for r in self.requests
            if r.method == method and fnmatch.fnmatchcase(r.path, path_glob)
        ]

    async def wait_until(self, condition: Callable[[], bool], timeout: float = 5.0) -> None:  # noqa: ASYNC109
        """Wait until `condition()` holds; re-checked after every request and gateway frame."""
        async with asyncio.timeout(timeout):
            while True:
                changed = self._change  # taken before the check, so no wake-up is lost
                if condition():
                    return
                await changed.wait()

    async def wait_for_request(
        self,
        predicate: Callable[[RecordedRequest], bool],
        timeout: float = 5.0,  # noqa: ASYNC109 - a test helper's own deadline
    ) -> RecordedRequest:
        """The first answered request matching `predicate`, recorded already or still to come."""

        def first() -> RecordedRequest | None:
            return next((r for r in self.requests if r.status is not None and predicate(r)), None)

        await self.wait_until(lambda: first() is not None, timeout)
        found = first()
        assert found is not None
        return found

    def _changed(self) -> None:
        self._change.set()
        self._change = asyncio.Event()

    # ---- payloads ------------------------------------------------------------------------
    def _user(self, uid: int) -> JSON:
        return self.users.get(uid) or self.add_user(f"user{uid % 10_000}", uid)

    def _member(self, uid: int, *, with_user: bool = True) -> JSON:
        member: JSON = {
            "roles": [str(r) for r in self.member_roles.get(uid, [])],
            "nick": None,
            "avatar": None,
            "joined_at": _iso(),
            "premium_since": None,
            "deaf": False,
            "mute": False,
            "flags": 0,
            "pending": False,
        }
        return {"user": self._user(uid), **member} if with_user else member

    def _channel_payload(self, ch: Channel) -> JSON:
        p: JSON = {
            "id": str(ch.id),
            "type": ch.type,
            "guild_id": str(self.guild_id),
            "name": ch.name,
            "parent_id": str(ch.parent_id) if ch.parent_id else None,
            "nsfw": ch.nsfw,
            "rate_limit_per_user": 0,
            "flags": 0,
            "last_message_id": None,
        }
        if not ch.is_thread:
            voice = {"bitrate": 64_000, "user_limit": 0} if ch.type in (2, 13) else {}
            return {
                **p,
                **voice,
                "position": list(self.channels).index(ch.id),
                "topic": None,
                "permission_overwrites": [],
            }
        meta = {
            "archived": False,
            "auto_archive_duration": ch.auto_archive_duration,
            "archive_timestamp": ch.created,
            "locked": False,
            "create_timestamp": ch.created,
        }
        # The thread member's "id" is the thread's id: discord.py reads it as thread_id.
        me = {
            "id": str(ch.id),
            "user_id": str(self.bot_id),
            "join_timestamp": ch.created,
            "flags": 0,
        }
        count = len(ch.messages)
        return {
            **p,
            "owner_id": str(ch.owner_id),
            "message_count": count,
            "member_count": 1,
            "total_message_sent": count,
            "thread_metadata": meta,
            "member": me,
        }

    def _message_payload(self, m: StoredMessage) -> JSON:
        reactions = [
            {
                "emoji": _emoji(key),
                "count": len(users),
                "me": self.bot_id in users,
                "me_burst": False,
                "burst_colors": [],
                "count_details": {"burst": 0, "normal": len(users)},
            }
            for key, users in m.reactions.items()
            if users
        ]
        p: JSON = {
            "id": str(m.id),
            "channel_id": str(m.channel_id),
            "guild_id": str(self.guild_id),
            "author": self.bot_user,
            "content": m.content,
            "embeds": m.embeds,
            "timestamp": _iso(((m.id >> 22) + DISCORD_EPOCH_MS) / 1000),
            "edited_timestamp": m.edited_at,
            "tts": False,
            "mention_everyone": False,
            "mentions": [],
            "mention_roles": [],
            "attachments": [],
            "pinned": False,
            "type": m.type,
            "flags": m.flags,
            "components": [],
            "reactions": reactions,
        }
        if m.webhook_id:
            p.update(webhook_id=str(m.webhook_id), application_id=str(self.app_id))
        if m.interaction_metadata:
            p["interaction_metadata"] = m.interaction_metadata
        if m.thread_id:
            p["thread"] = self._channel_payload(self.channels[m.thread_id])
        return p

    def _guild_payload(self) -> JSON:
        everyone = {
            "id": str(self.guild_id),
            "name": "@everyone",
            "permissions": EVERYONE_PERMS,
            "position": 0,
            "color": 0,
            "hoist": False,
            "managed": False,
            "mentionable": False,
            "icon": None,
            "unicode_emoji": None,
            "flags": 0,
        }
        return {
            "id": str(self.guild_id),
            "name": "twinbot-test",
            "icon": None,
            "owner_id": str(self.owner_id),
            "unavailable": False,
            "large": False,
            "member_count": 2,
            "joined_at": _iso(),
            "roles": [everyone, *self.roles.values()],  # @everyone id == guild id
            "members": [self._member(self.bot_id)],
            "channels": [
                self._channel_payload(c) for c in self.channels.values() if not c.is_thread
            ],
            "threads": [self._channel_payload(c) for c in self.threads()],
            "emojis": [],
            "stickers": [],
            "features": [],
            "voice_states": [],
            "presences": [],
            "stage_instances": [],
            "guild_scheduled_events": [],
            "soundboard_sounds": [],
            "preferred_locale": "en-US",
            "verification_level": 0,
            "nsfw_level": 0,
            "default_message_notifications": 0,
            "explicit_content_filter": 0,
            "mfa_level": 0,
            "premium_tier": 0,
            "afk_timeout": 300,
            "system_channel_id": None,
        }

    # ---- test driver: gateway events -----------------------------------------------------
    async def dispatch(self, event: str, data: JSON) -> int | None:
        """Send ``{op: 0, t, s, d}`` with the next seq (kept for RESUME replay). Returns the seq,
        or None when the identified intents do not cover the event (Discord would not send it)."""
        if self._session_id is None:
            raise RuntimeError("no gateway session yet: wait for the client to be ready")
        needed = next((bit for pre, bit in INTENT_FOR.items() if event.startswith(pre)), 0)
        if needed and not self.intents & needed:
            return None
        async with self._send_lock:
            return await self._dispatch_locked(event, data)

    async def _emit(self, event: str, data: JSON) -> None:
        if self._session_id is not None:  # REST used before any client identified
            await self.dispatch(event, data)

    async def _dispatch_locked(self, event: str, data: JSON) -> int:
        self._seq += 1
        frame = {"op": 0, "t": event, "s": self._seq, "d": data}
        self._history.append(frame)
        await self._send(frame)
        self._changed()
        return self._seq

    async def _send(self, frame: JSON) -> None:
        ws = self._ws
        if ws is not None and not ws.closed:
            with contextlib.suppress(ConnectionError, RuntimeError):  # RESUME replays it
                await ws.send_str(json.dumps(frame))

    async def disconnect_gateway(self, code: int = 4000) -> None:
        """Drop the gateway socket. discord.py RESUMEs after any close code except its own 1000,
        4004 and 4010-4014; 4000 is Discord's resumable "unknown error". Dispatches sent
        meanwhile are replayed on RESUME."""
        ws, self._ws = self._ws, None
        if ws is not None:
            await ws.close(code=code, message=b"fake disconnect")

    async def dispatch_slash_command(
        self,
        name: str,
        options: JSON | None = None,
        *,
        user_id: int | None = None,
        channel_id: int | None = None,
    ) -> InteractionRecord:
        """INTERACTION_CREATE type 2. `name` may be "group sub"; option types come from the synced
        command (else the Python type); user (6) and channel (7) options get `resolved`."""
        data = self._command_data(name, options or {}, None)
        return await self._interaction(2, data, user_id, channel_id)

    async def dispatch_autocomplete(
        self,
        name: str,
        options: JSON,
        focused: str,
        *,
        user_id: int | None = None,
        channel_id: int | None = None,
    ) -> InteractionRecord:
        """INTERACTION_CREATE type 4 with `focused` marked; the answer is callback type 8."""
        data = self._command_data(name, options, focused)
        return await self._interaction(4, data, user_id, channel_id)

    async def dispatch_reaction_add(
        self, channel_id: int, message_id: int, user_id: int, emoji: str, *, burst: bool = False
    ) -> None:
        """MESSAGE_REACTION_ADD as Discord sends it; `emoji` is "👍" or "name:id"."""
        await self._reaction(True, channel_id, message_id, user_id, emoji, burst, driver=True)

    async def dispatch_reaction_remove(
        self, channel_id: int, message_id: int, user_id: int, emoji: str, *, burst: bool = False
    ) -> None:
        await self._reaction(False, channel_id, message_id, user_id, emoji, burst, driver=True)

    async def _reaction(
        self, add: bool, cid: int, mid: int, uid: int, emoji: str, burst: bool, driver: bool = False
    ) -> None:
        msg = self.channels[cid].messages.get(mid)
        if msg is not None:
            users = msg.reactions.setdefault(emoji, set())
            if add:
                users.add(uid)
            else:
                users.discard(uid)
        # discord.py 2.4+ requires "type" (0 normal, 1 burst) on both events.
        d: JSON = {
            "user_id": str(uid),
            "channel_id": str(cid),
            "message_id": str(mid),
            "guild_id": str(self.guild_id),
            "emoji": _emoji(emoji),
            "burst": burst,
            "type": int(burst),
        }
        if add:
            d.update(member=self._member(uid), burst_colors=["#ff0000"] if burst else [])
            if msg is not None:
                d["message_author_id"] = str(msg.author_id)
        event = "MESSAGE_REACTION_ADD" if add else "MESSAGE_REACTION_REMOVE"
        await (self.dispatch(event, d) if driver else self._emit(event, d))

    def _command_data(self, name: str, options: JSON, focused: str | None) -> JSON:
        root, *subs = name.split()
        cmd, gid = next(
            (
                (c, g)
                for g in (self.guild_id, None)
                for c in self.commands.get(g, [])
                if c["name"] == root and c.get("type", 1) == 1
            ),
            (None, None),
        )
        defs: list[JSON] = cmd.get("options", []) if cmd else []
        for sub in subs:
            defs = next((o for o in defs if o["name"] == sub), {}).get("options", [])
        resolved: JSON = {}
        opts: list[JSON] = []
        for key, value in options.items():
            known = next((o["type"] for o in defs if o["name"] == key), None)
            typ = known or {bool: 5, int: 4, float: 10}.get(type(value), 3)
            snowflake = typ in (6, 7, 8, 9)
            opt: JSON = {"name": key, "type": typ, "value": str(value) if snowflake else value}
            if typ == 6:
                resolved.setdefault("users", {})[str(value)] = self._user(int(value))
                member = self._member(int(value), with_user=False)
                member["permissions"] = self._permissions(int(value))
                resolved.setdefault("members", {})[str(value)] = member
            elif typ == 7:
                channel = {
                    **self._channel_payload(self.channels[int(value)]),
                    "permissions": EVERYONE_PERMS,
                }
                resolved.setdefault("channels", {})[str(value)] = channel
            if key == focused:
                opt["focused"] = True
            opts.append(opt)
        for depth in reversed(range(len(subs))):  # innermost: subcommand (1), outer: group (2)
            kind = 1 if depth == len(subs) - 1 else 2
            opts = [{"name": subs[depth], "type": kind, "options": opts}]
        data: JSON = {
            "id": cmd["id"] if cmd else str(self.snowflake()),
            "name": root,
            "type": 1,
            "options": opts,
        }
        if gid:
            data["guild_id"] = str(gid)
        if resolved:
            data["resolved"] = resolved
        return data

    async def _interaction(
        self, itype: int, data: JSON, user_id: int | None, channel_id: int | None
    ) -> InteractionRecord:
        ch = self.channels[channel_id or self.channel_id]
        uid = user_id or self.user_id
        iid, token = self.snowflake(), "aW50ZXJhY3Rpb246" + secrets.token_urlsafe(48)
        gid = str(self.guild_id)
        payload: JSON = {
            "id": str(iid),
            "application_id": str(self.app_id),
            "type": itype,
            "data": data,
            "token": token,
            "version": 1,
            "guild_id": gid,
            "guild": {"id": gid, "locale": "en-US", "features": []},
            "channel_id": str(ch.id),
            "channel": {**self._channel_payload(ch), "permissions": self._permissions(uid)},
            "member": {**self._member(uid), "permissions": self._permissions(uid)},
            "app_permissions": EVERYONE_PERMS,
            "locale": "en-US",
            "guild_locale": "en-US",
            "entitlements": [],
            "authorizing_integration_owners": {"0": gid},
            "context": 0,
            "attachment_size_limit": 10_485_760,
        }
        now = asyncio.get_running_loop().time()
        rec = InteractionRecord(iid, token, itype, payload, now, now + self.ack_deadline)
        self.interactions[iid] = rec
        await self.dispatch("INTERACTION_CREATE", payload)
        return rec

    # ---- gateway -------------------------------------------------------------------------
    async def _gateway(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        self.gateway_connections.append(str(request.rel_url))
        self._sockets.add(ws)
        # Text frames only: discord.py asks for zlib-stream but only inflates binary frames.
        await self._op(ws, 10, {"heartbeat_interval": self.heartbeat_interval_ms})
        try:
            async for msg in ws:
                if msg.type is WSMsgType.TEXT:
                    await self._on_frame(ws, json.loads(msg.data))
        finally:
            self._sockets.discard(ws)
            if self._ws is ws:
                self._ws = None
            self._changed()
        return ws

    @staticmethod
    async def _op(ws: web.WebSocketResponse, op: int, d: Any) -> None:
        await ws.send_str(json.dumps({"op": op, "d": d, "s": None, "t": None}))

    async def _on_frame(self, ws: web.WebSocketResponse, frame: JSON) -> None:
        op, d = frame.get("op"), frame.get("d") or {}
        if op == 1:  # heartbeat
            await self._op(ws, 11, None)
        elif op == 2:  # identify: a new session
            async with self._send_lock:
                self.identify_count += 1
                self.intents = int(d.get("intents", 0))
                self._ws, self._session_id = ws, secrets.token_hex(16)
                self._seq, self._history = 0, []
                await self._dispatch_locked(
                    "READY",
                    {
                        "v": 10,
                        "user": self.bot_user,
                        "session_id": self._session_id,
                        "guilds": [{"id": str(self.guild_id), "unavailable": True}],
                        "resume_gateway_url": f"ws://127.0.0.1:{self.port}/resume-gateway",
                        "application": {"id": str(self.app_id), "flags": 0},
                        "session_type": "normal",
                        "private_channels": [],
                        "relationships": [],
                        "presences": [],
                        "guild_join_requests": [],
                        "geo_ordered_rtc_regions": [],
                        "shard": d.get("shard", [0, 1]),
                        "_trace": ["fake"],
                    },
                )
                if self.intents & 1:
                    await self._dispatch_locked("GUILD_CREATE", self._guild_payload())
        elif op == 6:  # resume: replay what the client missed, then RESUMED
            if d.get("session_id") != self._session_id:
                await self._op(ws, 9, False)  # invalid session, not resumable
                return
            async with self._send_lock:
                self.resume_count += 1
                self._ws = ws
                missed = [f for f in self._history if f["s"] > (d.get("seq") or 0)]
                for frame in missed:
                    await self._send(frame)
                self.replayed += len(missed)
                await self._dispatch_locked("RESUMED", {"_trace": ["fake"]})
        elif op == 8:  # request guild members
            await self.dispatch(
                "GUILD_MEMBERS_CHUNK",
                {
                    "guild_id": str(self.guild_id),
                    "members": [self._member(u) for u in self.users],
                    "chunk_index": 0,
                    "chunk_count": 1,
                    "nonce": d.get("nonce"),
                },
            )
        self._changed()

    # ---- REST plumbing -------------------------------------------------------------------
    @web.middleware
    async def _middleware(
        self, request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
    ) -> web.StreamResponse:
        if not request.path.startswith(API):
            return await handler(request)
        body: Any = None
        files: dict[str, bytes] = {}
        if request.content_type == "application/json" and request.body_exists:
            body = await request.json()
        elif request.content_type.startswith("multipart/"):  # files: JSON is in payload_json
            form = await request.post()
            body = json.loads(str(form["payload_json"])) if "payload_json" in form else None
            for part in form.values():
                if isinstance(part, web.FileField):
                    files[part.filename] = part.file.read()
        request[BODY] = body
        rec = RecordedRequest(
            request.method,
            request.path[len(API) :],
            dict(request.query),
            body,
            asyncio.get_running_loop().time(),
            files=files,
        )
        self.requests.append(rec)
        resp: web.StreamResponse
        try:
            self._check_authorization(request)
            resp = await handler(request)
        except ApiError as e:
            resp = _json_response(e.body, e.status, e.headers)
        except web.HTTPException as e:  # unknown route or method, in Discord's shape
            resp = _json_response({"message": f"{e.status}: {e.reason}", "code": 0}, e.status)
        # Every route carries bucket headers, as on Discord; discord.py paces itself by them.
        route = request.match_info.route.resource
        bucket = f"{request.method} {route.canonical if route else request.path}"
        headers = request.get(RATE_HEADERS) or _rate_headers(50, 49, 1.0, bucket)
        for key, value in {**headers, "Via": "1.1 google"}.items():
            resp.headers.setdefault(key, value)  # a 429 keeps its own values
        rec.status, rec.response_headers = resp.status, dict(resp.headers)
        if isinstance(resp, web.Response) and isinstance(resp.body, bytes) and resp.body:
            rec.response = json.loads(resp.body)
        self._changed()
        return resp

    def _check_authorization(self, request: web.Request) -> None:
        path = request.path[len(API) :]
        if self.bot_token is None or path.startswith(("/interactions/", "/webhooks/")):
            return
        if request.headers.get("Authorization") != f"Bot {self.bot_token}":
            raise api_error(401, 0, "401: Unauthorized")

    def _take_budget(self, request: web.Request, channel_id: int, kind: str) -> None:
        """A fixed window per channel (a thread is its own), shared by message create and edit.
        Create and edit name different buckets, so discord.py tracks them apart and can overrun
        the shared budget, as a real bot can."""
        now = asyncio.get_running_loop().time()
        win = self._windows.get(channel_id)
        if win is None or now >= win.start + self.rate_window:
            win = self._windows[channel_id] = _Window(now)
        reset_after = max(win.start + self.rate_window - now, 0.001)
        if win.used >= self.rate_limit:
            raise self._rate_limited(reset_after, kind)
        win.used += 1
        request[RATE_HEADERS] = _rate_headers(
            self.rate_limit, self.rate_limit - win.used, reset_after, kind
        )

    def _rate_limited(self, retry_after: float, bucket: str) -> ApiError:
        self.rate_limit_hits += 1
        body = {
            "message": "You are being rate limited.",
            "retry_after": round(retry_after, 3),
            "global": False,
        }
        # Without "Via" discord.py takes a 429 for a Cloudflare ban and raises instead of waiting.
        headers = {
            **_rate_headers(self.rate_limit, 0, retry_after, bucket),
            "Via": "1.1 google",
            "Retry-After": str(math.ceil(retry_after)),
            "X-RateLimit-Scope": "user",
        }
        return ApiError(429, body, headers)

    def _forced_edit_failure(self) -> None:
        if self._edit_failures:
            status, retry_after = self._edit_failures.pop(0)
            if status == 429:
                raise self._rate_limited(retry_after, "edit")
            raise ApiError(status, {"message": f"{status}: Internal Server Error", "code": 0})

    def _channel(self, request: web.Request) -> Channel:
        ch = self.channels.get(_int(request.match_info["cid"]))
        if ch is None:
            raise api_error(404, 10003, "Unknown Channel")
        return ch

    def _stored(self, ch: Channel, raw_id: str) -> StoredMessage:
        msg = ch.messages.get(_int(raw_id))
        if msg is None or msg.deleted:
            raise api_error(404, 10008, "Unknown Message")
        return msg

    def _create(
        self, ch: Channel, body: JSON, *, allow_empty: bool = False, **extra: Any
    ) -> StoredMessage:
        _validate(body, creating=not allow_empty)
        msg = StoredMessage(
            self.snowflake(),
            ch.id,
            self.bot_id,
            body.get("content") or "",
            body.get("embeds") or [],
            body.get("allowed_mentions"),
            flags=int(body.get("flags") or 0),
            **extra,
        )
        msg.history.append((msg.content, msg.embeds))
        ch.messages[msg.id] = msg
        return msg

    def _edit(self, msg: StoredMessage, body: JSON) -> None:
        _validate(body, creating=False)
        if "content" in body:
            msg.content = body["content"] or ""
        if "embeds" in body:
            msg.embeds = body["embeds"] or []
        if "allowed_mentions" in body:
            msg.allowed_mentions = body["allowed_mentions"]
        msg.flags &= ~FLAG_LOADING  # an edit resolves a deferred "thinking" response
        msg.edited_at = _iso()
        msg.history.append((msg.content, msg.embeds))

    async def _announce(self, event: str, msg: StoredMessage) -> None:
        if not msg.flags & FLAG_EPHEMERAL:  # ephemeral messages never reach the gateway
            extra = {"member": self._member(self.bot_id, with_user=False)}
            await self._emit(
                event,
                {**self._message_payload(msg), **(extra if event == "MESSAGE_CREATE" else {})},
            )

    # ---- REST handlers -------------------------------------------------------------------
    async def _get_me(self, request: web.Request) -> web.Response:
        return _json_response(self.bot_user)

    async def _typing(self, request: web.Request) -> web.Response:
        return web.Response(status=204)

    async def _get_application(self, request: web.Request) -> web.Response:
        return _json_response(
            {
                "id": str(self.app_id),
                "name": "twinbot",
                "description": "",
                "icon": None,
                "bot_public": True,
                "bot_require_code_grant": False,
                "flags": 0,
                "team": None,
                "owner": self._user(self.owner_id),
                "verify_key": "0" * 64,
                "bot": self.bot_user,
                "interactions_endpoint_url": None,
            }
        )

    async def _get_gateway(self, request: web.Request) -> web.Response:
        limit = {"total": 1000, "remaining": 999, "reset_after": 14_400_000, "max_concurrency": 1}
        return _json_response({"url": self.gateway_url, "shards": 1, "session_start_limit": limit})

    async def _commands(self, request: web.Request) -> web.Response:
        gid = _int(request.match_info["guild"]) if "guild" in request.match_info else None
        if request.method == "PUT":  # bulk overwrite; a command keeps its id across syncs
            old = {c["name"]: c["id"] for c in self.commands.get(gid, [])}
            self.commands[gid] = [
                {
                    "type": 1,
                    "options": [],
                    "default_member_permissions": None,
                    "nsfw": False,
                    **cmd,
                    "id": old.get(cmd["name"]) or str(self.snowflake()),
                    "application_id": str(self.app_id),
                    "version": str(self.snowflake()),
                    **({"guild_id": str(gid)} if gid else {}),
                }
                for cmd in request[BODY]
            ]
        elif request.method != "GET":
            raise web.HTTPMethodNotAllowed(request.method, ["GET", "PUT"])
        return _json_response(self.commands.get(gid, []))

    async def _callback(self, request: web.Request) -> web.Response:
        rec = self.interactions.get(_int(request.match_info["iid"]))
        body: JSON = request[BODY] or {}
        if rec is None or rec.token != request.match_info["token"]:
            raise api_error(404, 10062, "Unknown interaction")
        try:
            result = await self._accept_callback(rec, body)
        except ApiError as e:
            rec.attempts.append(
                CallbackAttempt(e.status, body.get("type"), body.get("data"), e.body.get("code"))
            )
            raise
        finally:
            rec.answered.set()
        rec.attempts.append(CallbackAttempt(200, body.get("type"), body.get("data"), None))
        # discord.py 2.5+ asks ?with_response=1 and reads result["interaction"]; else 204.
        if request.query.get("with_response", "").lower() in ("1", "true"):
            return _json_response(result)
        return web.Response(status=204)

    async def _accept_callback(self, rec: InteractionRecord, body: JSON) -> JSON:
        if rec.acked:
            raise api_error(400, 40060, "Interaction has already been acknowledged.")
        if asyncio.get_running_loop().time() > rec.deadline:
            raise api_error(404, 10062, "Unknown interaction")
        ctype, data = int(body["type"]), body.get("data") or {}
        flags = int(data.get("flags") or 0)
        msg: StoredMessage | None = None
        if ctype in (4, 5):  # a message, or a deferred "thinking" one
            meta = {
                "id": str(rec.id),
                "type": rec.type,
                "user": rec.payload["member"]["user"],
                "authorizing_integration_owners": rec.payload["authorizing_integration_owners"],
            }
            content = data if ctype == 4 else {"flags": flags | FLAG_LOADING}
            msg = self._create(
                self.channels[int(rec.payload["channel_id"])],
                content,
                allow_empty=ctype == 5,
                type=20,
                webhook_id=self.app_id,
                interaction_metadata=meta,
            )
            rec.original_message_id = msg.id
            await self._announce("MESSAGE_CREATE", msg)
        rec.response_type, rec.response_data = ctype, data
        interaction: JSON = {
            "id": str(rec.id),
            "type": rec.type,
            "response_message_loading": ctype == 5,
            "response_message_ephemeral": bool(flags & FLAG_EPHEMERAL),
        }
        result: JSON = {"interaction": interaction}
        if msg is not None:
            interaction["response_message_id"] = str(msg.id)
            message = {"message": self._message_payload(msg)} if ctype == 4 else {}
            result["resource"] = {"type": ctype, **message}
        return result

    def _webhook_interaction(self, request: web.Request) -> InteractionRecord:
        token = request.match_info["token"]
        rec = next((r for r in self.interactions.values() if r.token == token), None)
        if rec is None or request.match_info["app"] != str(self.app_id) or not rec.acked:
            raise api_error(404, 10015, "Unknown Webhook")  # the token works once acknowledged
        if asyncio.get_running_loop().time() > rec.dispatched_at + self.token_ttl:
            raise api_error(401, 50027, "Invalid Webhook Token")
        return rec

    async def _followup(self, request: web.Request) -> web.Response:
        rec = self._webhook_interaction(request)
        ch, body = self.channels[int(rec.payload["channel_id"])], request[BODY] or {}
        original = ch.messages.get(rec.original_message_id or 0)
        if original is not None and original.flags & FLAG_LOADING:  # it resolves a deferral
            msg = original
            self._edit(msg, body)
            await self._announce("MESSAGE_UPDATE", msg)
        else:
            msg = self._create(ch, body, webhook_id=self.app_id)
            await self._announce("MESSAGE_CREATE", msg)
        if request.query.get("wait", "").lower() in ("1", "true"):
            return _json_response(self._message_payload(msg))
        return web.Response(status=204)

    async def _webhook_message(self, request: web.Request) -> web.Response:
        rec = self._webhook_interaction(request)
        ch, raw = self.channels[int(rec.payload["channel_id"])], request.match_info["mid"]
        msg = self._stored(ch, str(rec.original_message_id or 0) if raw == "@original" else raw)
        if request.method == "PATCH":
            self._forced_edit_failure()
            self._edit(msg, request[BODY] or {})
            await self._announce("MESSAGE_UPDATE", msg)
        elif request.method == "DELETE":
            msg.deleted = True
            return web.Response(status=204)
        return _json_response(self._message_payload(msg))

    async def _get_channel(self, request: web.Request) -> web.Response:
        return _json_response(self._channel_payload(self._channel(request)))

    async def _messages(self, request: web.Request) -> web.Response:
        ch = self._channel(request)
        if request.method == "GET":  # history: newest first
            newest = sorted(self.channel_messages(ch.id), key=lambda m: -m.id)
            limit = int(request.query.get("limit", 50))
            return _json_response([self._message_payload(m) for m in newest[:limit]])
        if request.method != "POST":
            raise web.HTTPMethodNotAllowed(request.method, ["GET", "POST"])
        self._take_budget(request, ch.id, "create")
        if ch.deny_send or (self.deny_attachments and (request[BODY] or {}).get("attachments")):
            raise api_error(403, 50013, "Missing Permissions")
        msg = self._create(ch, request[BODY] or {})
        await self._announce("MESSAGE_CREATE", msg)
        return _json_response(self._message_payload(msg))

    async def _message(self, request: web.Request) -> web.Response:
        ch = self._channel(request)
        if request.method == "PATCH":
            self._forced_edit_failure()
            self._take_budget(request, ch.id, "edit")
        msg = self._stored(ch, request.match_info["mid"])
        if request.method == "PATCH":
            if msg.author_id != self.bot_id:
                raise api_error(403, 50005, "Cannot edit a message authored by another user")
            self._edit(msg, request[BODY] or {})
            await self._announce("MESSAGE_UPDATE", msg)
        elif request.method == "DELETE":
            msg.deleted = True
            await self._emit(
                "MESSAGE_DELETE",
                {"id": str(msg.id), "channel_id": str(ch.id), "guild_id": str(self.guild_id)},
            )
            return web.Response(status=204)
        return _json_response(self._message_payload(msg))

    async def _new_thread(
        self, request: web.Request, parent: Channel, thread_id: int | None, thread_type: int
    ) -> web.Response:
        body = request[BODY] or {}
        if self.deny_threads:
            raise api_error(403, 50013, "Missing Permissions")
        name = str(body.get("name") or "")
        if not 1 <= len(name) <= 100:
            error = {
                "code": "BASE_TYPE_BAD_LENGTH",
                "message": "Must be between 1 and 100 in length.",
            }
            raise api_error(400, 50035, "Invalid Form Body", {"name": {"_errors": [error]}})
        thread = Channel(
            thread_id or self.snowflake(),
            thread_type,
            name,
            parent.id,
            owner_id=self.bot_id,
            auto_archive_duration=int(body.get("auto_archive_duration") or 1440),
        )
        self.channels[thread.id] = thread
        payload = self._channel_payload(thread)
        await self._emit("THREAD_CREATE", {**payload, "newly_created": True})
        return _json_response(payload)

    async def _thread_from_message(self, request: web.Request) -> web.Response:
        parent = self._channel(request)
        msg = self._stored(parent, request.match_info["mid"])
        if msg.thread_id is not None:
            raise api_error(400, 160004, "A thread has already been created for this message")
        response = await self._new_thread(request, parent, msg.id, 11)  # thread id == message id
        msg.thread_id, msg.flags = msg.id, msg.flags | FLAG_HAS_THREAD
        return response

    async def _thread_without_message(self, request: web.Request) -> web.Response:
        thread_type = int((request[BODY] or {}).get("type") or 12)  # the API's default: private
        return await self._new_thread(request, self._channel(request), None, thread_type)

    async def _own_reaction(self, request: web.Request) -> web.Response:
        if request.method not in ("PUT", "DELETE"):
            raise web.HTTPMethodNotAllowed(request.method, ["PUT", "DELETE"])
        ch = self._channel(request)
        msg = self._stored(ch, request.match_info["mid"])
        await self._reaction(
            request.method == "PUT", ch.id, msg.id, self.bot_id, request.match_info["emoji"], False
        )
        return web.Response(status=204)


def _int(raw: str) -> int:
    try:
        return int(raw)
    except ValueError:
        raise api_error(404, 0, "404: Not Found") from None


def _emoji(key: str) -> JSON:
    name, _, emoji_id = key.partition(":")  # "name:id" for a custom emoji
    return {"id": emoji_id or None, "name": name}


def _too_long(limit: int) -> JSON:
    return {
        "_errors": [
            {"code": "BASE_TYPE_MAX_LENGTH", "message": f"Must be {limit} or fewer in length."}
        ]
    }


def _embed_size(embed: JSON) -> int:
    parts = [
        embed.get("title"),
        embed.get("description"),
        (embed.get("footer") or {}).get("text"),
        (embed.get("author") or {}).get("name"),
    ]
    parts += [f.get(k) for f in embed.get("fields") or [] for k in ("name", "value")]
    return sum(len(p) for p in parts if isinstance(p, str))


def _validate(body: JSON, *, creating: bool) -> None:
    """Discord's message limits, refused with its 50035 error tree."""
    errors: JSON = {}
    content, embeds = body.get("content"), body.get("embeds") or []
    if isinstance(content, str) and len(content) > 2000:
        errors["content"] = _too_long(2000)
    if len(embeds) > 10:
        errors["embeds"] = _too_long(10)
    else:
        for i, embed in enumerate(embeds):
            if len(embed.get("description") or "") > 4096:
                errors.setdefault("embeds", {})[str(i)] = {"description": _too_long(4096)}
            fields = embed.get("fields") or []
            if len(fields) > 25:
                errors.setdefault("embeds", {})[str(i)] = {"fields": _too_long(25)}
            for j, f in enumerate(fields[:25]):
                for key, limit in (("name", 256), ("value", 1024)):
                    if len(f.get(key) or "") > limit:
                        errors.setdefault("embeds", {}).setdefault(str(i), {}).setdefault(
                            "fields", {}
                        )[str(j)] = {key: _too_long(limit)}
        if "embeds" not in errors and sum(map(_embed_size, embeds)) > 6000:
            errors["embeds"] = {
                "_errors": [
                    {
                        "code": "MAX_EMBED_SIZE_EXCEEDED",
                        "message": "Embed size exceeds maximum size of 6000",
                    }
                ]
            }
    if errors:
        raise api_error(400, 50035, "Invalid Form Body", errors)
    if creating and not any(
        body.get(k)
        for k in ("content", "embeds", "sticker_ids", "components", "attachments", "poll")
    ):
        raise api_error(400, 50006, "Cannot send an empty message")


class pointed_at:  # lower case: it reads like the context manager function it stands for
    """Point discord.py's REST base and default gateway at `fake`; restore them on exit.
    Works with ``with`` and ``async with``, so it can share an ``async with`` line."""

    def __init__(self, fake: DiscordFake) -> None:
        self.fake = fake
        self.saved: tuple[str, yarl.URL] | None = None

    def __enter__(self) -> DiscordFake:
        self.saved = discord.http.Route.BASE, discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY
        discord.http.Route.BASE = self.fake.rest_base
        discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(self.fake.gateway_url)
        return self.fake

    def __exit__(self, *exc: object) -> None:
        assert self.saved is not None
        discord.http.Route.BASE, discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = self.saved

    async def __aenter__(self) -> DiscordFake:
        return self.__enter__()

    async def __aexit__(self, *exc: object) -> None:
        self.__exit__()


ClientT = TypeVar("ClientT", bound=discord.Client)


@contextlib.asynccontextmanager
async def running_client(
    client: ClientT,
    token: str = "fake-token",
    timeout: float = 5.0,  # noqa: ASYNC109 - a test helper's own deadline
) -> AsyncIterator[ClientT]:
    """Start `client` (pointed at a fake), wait until it is ready, and close it cleanly."""
    task = asyncio.create_task(client.start(token))
    ready = asyncio.create_task(client.wait_until_ready())
    try:
        await asyncio.wait({task, ready}, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
        if task.done():
            task.result()  # a failed login or connect
        if not ready.done():
            raise TimeoutError("the discord client did not become ready")
        yield client
    finally:
        ready.cancel()
        await client.close()
        await asyncio.gather(task, ready, return_exceptions=True)
