"""One comparison's writes to the store, in order, each tried again until it lands.

A database that is locked (another program holds it past the busy timeout) or full must not
lose a comparison or leave it `running`: the comparison goes on, shown, while its journal keeps
trying: first the comparison itself, then each output, message and the final status, in the
order they were written. Writes are given up only when the process stops (the shutdown grace
ends) or after `patience` seconds; each one given up is logged with what was lost.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import itertools
import logging
from collections import deque
from collections.abc import Awaitable, Callable

from bot.domain import CompareRequest
from bot.store.sqlite import Store, StoreError

log = logging.getLogger(__name__)

Write = Callable[[int], Awaitable[None]]  # given the comparison's id
BACKOFF = (0.2, 0.5, 1.0, 2.0, 5.0, 10.0)  # seconds between attempts, the last one repeated
PATIENCE = 600.0  # seconds a write is retried while the process is not stopping


class Lifetime:
    """Until when work may go on: open-ended while running, the shutdown's end once it began.
    Shared by everything that retries (store writes, final texts)."""

    def __init__(self) -> None:
        self._stop_by: float | None = None

    def stop_by(self, when: float) -> None:
        """Shutdown began: nothing may go on past `when` (loop time)."""
        self._stop_by = when if self._stop_by is None else min(self._stop_by, when)

    @property
    def stopping(self) -> bool:
        return self._stop_by is not None

    def deadline(self, patience: float = PATIENCE) -> float:
        limit = asyncio.get_running_loop().time() + patience
        return limit if self._stop_by is None else min(limit, self._stop_by)


class Journal:
    def __init__(self, store: Store, request: CompareRequest, lifetime: Lifetime) -> None:
        self._store = store
        self._request = request
        self._lifetime = lifetime
        self.comparison_id = 0  # 0 until the comparison is stored
        self.delayed = False  # a write had to wait: the user is told it is not saved yet
        self.lost: list[str] = []  # writes given up for good
        self.reason = ""  # why the last write had to wait, in words a user may read
        self._pending: deque[tuple[str, Write]] = deque()
        self._worker: asyncio.Task[None] | None = None
        self._tried = asyncio.Event()  # the first attempt to store the comparison ended

    async def open(self, wait: float) -> int:
        """Store the comparison; if the database does not take it within `wait` seconds, go on
        without its id (0) while the journal keeps trying in the background."""
        self._worker = asyncio.create_task(self._run(), name="store a comparison")
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(wait):
                await self._tried.wait()
        if not self.comparison_id:
            self.delayed = True
        return self.comparison_id

    def write(self, what: str, write: Write) -> None:
        """Queue `write` after everything queued before it (never waits)."""
        self._pending.append((what, write))
        if self._worker is None or self._worker.done():
            self._worker = asyncio.create_task(self._run(), name="store a comparison's writes")

    async def settle(self) -> bool:
        """Until every write queued so far has landed or was given up; True if all landed."""
        while self._worker is not None and not self._worker.done():
            await asyncio.shield(self._worker)
        return not self.lost

    async def _run(self) -> None:
        if not self.comparison_id:
            created = await self._attempt("the comparison", self._create)
            if not created:
                self.lost += [what for what, _ in self._pending]
                self._pending.clear()
                return
        while self._pending:
            what, write = self._pending.popleft()
            await self._attempt(what, functools.partial(self._with_id, write))

    async def _with_id(self, write: Write) -> None:
        await write(self.comparison_id)

    async def _create(self) -> None:
        try:
            self.comparison_id = await self._store.create_comparison(self._request)
        finally:
            self._tried.set()

    async def _attempt(self, what: str, write: Callable[[], Awaitable[None]]) -> bool:
        deadline = self._lifetime.deadline()
        loop = asyncio.get_running_loop()
        for attempt in itertools.count(1):
            try:
                await write()
                if attempt > 1:
                    log.info("comparison #%d: %s stored after %d attempts",
                             self.comparison_id, what, attempt)  # fmt: skip
                return True
            except StoreError as exc:
                self.delayed, self.reason = True, exc.reason
                pause = BACKOFF[min(attempt, len(BACKOFF)) - 1]
                deadline = min(deadline, self._lifetime.deadline())
                if loop.time() + pause > deadline:
                    log.error("comparison #%d: %s was NOT stored (%d attempts): %s",
                              self.comparison_id, what, attempt, exc)  # fmt: skip
                    break
                log.warning("comparison #%d: storing %s failed (%s); again in %g s",
                            self.comparison_id, what, exc, pause)  # fmt: skip
                await asyncio.sleep(pause)
            except Exception:
                log.exception("comparison #%d: storing %s failed", self.comparison_id, what)
                break
        self.lost.append(what)
        return False
