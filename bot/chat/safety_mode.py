"""Which safety mode a channel uses: an admin's choice, else the default for its kind.

Read before the acknowledgement, so it must be quick: a database that cannot answer in time
fails closed to `withhold` for that comparison (an unreadable setting must not show what a
channel chose to hide).
"""

from __future__ import annotations

import asyncio
import logging

from bot.config import Settings
from bot.domain import SafetyMode
from bot.store.sqlite import Store

log = logging.getLogger(__name__)

READ_WITHIN = 1.0  # seconds; the platform's 3 s acknowledgement waits on this
FAIL_CLOSED = SafetyMode.WITHHOLD


def default_mode(settings: Settings, nsfw: bool) -> SafetyMode:
    return settings.safety_nsfw_default if nsfw else settings.safety_default


async def channel_mode(
    store: Store, settings: Settings, platform: str, channel_id: str, *, nsfw: bool = False
) -> tuple[SafetyMode, bool]:
    """The mode for a channel, and whether an admin chose it (else a default)."""
    try:
        async with asyncio.timeout(READ_WITHIN):
            stored = await store.channel_safety_mode(platform, channel_id)
    except Exception as exc:
        log.error(
            "reading the safety mode of %s channel %s failed (%r); withholding flagged output",
            platform,
            channel_id,
            exc,
        )
        return FAIL_CLOSED, False
    return (stored, True) if stored is not None else (default_mode(settings, nsfw), False)
