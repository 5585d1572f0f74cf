"""`twinbot doctor`'s Slack checks: do the bot token (and the app token for Socket Mode) work?

The same calls `twinbot run slack` makes first (`auth.test`, `apps.connections.open`) against
TWINBOT_SLACK_API_URL, so doctor and start-up agree.
"""

from __future__ import annotations

import aiohttp
from slack_sdk.web.async_client import AsyncWebClient

from adapters.slack_app.runner import (
    API_TIMEOUT,
    SlackSetupError,
    api_url,
    check_app_token,
    check_bot_token,
)
from bot.config import Settings
from bot.ops.doctor import Check

BOT_FIX = "copy the Bot User OAuth Token (OAuth & Permissions) into TWINBOT_SLACK_BOT_TOKEN"
APP_FIX = "create an app-level token with connections:write and turn Socket Mode on"


async def checks(settings: Settings) -> list[Check]:
    """A check per token that is set; none when Slack is not configured."""
    bot_token = settings.slack_bot_token.get_secret_value() if settings.slack_bot_token else ""
    app_token = settings.slack_app_token.get_secret_value() if settings.slack_app_token else ""
    if not bot_token:
        return []
    url = api_url(settings)
    client = AsyncWebClient(token=bot_token, base_url=url, timeout=API_TIMEOUT)
    try:
        name = await check_bot_token(client, url)
    except SlackSetupError as exc:
        return [Check("slack bot token", False, str(exc), BOT_FIX)]
    found = [Check("slack bot token", True, f"accepted by {url}: the bot is @{name}")]
    if app_token:
        try:
            await check_app_token(client, app_token)
            found.append(Check("slack app token", True, "accepted: Socket Mode can connect"))
        except SlackSetupError as exc:
            found.append(Check("slack app token", False, str(exc), APP_FIX))
        except (aiohttp.ClientError, TimeoutError) as exc:
            found.append(Check("slack app token", False, f"cannot reach Slack: {exc!r}", APP_FIX))
    return found
