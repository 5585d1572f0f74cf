"""twinbot's own reactions on a finished comparison (:a: :b: :handshake: :-1:), so people see
how to vote, sent inside the workspace's reactions.add budget.

reactions.add is a Tier 3 method (about 50 a minute per workspace, counted apart from
chat.update), so one worker per workspace sends them one at a time on a `TierClock`. A 429
pauses the workspace for its Retry-After and the reaction is sent again; `already_reacted`
counts as done; anything else Slack refuses is dropped and logged (the vote still works:
people can add the reaction themselves).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from dataclasses import dataclass

import aiohttp
from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.web.async_client import AsyncWebClient

from adapters.slack_app.pacing import Budget, TierClock
from adapters.slack_app.posting import is_rate_limited, retry_after, slack_error
from adapters.slack_app.votes import SEEDS

log = logging.getLogger(__name__)

MAX_PENDING = 2_000  # reactions waiting per workspace; past it the oldest are dropped


@dataclass(slots=True)
class _Reaction:
    channel: str
    ts: str
    name: str
    failures: int = 0


@dataclass(slots=True)
class SeederStats:
    sent: int = 0
    rate_limited: int = 0
    dropped: int = 0


class ReactionSeeder:
    def __init__(
        self, client: AsyncWebClient, budget: Budget, *, name: str = "", max_failures: int = 3
    ) -> None:
        self._client = client
        self._clock = TierClock(budget)
        self.name = name
        self._max_failures = max_failures
        self._queue: deque[_Reaction] = deque()
        self._wake = asyncio.Event()
        self._worker: asyncio.Task[None] | None = None
        self.stats = SeederStats()

    def seed(self, channel: str, ts: str) -> None:
        """Queue the four voting reactions on message `ts` (never waits)."""
        for name in SEEDS:
            if len(self._queue) >= MAX_PENDING:
                self._queue.popleft()
                self.stats.dropped += 1
            self._queue.append(_Reaction(channel, ts, name))
        if self._worker is None or self._worker.done():
            self._worker = asyncio.create_task(self._run(), name=f"slack-seeds-{self.name}")
        self._wake.set()

    @property
    def pending(self) -> int:
        return len(self._queue)

    async def close(self) -> None:
        if self._worker is not None:
            self._worker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._worker

    async def _run(self) -> None:
        while True:
            if not self._queue:
                self._wake.clear()
                await self._wake.wait()
                continue
            await self._clock.ready()
            reaction = self._queue.popleft()
            try:
                await self._send(reaction)
            except Exception:  # the worker must outlive any surprise
                log.exception("slack seeds %s: a reaction failed unexpectedly", self.name)
            finally:
                self._clock.answered()

    async def _send(self, reaction: _Reaction) -> None:
        try:
            await self._client.reactions_add(
                channel=reaction.channel, timestamp=reaction.ts, name=reaction.name
            )
        except SlackApiError as exc:
            if is_rate_limited(exc):
                self.stats.rate_limited += 1
                self._clock.pause(retry_after(exc))
                self._queue.appendleft(reaction)
            elif slack_error(exc) == "already_reacted":
                self.stats.sent += 1
            elif exc.response.status_code >= 500:
                self._retry(reaction, f"HTTP {exc.response.status_code}")
            else:
                self.stats.dropped += 1
                log.warning(
                    "slack seeds %s: :%s: on %s in %s refused (%s); dropped",
                    self.name, reaction.name, reaction.ts, reaction.channel, slack_error(exc),
                )  # fmt: skip
        except (SlackClientError, aiohttp.ClientError, TimeoutError) as exc:
            self._retry(reaction, repr(exc))
        else:
            self.stats.sent += 1

    def _retry(self, reaction: _Reaction, why: str) -> None:
        reaction.failures += 1
        if reaction.failures > self._max_failures:
            self.stats.dropped += 1
            log.error("slack seeds %s: giving up on :%s: after %s", self.name, reaction.name, why)
            return
        self._clock.pause(min(30.0, 2.0 ** (reaction.failures - 1)))
        self._queue.appendleft(reaction)
