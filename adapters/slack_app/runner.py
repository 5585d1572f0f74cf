"""`twinbot run slack`: check the tokens, then serve in Socket Mode or HTTP mode until a signal.

Socket Mode when TWINBOT_SLACK_APP_TOKEN is set (no public URL needed), else HTTP mode: bolt's
aiohttp adapter on TWINBOT_SLACK_HOST:TWINBOT_SLACK_PORT at /slack/events, every request's
signature checked with TWINBOT_SLACK_SIGNING_SECRET. A missing or rejected credential stops
start-up with one line naming the variable (the CLI prints it and exits 2).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

import aiohttp
from aiohttp import web
from pydantic import SecretStr
from slack_bolt.adapter.socket_mode.aiohttp import AsyncSocketModeHandler
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from adapters.slack_app.app import EVENTS_PATH, SlackBot
from adapters.slack_app.health import SlackHealth
from adapters.slack_app.posting import slack_error
from adapters.slack_app.view import PLATFORM
from adapters.slack_app.votes import VOCABULARY
from bot.config import Settings
from bot.errors import TwinbotError
from bot.ops.server import OpsServer, start_ops_server
from bot.runtime import Runtime, open_runtime

log = logging.getLogger(__name__)

API_TIMEOUT = 15  # seconds for one Web API call


class SlackSetupError(TwinbotError):
    """Slack cannot be used as configured; the message names the variable to fix."""

    kind = "slack_setup"


@dataclass(frozen=True, slots=True)
class Credentials:
    bot_token: str
    app_token: str | None
    signing_secret: str | None

    @property
    def socket_mode(self) -> bool:
        return self.app_token is not None


def _secret(value: SecretStr | None) -> str | None:
    text = value.get_secret_value().strip() if value is not None else ""
    return text or None


def credentials(settings: Settings) -> Credentials:
    """The tokens, checked for presence and shape before any network call."""
    bot_token = _secret(settings.slack_bot_token)
    app_token = _secret(settings.slack_app_token)
    signing_secret = _secret(settings.slack_signing_secret)
    if bot_token is None:
        raise SlackSetupError(
            "TWINBOT_SLACK_BOT_TOKEN is not set: copy the Bot User OAuth Token (xoxb-…) from "
            "your Slack app's OAuth & Permissions page."
        )
    if not bot_token.startswith("xoxb-"):
        raise SlackSetupError(
            "TWINBOT_SLACK_BOT_TOKEN must be a bot token starting with xoxb- "
            "(OAuth & Permissions page), not a user or app token."
        )
    if app_token is not None and not app_token.startswith("xapp-"):
        raise SlackSetupError(
            "TWINBOT_SLACK_APP_TOKEN must be an app-level token starting with xapp- "
            "(Basic Information > App-Level Tokens, scope connections:write)."
        )
    if app_token is None and signing_secret is None:
        raise SlackSetupError(
            "TWINBOT_SLACK_SIGNING_SECRET is not set: HTTP mode needs it (Basic Information "
            "page). For Socket Mode set TWINBOT_SLACK_APP_TOKEN instead."
        )
    return Credentials(bot_token, app_token, signing_secret)


def api_url(settings: Settings) -> str:
    # slack_sdk joins the method name onto the base: without the slash it would replace "api".
    return settings.slack_api_url.rstrip("/") + "/"


async def check_bot_token(client: AsyncWebClient, url: str) -> str:
    """auth.test: the bot's user name, or SlackSetupError if Slack refuses the token."""
    try:
        identity = await client.auth_test()
    except SlackApiError as exc:
        raise SlackSetupError(
            f"Slack rejected TWINBOT_SLACK_BOT_TOKEN ({slack_error(exc)}): check the token on "
            "the app's OAuth & Permissions page and that the app is installed."
        ) from None
    except (aiohttp.ClientError, TimeoutError) as exc:
        raise SlackSetupError(f"Cannot reach Slack at {url}: {exc!r}") from None
    return str(identity.get("user") or "twinbot")


async def check_app_token(client: AsyncWebClient, app_token: str) -> None:
    """apps.connections.open once ourselves: slack_sdk's connect() retries a refused token
    forever, logging tracebacks, where a wrong token should stop start-up in one line."""
    try:
        await client.apps_connections_open(app_token=app_token)
    except SlackApiError as exc:
        raise SlackSetupError(
            f"Slack rejected TWINBOT_SLACK_APP_TOKEN ({slack_error(exc)}): create an app-level "
            "token with connections:write (Basic Information) and turn Socket Mode on."
        ) from None


@asynccontextmanager
async def socket_mode(bot: SlackBot, app_token: str, health: SlackHealth) -> AsyncIterator[None]:
    await check_app_token(bot.client, app_token)
    handler = AsyncSocketModeHandler(bot.app, app_token, web_client=bot.client)
    await handler.connect_async()  # type: ignore[no-untyped-call]  # untyped upstream
    health.watch("Socket Mode", handler.client.is_connected)
    log.info("slack: connected in Socket Mode as @%s", bot.bot_name)
    try:
        yield
    finally:
        await handler.close_async()  # type: ignore[no-untyped-call]


@asynccontextmanager
async def http_mode(
    bot: SlackBot, host: str, port: int, health: SlackHealth
) -> AsyncIterator[None]:
    runner = web.AppRunner(bot.app.web_app(path=EVENTS_PATH), handle_signals=False)
    await runner.setup()
    try:
        await web.TCPSite(runner, host, port).start()
    except OSError as exc:
        await runner.cleanup()
        raise SlackSetupError(
            f"Cannot listen on {host}:{port} ({exc.strerror or exc}): set TWINBOT_SLACK_HOST "
            "and TWINBOT_SLACK_PORT."
        ) from None

    async def listening() -> bool:
        return runner.server is not None and bool(runner.addresses)

    health.watch("HTTP mode", listening)
    log.info("slack: HTTP mode, request URL http://%s:%d%s", host, port, EVENTS_PATH)
    try:
        yield
    finally:
        await runner.cleanup()


async def start_ops(runtime: Runtime, health: SlackHealth) -> OpsServer | None:
    """/healthz (with a "slack" check) and /metrics. A port in use costs the operator's view,
    not the bot (as on Discord): the comparisons matter more than the probe."""
    settings = runtime.settings
    try:
        return await start_ops_server(runtime, {"slack": health.check})
    except OSError as exc:
        log.error(
            "the health and metrics server could not start on %s:%d (%s); set TWINBOT_OPS_PORT",
            settings.ops_host,
            settings.ops_port,
            exc.strerror or exc,
        )
        return None


async def serve(settings: Settings, stop: asyncio.Event) -> None:
    """Run the bot until `stop` is set, then stop taking commands and wind down: running
    comparisons get TWINBOT_SHUTDOWN_GRACE seconds to finish before they are stopped."""
    creds = credentials(settings)
    url = api_url(settings)
    client = AsyncWebClient(token=creds.bot_token, base_url=url, timeout=API_TIMEOUT)
    bot_name = await check_bot_token(client, url)
    health = SlackHealth(client)
    health.auth_ok(bot_name)
    async with open_runtime(settings, {PLATFORM: VOCABULARY}) as runtime:
        bot = SlackBot(runtime, client, signing_secret=creds.signing_secret, bot_name=bot_name)
        await bot.start()
        ops: OpsServer | None = None
        try:
            ops = await start_ops(runtime, health)
            if creds.app_token is not None:
                intake = socket_mode(bot, creds.app_token, health)
            else:
                intake = http_mode(bot, settings.slack_host, settings.slack_port, health)
            async with intake:
                await stop.wait()
                log.info("slack: stopping; %d task(s) running", len(bot.tasks))
        finally:
            # Past the grace, the core stores what each comparison wrote and marks it
            # interrupted; the view shows it as stopped.
            await bot.aclose(settings.shutdown_grace)
            if ops is not None:
                await ops.stop()


async def run(settings: Settings) -> int:
    """`twinbot run slack`. Returns 0 after a clean shutdown on SIGINT or SIGTERM."""
    credentials(settings)  # fail fast, before the event loop has anything to clean up
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    handled = []
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):  # not on every platform
            loop.add_signal_handler(sig, stop.set)
            handled.append(sig)
    try:
        await serve(settings, stop)
    finally:
        for sig in handled:
            loop.remove_signal_handler(sig)
    log.info("slack: stopped")
    return 0
