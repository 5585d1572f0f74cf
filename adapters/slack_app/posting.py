"""chat.postMessage at Slack's pace: about one message a second per channel, 429s sat out.

Every post of a channel goes through one lane (a lock and a token bucket), so replies land in
the order they were asked for and a burst of comparisons in one channel never trips Slack's
limit. A 429 anyway (another app, a restart) is honoured with its `Retry-After`.
"""

from __future__ import annotations

import asyncio
import logging
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

log = logging.getLogger(__name__)

# Sent with every message twinbot writes (parse="none", link_names=False): no @-name linking.
# Escaping (see mrkdwn.py) is what disarms <!channel> and friends; this keeps a plain "@here"
# inert too. Unfurls are off as well: a model's URLs get no previews.
PARSE = "none"


def is_rate_limited(exc: SlackApiError) -> bool:
    return exc.response.status_code == 429 or str(exc.response.get("error")) == "ratelimited"


def retry_after(exc: SlackApiError, default: float = 1.0) -> float:
    """Seconds Slack asked us to wait (its `Retry-After` header), at least a little."""
    raw = exc.response.headers.get("Retry-After", exc.response.headers.get("retry-after"))
    try:
        return max(0.05, float(raw)) if raw is not None else default
    except (TypeError, ValueError):
        return default


def transient(exc: BaseException) -> bool:
    """A failure worth trying again later: rate limits, Slack's 5xx, the network."""
    if isinstance(exc, SlackApiError):
        return is_rate_limited(exc) or exc.response.status_code >= 500
    return isinstance(exc, aiohttp.ClientError | TimeoutError | OSError)


def slack_error(exc: SlackApiError) -> str:
    return str(exc.response.get("error") or f"HTTP {exc.response.status_code}")


@dataclass(frozen=True, slots=True)
class PostBudget:
    """A token bucket per channel: `rate` posts a second, `burst` at once. Kept below Slack's
    own burst so that timing jitter between us and Slack can never cost a 429."""

    rate: float = 1.0
    burst: int = 3

    def __post_init__(self) -> None:
        if self.rate <= 0 or self.burst < 1:
            raise ValueError("a post budget needs a positive rate and a burst of at least 1")


@dataclass(slots=True)
class _Lane:
    tokens: float
    updated: float
    paused_until: float = 0.0
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)


class PostPacer:
    def __init__(
        self,
        client: AsyncWebClient,
        budget: PostBudget | None = None,
        *,
        max_attempts: int = 5,
        max_channels: int = 1000,
    ) -> None:
        self._client = client
        self.budget = budget or PostBudget()
        self._max_attempts = max_attempts
        self._max_channels = max_channels
        self._lanes: OrderedDict[str, _Lane] = OrderedDict()
        self.rate_limited = 0  # 429s Slack answered us (should stay 0)

    def _lane(self, channel: str, now: float) -> _Lane:
        lane = self._lanes.get(channel)
        if lane is None:
            lane = self._lanes[channel] = _Lane(float(self.budget.burst), now)
            idle = [key for key, old in self._lanes.items() if not old.lock.locked()]
            for key in idle[: max(0, len(self._lanes) - self._max_channels)]:
                del self._lanes[key]  # a forgotten lane is a full one: safe enough
        self._lanes.move_to_end(channel)
        return lane

    async def _take(self, lane: _Lane) -> None:
        loop = asyncio.get_running_loop()
        while True:
            now = loop.time()
            lane.tokens = min(
                float(self.budget.burst), lane.tokens + (now - lane.updated) * self.budget.rate
            )
            lane.updated = now
            wait = max(lane.paused_until - now, (1 - lane.tokens) / self.budget.rate)
            if wait <= 0:
                lane.tokens -= 1
                return
            await asyncio.sleep(wait)

    async def post(
        self,
        channel: str,
        text: str,
        *,
        thread_ts: str | None = None,
        blocks: list[dict[str, Any]] | None = None,
    ) -> str:
        """Post `text` (already escaped mrkdwn; with `blocks`, their fallback) and return the
        new message's ts."""
        extra: dict[str, Any] = {} if blocks is None else {"blocks": blocks}
        loop = asyncio.get_running_loop()
        lane = self._lane(channel, loop.time())
        async with lane.lock:
            for attempt in range(1, self._max_attempts + 1):
                await self._take(lane)
                try:
                    response = await self._client.chat_postMessage(
                        channel=channel,
                        text=text,
                        thread_ts=thread_ts,
                        parse=PARSE,
                        link_names=False,
                        unfurl_links=False,
                        unfurl_media=False,
                        **extra,
                    )
                except SlackApiError as exc:
                    if not is_rate_limited(exc) or attempt == self._max_attempts:
                        raise
                    self.rate_limited += 1
                    wait = retry_after(exc)
                    lane.paused_until = loop.time() + wait
                    log.warning(
                        "chat.postMessage in %s rate-limited; retrying in %g s", channel, wait
                    )
                    continue
                return str(response["ts"])
        raise AssertionError("unreachable: the last attempt returns or raises")
