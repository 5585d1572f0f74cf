"""`twinbot doctor`'s Discord check: is TWINBOT_DISCORD_TOKEN one Discord accepts?

discord.py's own login call (`GET /users/@me` with the bot token), so the check sees what
`twinbot run discord` will see, against the same REST base.
"""

from __future__ import annotations

import asyncio

import aiohttp
import discord

from bot.config import Settings
from bot.ops.doctor import Check

CHECK_TIMEOUT = 15.0  # seconds: discord.py retries a refused connection a few times itself
NAME = "discord token"


async def checks(settings: Settings) -> list[Check]:
    """One check when the token is set; none when Discord is not configured."""
    token = settings.discord_token.get_secret_value().strip() if settings.discord_token else ""
    if not token:
        return []
    http = discord.http.HTTPClient(asyncio.get_running_loop())
    try:
        me = await asyncio.wait_for(http.static_login(token), CHECK_TIMEOUT)
    except discord.LoginFailure:
        return [
            Check(
                NAME,
                False,
                "Discord rejected TWINBOT_DISCORD_TOKEN (401)",
                "reset the token on the Bot tab of the developer portal and set the new one",
            )
        ]
    except discord.HTTPException as exc:
        return [Check(NAME, False, f"Discord answered {exc.status}: {exc.text}", "try again later")]
    except (aiohttp.ClientError, OSError, TimeoutError) as exc:
        where = discord.http.Route.BASE
        return [
            Check(NAME, False, f"cannot reach Discord at {where}: {exc!r}", "check the network")
        ]
    finally:
        await http.close()
    return [Check(NAME, True, f"accepted: logged in as {me['username']} (id {me['id']})")]
