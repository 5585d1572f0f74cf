"""What the operator's server (/healthz, /metrics) learns from the Discord side.

- `gateway_check`: the "discord" health check: the client is ready, not closed, and its
  gateway heartbeat latency is known (it is not while connecting or reconnecting).
- `rate_limit_trace`: discord.py waits out a 429 and retries inside its HTTP client, so no
  caller ever sees one. An aiohttp trace on its session (the Client's `http_trace` option)
  sees every response, retried or not, interaction webhooks included (they share the
  session), and counts each 429 into `twinbot_platform_rate_limited{platform="discord"}`.
"""

from __future__ import annotations

import logging
import math
import re
from types import SimpleNamespace

import aiohttp
import discord

from bot.errors import TwinbotError
from bot.ops.metrics import Metrics
from bot.ops.server import HealthCheck

log = logging.getLogger(__name__)

# Interaction tokens sit in webhook and callback paths: never in a log line.
_TOKEN_IN_PATH = re.compile(r"(/webhooks/\d+/|/interactions/\d+/)[^/]+")


class DiscordUnhealthy(TwinbotError):
    kind = "discord_unhealthy"


def gateway_check(client: discord.Client) -> HealthCheck:
    async def check() -> str:
        if client.is_closed():
            raise DiscordUnhealthy("the Discord client is closed")
        if not client.is_ready():
            raise DiscordUnhealthy("not connected to the Discord gateway yet")
        latency = client.latency
        if not math.isfinite(latency):
            raise DiscordUnhealthy("the gateway has not answered a heartbeat (reconnecting?)")
        servers = len(client.guilds)
        ms = latency * 1000
        return f"gateway connected as {client.user}, latency {ms:.0f} ms, {servers} server(s)"

    return check


def rate_limit_trace(metrics: Metrics) -> aiohttp.TraceConfig:
    counter = metrics.platform_429.labels("discord")  # shown as 0 from the start, not missing

    async def on_request_end(
        session: aiohttp.ClientSession,
        context: SimpleNamespace,
        params: aiohttp.TraceRequestEndParams,
    ) -> None:
        if params.response.status == 429:
            counter.inc()
            log.warning(
                "Discord answered 429 to %s %s (discord.py waits and retries)",
                params.method,
                _TOKEN_IN_PATH.sub(r"\1<token>", params.url.path),
            )

    trace = aiohttp.TraceConfig()
    trace.on_request_end.append(on_request_end)
    return trace
