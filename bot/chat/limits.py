"""Token buckets that decide whether a chat command may start a comparison now."""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

from bot.config import Settings


@dataclass(frozen=True, slots=True)
class Decision:
    allowed: bool
    retry_after: float = 0.0  # seconds until the refused request would be allowed
    scope: str = ""  # which limit refused it: "user" or "channel"


@dataclass(slots=True)
class _Bucket:
    tokens: float
    updated: float


class TokenBuckets:
    """One bucket per key: `capacity` tokens, refilled at `rate` per second. Bounded in memory."""

    def __init__(
        self,
        rate_per_minute: float,
        capacity: int,
        clock: Callable[[], float] = time.monotonic,
        max_keys: int = 10_000,
    ) -> None:
        self.rate = rate_per_minute / 60.0
        self.capacity = float(capacity)
        self._clock = clock
        self._max_keys = max_keys
        self._buckets: OrderedDict[str, _Bucket] = OrderedDict()

    def _refilled(self, key: str) -> _Bucket:
        now = self._clock()
        bucket = self._buckets.get(key)
        if bucket is None:
            bucket = _Bucket(self.capacity, now)
            self._buckets[key] = bucket
            if len(self._buckets) > self._max_keys:
                # A full bucket is the same as no bucket, so forgetting the oldest is safe enough.
                self._buckets.popitem(last=False)
        else:
            bucket.tokens = min(self.capacity, bucket.tokens + (now - bucket.updated) * self.rate)
            bucket.updated = now
            self._buckets.move_to_end(key)
        return bucket

    def wait_time(self, key: str) -> float:
        bucket = self._refilled(key)
        return 0.0 if bucket.tokens >= 1 else (1 - bucket.tokens) / self.rate

    def take(self, key: str) -> None:
        self._refilled(key).tokens -= 1


class RateLimiter:
    """Per-user, per-channel and per-workspace limits: a request takes a token from each of
    them or from none, so a refused request costs nothing."""

    def __init__(
        self,
        user: TokenBuckets,
        channel: TokenBuckets,
        exempt_users: frozenset[str] = frozenset(),
        workspace: TokenBuckets | None = None,
    ) -> None:
        self._user = user
        self._channel = channel
        self._workspace = workspace
        self._exempt = exempt_users

    def check(
        self,
        user_key: str,
        channel_key: str,
        workspace_key: str | None = None,
        *,
        exempt: bool = False,
    ) -> Decision:
        if exempt or user_key in self._exempt:
            return Decision(True)
        scopes = [("user", self._user, user_key), ("channel", self._channel, channel_key)]
        if self._workspace is not None and workspace_key is not None:
            scopes.append(("workspace", self._workspace, workspace_key))
        waits = [(buckets.wait_time(key), scope) for scope, buckets, key in scopes]
        longest, scope = max(waits, key=lambda wait: wait[0])
        if longest > 0:
            return Decision(False, longest, scope)
        for _, buckets, key in scopes:
            buckets.take(key)
        return Decision(True)


def limiter_from_settings(settings: Settings) -> RateLimiter:
    return RateLimiter(
        TokenBuckets(settings.user_comparisons_per_minute, settings.user_burst),
        TokenBuckets(settings.channel_comparisons_per_minute, settings.channel_burst),
        workspace=TokenBuckets(settings.workspace_comparisons_per_minute, settings.workspace_burst),
    )


def refusal_message(decision: Decision) -> str:
    seconds = max(1, round(decision.retry_after))
    who = {"user": "You have", "channel": "This channel has"}.get(decision.scope, "This server has")
    return f"{who} reached the comparison limit. Try again in {seconds} s."
