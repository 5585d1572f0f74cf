"""The bound on comparisons running at once, as the Discord front end meets it.

Before acknowledging `/compare`, twinbot asks whether the core's fair queue would refuse the
comparison (more than TWINBOT_MAX_WAITING waiting already, `FairQueue.refusal`): then the
refusal is a private reply saying when to try again, and nothing is posted. The run still
handles `QueueFull`, for a queue that filled up during the acknowledgement.

`Intake` is whether new commands are taken at all (not while shutting down), and which
comparisons still wait for their place (cancelled at once on shutdown: they never started).
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager

from bot.queue import FairQueue

RESTARTING = "twinbot is restarting and takes no new comparisons right now. Try again in a minute."
NOT_STARTED_RESTART = "⏹️ twinbot restarted before this comparison's turn, so it did not run."


def must_wait(queue: FairQueue) -> bool:
    """Whether a comparison asking now would wait for a place (as `FairQueue.slot` decides)."""
    return not (queue.running < queue.concurrency and not queue.waiting)


class Intake:
    def __init__(self) -> None:
        self.open = True
        self._waiting: set[asyncio.Task[object]] = set()

    @property
    def waiting(self) -> int:
        return len(self._waiting)

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
