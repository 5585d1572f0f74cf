"""Which safety mode a channel uses (an admin's choice, else the default for its kind), and an
admin's change of it, the same on every platform.

Read before the acknowledgement, so it must be quick: a database that cannot answer in time
fails closed to `withhold` for that comparison (an unreadable setting must not show what a
channel chose to hide). A change is stored, then checked against the guard model: a mode that
needs the guard while the guard is not pulled would mark every output unchecked, and the admin
should hear that at once.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass

from bot.config import Settings
from bot.domain import SafetyMode
from bot.engine.backend import canonical_tag
from bot.runtime import Runtime
from bot.store.sqlite import Store

log = logging.getLogger(__name__)

READ_WITHIN = 1.0  # seconds; the platform's 3 s acknowledgement waits on this
FAIL_CLOSED = SafetyMode.WITHHOLD
GUARD_CHECK_WITHIN = 1.0  # seconds; Discord answers /safety inside its 3 s window


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


@dataclass(frozen=True, slots=True)
class ModeChanged:
    mode: SafetyMode
    guard_problem: str | None  # why the guard cannot check outputs now, when it cannot


async def change_mode(
    runtime: Runtime, platform: str, channel_id: str, mode: SafetyMode, admin_id: str
) -> ModeChanged:
    """Store an admin's choice (a StoreError if it cannot be) and say whether the guard that
    the mode relies on can work."""
    await runtime.store.set_channel_safety_mode(platform, channel_id, mode, admin_id)
    log.info("safety mode of %s channel %s set to %s by %s", platform, channel_id, mode, admin_id)
    problem = None if mode is SafetyMode.OFF else await guard_problem(runtime)
    return ModeChanged(mode, problem)


async def guard_problem(runtime: Runtime) -> str | None:
    """None when the guard model is pulled, else what the admin should know."""
    model = runtime.settings.guard_model
    try:
        async with asyncio.timeout(GUARD_CHECK_WITHIN):
            pulled = canonical_tag(model) in await runtime.backend.list_models()
    except TimeoutError:
        log.warning("the model server did not list its models within %s s", GUARD_CHECK_WITHIN)
        return f"twinbot could not check that the guard model `{model}` is ready (no answer)."
    except Exception as exc:
        log.warning("could not list the models to check the guard %s: %r", model, exc)
        return f"twinbot could not check that the guard model `{model}` is ready ({exc})."
    if pulled:
        return None
    return (
        f"the guard model `{model}` is not pulled, so no output can be checked (label marks "
        f"them unchecked; spoiler and withhold hide them) until an operator runs "
        f"`ollama pull {model}`."
    )
