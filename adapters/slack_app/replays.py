"""Refuse replays in Slack's HTTP mode: a signed request is acted on once.

A signature proves who wrote a request, not that it is new: bolt accepts any correctly signed
request whose timestamp is within 5 minutes of its clock (either way), so one captured
`/compare` could be sent again and again inside that window, each a new comparison. Slack
itself re-sends an event it thinks went unanswered (`X-Slack-Retry-Num`, up to three times
over about five minutes) with a new timestamp and signature but the same `event_id`.

So a request is remembered by what Slack makes unique: the (timestamp, signature) pair of any
signed request (commands, interactions, events) and the `event_id` of an event, in either
mode. Seen before, it gets an empty 200 (a retrying Slack then stops) and no listener runs.
Work that must happen once per event runs inside `acting_on`: if it fails (a reaction that
could not be logged is answered 500, not acked), the event id is forgotten, so Slack's retry
gets in; a copy arriving while the first is still being worked on waits for its outcome.

Memory is bounded twice: a signed pair is forgotten once its timestamp is past bolt's window
(a replay is then refused by bolt's own check), an event id after the retry window; and at
most `limit` keys are kept, oldest dropped first (logged: past that, a replay inside the
window could get through).

The middleware runs after bolt's signature check (bolt puts its own middleware first), so
an unsigned or forged request never reaches this memory.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Iterator, Mapping, Sequence
from typing import Any

from slack_bolt.middleware.async_middleware import AsyncMiddleware
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_bolt.response import BoltResponse

log = logging.getLogger(__name__)

SIGNATURE_WINDOW = 300.0  # bolt's SignatureVerifier: |now - timestamp| <= 5 minutes
EVENT_WINDOW = 900.0  # Slack retries an event at once, after 1 minute and after 5 minutes
DEFAULT_LIMIT = 20_000  # about 4 MB; 66 requests a second for 5 minutes before any is dropped
_MARGIN = 5.0  # clocks: ours against bolt's, which reads time.time() a moment later

Key = tuple[str, ...]


def _header(headers: Mapping[str, Sequence[str]], name: str) -> str | None:
    values = headers.get(name)
    return values[0] if values else None


class ReplayGuard(AsyncMiddleware):
    """A bolt middleware: a request seen before gets an empty 200 and goes no further."""

    def __init__(self, limit: int = DEFAULT_LIMIT, clock: Callable[[], float] = time.time) -> None:
        self._limit = limit
        self._clock = clock
        self._seen: OrderedDict[Key, float] = OrderedDict()  # key -> when it may be forgotten
        self._running: dict[Key, asyncio.Future[None]] = {}  # events being acted on now
        self._warned_full = False

    def __len__(self) -> int:
        return len(self._seen)

    def check(self, headers: Mapping[str, Sequence[str]], body: Mapping[str, Any]) -> Key | None:
        """The key by which this request was seen before, or None (it is remembered now)."""
        now = self._clock()
        self._forget(now)
        keys: list[tuple[Key, float]] = []
        event = _event_key(body)
        if event is not None:
            keys.append((event, now + EVENT_WINDOW))
        timestamp = _header(headers, "x-slack-request-timestamp")
        signature = _header(headers, "x-slack-signature")
        if timestamp and signature:
            try:
                until = float(timestamp) + SIGNATURE_WINDOW + _MARGIN
            except ValueError:
                until = now + SIGNATURE_WINDOW + _MARGIN
            keys.append((("signed", timestamp, signature), until))
        seen = next((key for key, _ in keys if key in self._seen), None)
        for key, until in keys:
            self._remember(key, until)
        return seen

    @contextlib.contextmanager
    def acting_on(self, body: Mapping[str, Any]) -> Iterator[None]:
        """Around the work on an event that must happen once: a copy arriving meanwhile
        (Slack retries after 3 s unanswered) waits for its outcome. If the work fails, the
        event id is forgotten, so Slack's retry of it (the request was not acked) gets in."""
        event = _event_key(body)
        if event is None:
            yield
            return
        running = asyncio.get_running_loop().create_future()
        self._running[event] = running
        try:
            yield
        except BaseException:
            self._seen.pop(event, None)
            raise
        finally:
            del self._running[event]
            running.set_result(None)

    def _forget(self, now: float) -> None:
        while self._seen:
            key, until = next(iter(self._seen.items()))
            if until > now:
                return
            del self._seen[key]

    def _remember(self, key: Key, until: float) -> None:
        self._seen[key] = max(until, self._seen.get(key, until))
        self._seen.move_to_end(key)
        while len(self._seen) > self._limit:
            _, dropped_until = self._seen.popitem(last=False)
            if dropped_until > self._clock() and not self._warned_full:
                self._warned_full = True
                log.warning(
                    "slack replay memory is full (%d requests): older requests are forgotten "
                    "before their signature expires",
                    self._limit,
                )

    async def async_process(
        self,
        *,
        req: AsyncBoltRequest,
        resp: BoltResponse,
        next: Callable[[], Awaitable[BoltResponse]],  # bolt passes it by this name
    ) -> BoltResponse | None:
        event = _event_key(req.body)
        while event is not None and event in self._running:
            # A copy while the first is still being acted on: that one's outcome decides.
            await asyncio.shield(self._running[event])
        seen = self.check(req.headers, req.body)
        if seen is None:
            return await next()
        return self._refuse(req, seen)

    def _refuse(self, req: AsyncBoltRequest, seen: Key) -> BoltResponse:
        body = req.body
        retry = _header(req.headers, "x-slack-retry-num")
        what = body.get("command") or body.get("type") or "request"
        team = body.get("team_id") or (body.get("team") or {}).get("id")
        if retry is not None and seen[0] == "event":
            log.info("slack retry %s of event %s ignored: already handled", retry, seen[1])
        else:
            log.warning(
                "replayed slack request refused (%s team=%s user=%s key=%s)",
                what,
                team,
                body.get("user_id") or (body.get("user") or {}).get("id"),
                seen[0] if seen[0] == "signed" else f"event {seen[1]}",
            )
        return BoltResponse(status=200, body="")


def _event_key(body: Mapping[str, Any]) -> Key | None:
    event_id = body.get("event_id")
    return ("event", event_id) if isinstance(event_id, str) and event_id else None
