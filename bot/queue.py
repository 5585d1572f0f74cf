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

    @asynccontextmanager
    async def slot(
        self, user: str, on_position: PositionCallback | None = None, *, exempt: bool = False
    ) -> AsyncIterator[None]:
        """Hold one of the running places for the duration of the block.

        `exempt` (an admin) is never refused for a full queue, but still waits its turn."""
        if self.running < self.concurrency and not self._waiting:
            self.running += 1
        else:
            refusal = None if exempt else self.refusal()
            if refusal is not None:
                raise refusal
            waiter = _Waiter(user, on_position)
            self._waiting.setdefault(user, deque()).append(waiter)
            self._announce_positions()
            try:
                await waiter.ready  # the releaser already counted us as running
            except asyncio.CancelledError:
                if not self._remove(waiter):
                    self._release()  # cancelled just after being admitted: pass the place on
                raise
        try:
            yield
        finally:
            self._release()

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
