"""Telling a user whose comparison waits for a free place where it stands.

One ephemeral message (only they see it), posted through the command's response_url and
replaced as the place changes. A response_url takes five posts in all, so the place is
updated at most `MAX_PLACE_POSTS` times, at least `interval` seconds apart (the latest place
wins), then replaced once more when the comparison starts; one post stays free for an error.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

log = logging.getLogger(__name__)

MAX_PLACE_POSTS = 3
PLACE_INTERVAL = 5.0  # seconds between two updates of one user's place

# (escaped text, replace the message posted before?) -> whether Slack took it
Send = Callable[[str, bool], Awaitable[bool]]


def place_text(ahead: int) -> str:
    where = "you are next" if ahead == 0 else f"{ahead} ahead of you"
    return (
        f":hourglass_flowing_sand: twinbot is busy, so your comparison waits for a free place: "
        f"*{where}*. It starts by itself; this message follows its place."
    )


STARTING_TEXT = ":arrow_forward: Your turn: the comparison is starting."


class PlaceNotice:
    """The `on_position` callback of `FairQueue.slot`, and the message it keeps up to date."""

    def __init__(self, send: Send, interval: float = PLACE_INTERVAL) -> None:
        self._send = send
        self._interval = interval
        self._latest: int | None = None
        self._shown: int | None = None
        self._posts = 0
        self._last_post = -float("inf")
        self._lock = asyncio.Lock()  # one post at a time, in order
        self._ended = asyncio.Event()  # the wait is over: stop following the place

    @property
    def told(self) -> bool:
        """Whether the user was (or is being) shown a place, and so should hear the end."""
        return self._posts > 0 or self._lock.locked()

    async def on_position(self, ahead: int) -> None:
        # The queue calls this from a task per change; several may overlap. Each records the
        # latest place; whoever holds the lock sends it, paced.
        self._latest = ahead
        if self._lock.locked():
            return
        async with self._lock:
            loop = asyncio.get_running_loop()
            while not self._ended.is_set() and self._latest != self._shown:
                if self._posts >= MAX_PLACE_POSTS:
                    return
                pause = self._last_post + self._interval - loop.time()
                if pause > 0:
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self._ended.wait(), pause)
                if self._ended.is_set() or self._latest is None:
                    return
                ahead = self._latest
                sent = await self._send(place_text(ahead), self._posts > 0)
                self._posts += 1
                self._last_post = loop.time()
                if not sent:
                    self._ended.set()  # the response_url is gone: stop trying
                    return
                self._shown = ahead

    async def finish(self, text: str) -> None:
        """Replace the place message (if there is one) with `text`, and stop following."""
        self._ended.set()
        async with self._lock:
            if self._posts > 0:
                await self._send(text, True)
