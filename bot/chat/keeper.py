"""Background work that outlives a platform's acknowledgement, and the door new work comes in by."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine, Iterator
from contextlib import contextmanager
from typing import Any

log = logging.getLogger(__name__)


class TaskKeeper:
    """Work started after an ack: held until done (asyncio keeps only weak references to
    tasks), failures logged, and everything cancelled together on shutdown."""

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


class Intake:
    """Whether new commands are taken (not while shutting down), and which comparisons still
    wait for their place (cancelled at once on shutdown: they never started)."""

    def __init__(self) -> None:
        self.open = True
        self._waiting: set[asyncio.Task[Any]] = set()

    @contextmanager
    def waiting_for_a_place(self) -> Iterator[None]:
        """Around the wait for a place: the current task may be cancelled by `close`."""
        task = asyncio.current_task()
        if task is not None:
            self._waiting.add(task)
        try:
            yield
        finally:
            if task is not None:
                self._waiting.discard(task)

    def close(self) -> int:
        """Take no more commands; cancel what still waits for a place. How many were."""
        self.open = False
        waiting = list(self._waiting)
        for task in waiting:
            task.cancel()
        return len(waiting)
