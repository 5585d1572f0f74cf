"""chat.update for a whole workspace inside Slack's Tier 3 budget, fairly, latest text wins.

Slack allows about 50 chat.update calls a minute per workspace, shared by every comparison
running there. One scheduler per workspace owns that budget: views hand it the text each
message should show (`submit`, never blocking); one worker sends the edits one at a time:

- pace: calls start at least `window / calls` apart, and never more than `calls` fall in any
  `window` (counted from when each answer arrived, so network jitter cannot fit in an extra);
- fair: comparisons take turns (round-robin), and within one its messages take turns;
  a finishing comparison goes first, so final texts and stats are not stuck behind live ones;
- latest wins: a newer text for a message replaces the queued one; stale frames are never sent;
- 429: the whole workspace waits out `Retry-After` and the edit is retried, however often;
  other transient failures are retried a few times; an edit Slack refuses for good is dropped.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import OrderedDict, deque
from collections.abc import Hashable
from dataclasses import dataclass
from typing import Any

import aiohttp
from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.web.async_client import AsyncWebClient

from adapters.slack_app.pacing import Budget, TierClock
from adapters.slack_app.posting import PARSE, is_rate_limited, retry_after, slack_error

__all__ = ["Budget", "MessageKey", "SchedulerStats", "UpdateScheduler"]

log = logging.getLogger(__name__)

MessageKey = tuple[str, str]  # (channel id, message ts)


@dataclass(slots=True)
class SchedulerStats:
    sent: int = 0  # edits Slack accepted
    rate_limited: int = 0  # 429s (Slack's `ratelimited`) answered to us
    retried: int = 0  # transient failures retried
    dropped: int = 0  # edits Slack refused for good
    superseded: int = 0  # queued texts replaced by a newer one before being sent


Blocks = list[dict[str, Any]]


@dataclass(slots=True)
class _Edit:
    owner: Hashable
    key: MessageKey
    text: str
    blocks: Blocks | None = None  # None: leave the message's blocks as they are
    failures: int = 0


class UpdateScheduler:
    method = "chat.update"  # what the worker calls, for the log

    def __init__(
        self,
        client: AsyncWebClient,
        budget: Budget,
        *,
        name: str = "",
        max_failures: int = 4,
    ) -> None:
        self._client = client
        self.budget = budget
        self.name = name
        self._max_failures = max_failures
        self._pending: dict[Hashable, OrderedDict[MessageKey, _Edit]] = {}
        self._turns: deque[Hashable] = deque()  # owners with pending edits, in turn order
        self._finishing: set[Hashable] = set()
        self._given_up: dict[Hashable, set[MessageKey]] = {}  # transient failures, per owner
        self._idle: dict[Hashable, asyncio.Event] = {}
        self._in_flight: Hashable | None = None
        self._wake = asyncio.Event()
        self._clock = TierClock(budget)
        self._worker: asyncio.Task[None] | None = None
        self._closed = False
        self.stats = SchedulerStats()

    # ---- what views call --------------------------------------------------------------------

    def submit(
        self, owner: Hashable, channel: str, ts: str, text: str, blocks: Blocks | None = None
    ) -> None:
        """Make message `ts` show `text` (and `blocks`) as soon as the budget allows, replacing
        a queued text."""
        if self._closed:
            raise RuntimeError("the update scheduler is closed")
        queue = self._pending.get(owner)
        if queue is None:
            queue = self._pending[owner] = OrderedDict()
            if owner != self._in_flight:
                self._turns.append(owner)
        key = (channel, ts)
        edit = queue.get(key)
        if edit is None:
            queue[key] = _Edit(owner, key, text, blocks)
        else:
            edit.text, edit.blocks = text, blocks
            self.stats.superseded += 1
        self._idle.setdefault(owner, asyncio.Event()).clear()
        self._ensure_worker()
        self._wake.set()

    async def settle(self, owner: Hashable) -> set[MessageKey]:
        """Until every edit `owner` submitted is delivered or given up; its edits go before
        those of comparisons still streaming. The messages given up after transient failures
        (5xx, timeouts: worth submitting again later), if any."""
        if self._busy(owner):
            self._finishing.add(owner)
            self._wake.set()
            try:
                await self._idle.setdefault(owner, asyncio.Event()).wait()
            finally:
                self._finishing.discard(owner)
        self._idle.pop(owner, None)
        return self._given_up.pop(owner, set())

    def pending(self, owner: Hashable) -> int:
        return len(self._pending.get(owner, ()))

    def backlog(self) -> float:
        """About how many seconds a message submitted now waits for its first edit: every
        message queued (and the one in flight) goes first, one budget slot each."""
        queued = sum(len(queue) for queue in self._pending.values())
        return (queued + (self._in_flight is not None)) * self.budget.spacing

    async def close(self) -> None:
        """Stop the worker; unsent edits are abandoned (call after the views have settled)."""
        self._closed = True
        if self._worker is not None:
            self._worker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._worker
        for event in self._idle.values():
            event.set()  # nobody waits forever on a closed scheduler

    # ---- the worker -------------------------------------------------------------------------

    def _busy(self, owner: Hashable) -> bool:
        return owner in self._pending or owner == self._in_flight

    def _ensure_worker(self) -> None:
        if self._worker is None or self._worker.done():
            self._worker = asyncio.create_task(self._run(), name=f"slack-updates-{self.name}")

    async def _run(self) -> None:
        while True:
            if not self._turns:
                self._wake.clear()
                await self._wake.wait()
                continue
            await self._clock.ready()
            edit = self._next_edit()
            if edit is None:
                continue
            self._in_flight = edit.owner
            try:
                await self._send(edit)
            except Exception:  # the worker must outlive any surprise
                log.exception("slack updates %s: sending an edit failed unexpectedly", self.name)
            finally:
                self._in_flight = None
                if edit.owner in self._pending and edit.owner not in self._turns:
                    self._turns.append(edit.owner)  # submitted again while in flight
                if not self._busy(edit.owner):
                    idle = self._idle.get(edit.owner)
                    if idle is not None:
                        idle.set()

    def _next_edit(self) -> _Edit | None:
        """The next owner's oldest edit: finishing owners first, then plain round-robin."""
        if not self._turns:
            return None
        owner = next((o for o in self._turns if o in self._finishing), self._turns[0])
        self._turns.remove(owner)
        queue = self._pending[owner]
        _, edit = queue.popitem(last=False)
        if queue:
            self._turns.append(owner)
        else:
            del self._pending[owner]
        return edit

    def _requeue(self, edit: _Edit) -> None:
        """Put a failed edit back at the head of its owner's queue, unless a newer text for the
        same message arrived meanwhile (that one wins)."""
        queue = self._pending.setdefault(edit.owner, OrderedDict())
        if edit.key in queue:
            return
        queue[edit.key] = edit
        queue.move_to_end(edit.key, last=False)
        if edit.owner in self._turns:
            self._turns.remove(edit.owner)
        self._turns.appendleft(edit.owner)  # it lost its turn to Slack, not to another owner

    async def _call(self, edit: _Edit) -> None:
        """The one Web API call that makes the message show `edit` (a subclass may change it)."""
        channel, ts = edit.key
        extra: dict[str, Any] = {} if edit.blocks is None else {"blocks": edit.blocks}
        await self._client.chat_update(
            channel=channel, ts=ts, text=edit.text, parse=PARSE, link_names=False, **extra
        )

    def _refused(self, edit: _Edit, exc: SlackApiError) -> None:
        """Slack refused the edit for good: dropped and logged."""
        self.stats.dropped += 1
        log.warning(
            "slack updates %s: %s of %s in %s refused (%s); dropped",
            self.name,
            self.method,
            edit.key[1],
            edit.key[0],
            slack_error(exc),
        )

    async def _send(self, edit: _Edit) -> None:
        try:
            await self._call(edit)
        except SlackApiError as exc:
            if is_rate_limited(exc):
                wait = retry_after(exc)
                self.stats.rate_limited += 1
                self._clock.pause(wait)
                log.warning("slack updates %s: rate-limited, pausing %g s", self.name, wait)
                self._requeue(edit)
            elif exc.response.status_code >= 500:
                self._retry_later(edit, f"HTTP {exc.response.status_code}")
            else:
                self._refused(edit, exc)
        except (SlackClientError, aiohttp.ClientError, TimeoutError) as exc:
            self._retry_later(edit, repr(exc))
        else:
            self.stats.sent += 1
        finally:
            self._clock.answered()

    def _retry_later(self, edit: _Edit, why: str) -> None:
        edit.failures += 1
        if edit.failures > self._max_failures:
            self.stats.dropped += 1
            self._given_up.setdefault(edit.owner, set()).add(edit.key)
            log.error("slack updates %s: giving up on %s after %s", self.name, edit.key, why)
            return
        self.stats.retried += 1
        backoff = min(30.0, 2.0 ** (edit.failures - 1))
        self._clock.pause(backoff)
        log.warning("slack updates %s: %s; retrying in %g s", self.name, why, backoff)
        self._requeue(edit)
