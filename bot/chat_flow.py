"""The chat-command flow every platform shares: admit or refuse a command, keep its work alive.

An adapter parses what the user typed, calls `admit` (validate, then the channel allowlist, then
the rate limit, in that order so a typo never costs a rate-limit token), acknowledges the
platform, and runs the comparison as a task held by a `TaskKeeper`. No platform imports here.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Collection, Coroutine
from dataclasses import dataclass
from typing import Any

from bot.catalog import Catalog
from bot.config import Settings
from bot.domain import CompareRequest, Requester
from bot.errors import InputError
from bot.inline_options import CompareArgs
from bot.limits import RateLimiter, refusal_message
from bot.requests import build_request

log = logging.getLogger(__name__)

CHANNEL_NOT_ALLOWED = (
    "twinbot does not run comparisons in this channel. "
    "Ask whoever runs it to allow this channel, or use one where it is enabled."
)


@dataclass(frozen=True, slots=True)
class Refusal:
    """Why a command was not run: `message` for the user, `reason` for the operator's log."""

    reason: str  # "bad_input", "channel" or "rate_limited"
    message: str


def channel_allowed(channel_id: str | None, allowed: Collection[str]) -> bool:
    """An empty allowlist allows every channel."""
    return not allowed or (channel_id is not None and channel_id in allowed)


def limiter_keys(requester: Requester) -> tuple[str, str, str]:
    """Rate-limit keys (user, channel, workspace): ids are only unique within a platform (and a
    Slack workspace). The user key also names the user's place in the fair queue."""
    scope = f"{requester.platform}:{requester.workspace_id or '-'}"
    return f"{scope}:{requester.user_id}", f"{scope}:{requester.channel_id or '-'}", scope


def admit(
    settings: Settings,
    catalog: Catalog,
    limiter: RateLimiter,
    requester: Requester,
    args: CompareArgs,
    *,
    allowed_channels: Collection[str],
    exempt: bool = False,
) -> CompareRequest | Refusal:
    """Validate, check the allowlist, then take a rate-limit token: a request or a refusal.

    `exempt` (an admin, as the platform decides) skips the rate limits, not the validation."""
    try:
        request = build_request(settings, catalog, requester, args.prompt, **args.request_options())
    except InputError as exc:
        return Refusal("bad_input", str(exc))
    if not channel_allowed(requester.channel_id, allowed_channels):
        return Refusal("channel", CHANNEL_NOT_ALLOWED)
    decision = limiter.check(*limiter_keys(requester), exempt=exempt)
    if not decision.allowed:
        return Refusal("rate_limited", refusal_message(decision))
    return request


def options_summary(request: CompareRequest) -> str:
    """One line naming everything that shaped both outputs (plain text, no markup)."""
    options = request.options
    parts = [
        f"pair {request.pair.name}",
        f"framing {request.framing.name}",
        f"max tokens {options.max_tokens}",
        f"temperature {options.temperature:g}",
    ]
    if options.seed is not None:
        parts.append(f"seed {options.seed}")
    return " · ".join(parts)


class TaskKeeper:
    """Background work started after an ack: held until done (asyncio keeps only weak
    references to tasks), failures logged, and everything cancelled together on shutdown."""

    def __init__(self) -> None:
        self._tasks: set[asyncio.Task[None]] = set()

    def __len__(self) -> int:
        return len(self._tasks)

    def spawn(self, work: Coroutine[Any, Any, None], *, name: str) -> asyncio.Task[None]:
        task = asyncio.create_task(work, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._done)
        return task

    def _done(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("background task %s failed", task.get_name(), exc_info=task.exception())

    async def wait(self) -> None:
        """Until every task started so far has ended (for tests and orderly shutdown)."""
        while self._tasks:
            await asyncio.wait(set(self._tasks))

    async def close(self, grace: float, cleanup: float = 5.0) -> None:
        """Give running tasks `grace` seconds to finish on their own, then cancel them and
        allow `cleanup` seconds more (a cancelled comparison still shows and stores what was
        written); whatever is still left after that is cancelled for good."""
        tasks = set(self._tasks)
        if not tasks:
            return
        if grace > 0:
            _, tasks = await asyncio.wait(tasks, timeout=grace)
        for task in tasks:
            task.cancel()
        if not tasks:
            return
        _, stuck = await asyncio.wait(tasks, timeout=cleanup)
        if stuck:
            log.warning(
                "%d background task(s) still busy after %g s; abandoning", len(stuck), cleanup
            )
            for task in stuck:
                task.cancel()
            await asyncio.wait(stuck)
