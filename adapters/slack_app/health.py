"""What the operator's server (/healthz, /metrics) learns from the Slack side.

- `SlackHealth.check`: the "slack" health check: the connection is up (the Socket Mode
  websocket, or the HTTP listener) and the bot token still works (auth.test, asked again at
  most once a minute, so probes cannot spend Slack's budget).
- `RateLimitCounter`: counts every 429 any Web API call gets into
  `twinbot_platform_rate_limited{platform="slack"}`. It never retries: the update scheduler,
  the post pacer and the seeder wait out Retry-After themselves.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.async_handler import AsyncRetryHandler
from slack_sdk.http_retry.request import HttpRequest
from slack_sdk.http_retry.response import HttpResponse
from slack_sdk.http_retry.state import RetryState
from slack_sdk.web.async_client import AsyncWebClient

from adapters.slack_app.posting import slack_error
from bot.errors import TwinbotError
from bot.ops.metrics import Metrics

AUTH_RECHECK = 60.0  # seconds an auth.test answer is trusted


class SlackUnhealthy(TwinbotError):
    kind = "slack_unhealthy"


async def _not_started() -> bool:
    return False


class SlackHealth:
    def __init__(self, client: AsyncWebClient, recheck_after: float = AUTH_RECHECK) -> None:
        self._client = client
        self._recheck_after = recheck_after
        self.mode = "not started"
        self._connected: Callable[[], Awaitable[bool]] = _not_started
        self._user = ""
        self._auth_at: float | None = None

    def watch(self, mode: str, connected: Callable[[], Awaitable[bool]]) -> None:
        """How to tell whether the intake (Socket Mode or HTTP) is up."""
        self.mode, self._connected = mode, connected

    def auth_ok(self, user: str) -> None:
        """auth.test just succeeded for bot user `user`."""
        self._user, self._auth_at = user, asyncio.get_running_loop().time()

    async def check(self) -> str:
        if not await self._connected():
            raise SlackUnhealthy(f"{self.mode}: not connected")
        now = asyncio.get_running_loop().time()
        if self._auth_at is None or now - self._auth_at > self._recheck_after:
            try:
                identity = await self._client.auth_test()
            except SlackApiError as exc:
                raise SlackUnhealthy(f"auth.test failed: {slack_error(exc)}") from None
            self.auth_ok(str(identity.get("user") or self._user))
        assert self._auth_at is not None
        age = asyncio.get_running_loop().time() - self._auth_at
        return f"{self.mode} connected as @{self._user}; auth.test ok {age:.0f} s ago"


class RateLimitCounter(AsyncRetryHandler):
    def __init__(self, metrics: Metrics) -> None:
        # Asked about every response, however many retries other handlers made.
        super().__init__(max_retry_count=1_000_000)
        self._counter = metrics.platform_429.labels("slack")

    async def _can_retry_async(
        self,
        *,
        state: RetryState,
        request: HttpRequest,
        response: HttpResponse | None = None,
        error: Exception | None = None,
    ) -> bool:
        if response is not None and response.status_code == 429:
            self._counter.inc()
        return False


def count_rate_limits(client: AsyncWebClient, metrics: Metrics) -> None:
    """Make `client` count its 429s into `metrics` (once, however often it is called)."""
    metrics.platform_429.labels("slack")  # shown as 0 from the start, not missing
    if not any(isinstance(handler, RateLimitCounter) for handler in client.retry_handlers):
        client.retry_handlers.append(RateLimitCounter(metrics))
