"""A bound on comparisons running against the model server, with a queue fair between users.

Past the bound, requests wait. Waiting users are served round robin (one request of each
user in turn, users in the order they first queued), not first come first served, so one
person typing `/compare` ten times cannot starve everyone else. Each waiter is told its
place whenever it changes.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
from collections import OrderedDict, deque
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

from bot.errors import TwinbotError

log = logging.getLogger(__name__)

PositionCallback = Callable[[int], Awaitable[None]]


class QueueFull(TwinbotError):
    kind = "queue_full"

    def __init__(self, waiting: int, retry_after: float) -> None:
        super().__init__(
            f"twinbot is busy: {waiting} comparisons are already waiting. "
            f"Try again in about {max(1, round(retry_after))} s."
        )
        self.retry_after = retry_after


@dataclass(eq=False)
class _Waiter:
    user: str
    on_position: PositionCallback | None
    ready: asyncio.Future[None] = field(
        default_factory=lambda: asyncio.get_running_loop().create_future()
    )
    position: int = -1


class FairQueue:
    def __init__(self, concurrency: int, max_waiting: int, typical_seconds: float = 30.0) -> None:
        if concurrency < 1:
            raise ValueError("concurrency must be at least 1")
        self.concurrency = concurrency
        self.max_waiting = max_waiting
        self.typical_seconds = typical_seconds  # for "try again in" estimates
        self.running = 0
        # One FIFO per user; the dict's order is the round-robin order.
        self._waiting: OrderedDict[str, deque[_Waiter]] = OrderedDict()
        self._notify_tasks: set[asyncio.Task[None]] = set()

    @property
    def waiting(self) -> int:
        return sum(len(queue) for queue in self._waiting.values())

    def _service_order(self) -> list[_Waiter]:
        """Who will be served next, in order: one of each user per round."""
        rounds = itertools.zip_longest(*self._waiting.values())
        return [waiter for round_ in rounds for waiter in round_ if waiter is not None]

    def refusal(self) -> QueueFull | None:
        """The refusal a new request would get now, so an adapter can answer before it posts."""
        if self.running < self.concurrency and not self._waiting:
            return None
        if self.waiting < self.max_waiting:
            return None
        rounds = (self.waiting + self.concurrency) / self.concurrency
        return QueueFull(self.waiting, rounds * self.typical_seconds)

    def reserve(
        self, user: str, on_position: PositionCallback | None = None, *, exempt: bool = False
    ) -> Place:
        """Take a place now, running or waiting, or raise `QueueFull`. Synchronous, so nothing
        can fill the queue between this decision and the platform's acknowledgement: a
        comparison admitted here is never refused later.

        `exempt` (an admin) is never refused for a full queue, but still waits its turn."""
        if self.running < self.concurrency and not self._waiting:
            self.running += 1
            return Place(self, None)
        refusal = None if exempt else self.refusal()
        if refusal is not None:
            raise refusal
        waiter = _Waiter(user, on_position)
        self._waiting.setdefault(user, deque()).append(waiter)
        self._announce_positions()
        return Place(self, waiter)

    @asynccontextmanager
    async def slot(
        self, user: str, on_position: PositionCallback | None = None, *, exempt: bool = False
    ) -> AsyncIterator[None]:
        """Hold one of the running places for the duration of the block."""
        async with self.reserve(user, on_position, exempt=exempt):
            yield

    def _remove(self, waiter: _Waiter) -> bool:
        queue = self._waiting.get(waiter.user)
        if queue is None or waiter not in queue:
            return False
        queue.remove(waiter)
        if not queue:
            del self._waiting[waiter.user]
        self._announce_positions()
        return True

    def _release(self) -> None:
        self.running -= 1
        while self.running < self.concurrency and self._waiting:
            user, queue = next(iter(self._waiting.items()))
            waiter = queue.popleft()
            # This user goes to the back of the rotation, or leaves it if nothing waits.
            del self._waiting[user]
            if queue:
                self._waiting[user] = queue
            if waiter.ready.done():
                continue
            self.running += 1
            waiter.ready.set_result(None)
        self._announce_positions()

    def _announce_positions(self) -> None:
        for ahead, waiter in enumerate(self._service_order()):
            if waiter.position != ahead and waiter.on_position is not None:
                waiter.position = ahead
                task = asyncio.get_running_loop().create_task(self._tell(waiter.on_position, ahead))
                self._notify_tasks.add(task)
                task.add_done_callback(self._notify_tasks.discard)

    @staticmethod
    async def _tell(callback: PositionCallback, ahead: int) -> None:
        try:
            await callback(ahead)
        except Exception:
            log.warning("telling a waiting user their place failed", exc_info=True)


class Place:
    """A reserved place: `async with place` waits for its turn, then holds it until the block
    ends. Leaving without entering (the comparison was dropped) gives the place back too."""

    def __init__(self, queue: FairQueue, waiter: _Waiter | None) -> None:
        self._queue = queue
        self._waiter = waiter
        self._state = "reserved"  # then "running", then "released"

    @property
    def waiting(self) -> bool:
        return self._waiter is not None and not self._waiter.ready.done()

    async def __aenter__(self) -> None:
        waiter = self._waiter
        if waiter is not None:
            try:
                await waiter.ready  # the releaser already counted us as running
            except asyncio.CancelledError:
                self._state = "released"
                if not self._queue._remove(waiter):
                    self._queue._release()  # cancelled just after admission: pass it on
                raise
        self._state = "running"

    async def __aexit__(self, *exc_info: object) -> None:
        self.release()

    def release(self) -> None:
        """Give the place back (idempotent): also for a place reserved but never entered."""
        if self._state == "released":
            return
        state, self._state = self._state, "released"
        waiter = self._waiter
        if state == "reserved" and waiter is not None and self._queue._remove(waiter):
            return  # still waiting: leaving the line frees nothing else
        self._queue._release()
