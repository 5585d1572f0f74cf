"""`twinbot run discord`: check the token, connect, serve until SIGINT or SIGTERM, close cleanly.

Alongside the bot runs the operator's server (/healthz with a "discord" gateway check, and
/metrics) on TWINBOT_OPS_HOST:TWINBOT_OPS_PORT. On a signal the bot drains first (no new
commands, running comparisons get TWINBOT_SHUTDOWN_GRACE seconds), then disconnects; the
database closes last, after every comparison has stored what it has.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import sys
from typing import Any

import aiohttp
import discord

from adapters.discord_bot.client import TwinbotClient
from adapters.discord_bot.health import gateway_check
from adapters.discord_bot.surfaces import PLATFORM
from adapters.discord_bot.votes import VOCABULARY
from bot.config import Settings
from bot.ops.server import OpsServer, start_ops_server
from bot.runtime import Runtime, open_runtime

log = logging.getLogger(__name__)

EXIT_OK = 0
EXIT_CANNOT_RUN = 2  # the CLI's code for "twinbot could not run": one line says why

MISSING_TOKEN = (
    "twinbot: TWINBOT_DISCORD_TOKEN is not set: copy the bot token from the Discord developer "
    "portal (your application, Bot tab) into it; see docs/discord.md"
)
REJECTED_TOKEN = (
    "twinbot: Discord rejected TWINBOT_DISCORD_TOKEN: reset the token on the Bot tab of the "
    "developer portal and set the new one"
)


def _say(line: str) -> None:
    print(line, file=sys.stderr)


async def run(settings: Settings) -> int:
    """Run the Discord bot until SIGINT or SIGTERM; the process exit code."""
    token = settings.discord_token.get_secret_value().strip() if settings.discord_token else ""
    if not token:
        _say(MISSING_TOKEN)
        return EXIT_CANNOT_RUN
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    installed = []
    for signum in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):  # Windows, other threads
            loop.add_signal_handler(signum, stop.set)
            installed.append(signum)
    try:
        return await serve(settings, token, stop)
    finally:
        for signum in installed:
            loop.remove_signal_handler(signum)


async def serve(settings: Settings, token: str, stop: asyncio.Event, **options: Any) -> int:
    """Connect with `token` and serve until `stop` is set or the connection ends for good."""
    async with open_runtime(settings, {PLATFORM: VOCABULARY}) as runtime:
        client = TwinbotClient(runtime, **options)
        ops = await start_ops(runtime, client)
        connection = asyncio.create_task(client.start(token), name="discord connection")
        stopping = asyncio.create_task(stop.wait(), name="wait for a stop signal")
        try:
            await asyncio.wait({connection, stopping}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            stopping.cancel()
            if stop.is_set() and not connection.done():
                log.info("stopping: finishing what is running, then disconnecting")
                await client.drain(settings.shutdown_grace)  # the gateway is still up
            await client.close()  # also closes the HTTP session after a failed login
            await asyncio.gather(connection, stopping, return_exceptions=True)
            if ops is not None:
                await ops.stop()
        return _exit_code(connection)


async def start_ops(runtime: Runtime, client: TwinbotClient) -> OpsServer | None:
    """/healthz and /metrics; a port in use costs the operator's view, not the bot."""
    settings = runtime.settings
    try:
        return await start_ops_server(runtime, {"discord": gateway_check(client)})
    except OSError as exc:
        log.error(
            "the health and metrics server could not start on %s:%d (%s); set TWINBOT_OPS_PORT",
            settings.ops_host,
            settings.ops_port,
            exc,
        )
        return None


def _exit_code(connection: asyncio.Task[None]) -> int:
    if connection.cancelled() or connection.exception() is None:
        return EXIT_OK
    error = connection.exception()
    if isinstance(error, discord.LoginFailure):
        _say(REJECTED_TOKEN)
    elif isinstance(error, discord.DiscordException | aiohttp.ClientError | OSError):
        _say(f"twinbot: cannot connect to Discord: {error}")
    else:
        log.error("the Discord connection failed", exc_info=error)
        _say(f"twinbot: the Discord connection failed: {error!r}")
    return EXIT_CANNOT_RUN
