"""Coalesce a stream of changes into renders at most once per interval; the latest state wins."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

log = logging.getLogger(__name__)


@dataclass(slots=True)
class LagStats:
    """How long a change waited before a render picked it up (seconds)."""

    renders: int = 0
    max_lag: float = 0.0
    total_lag: float = 0.0

    @property
    def mean_lag(self) -> float:
        return self.total_lag / self.renders if self.renders else 0.0


class Throttle:
    """`poke()` says "something changed"; `run(render)` calls render no more than once per interval.

    Render reads the current state itself, so frames that were overtaken are never drawn:
    nothing queues, and a slow render only makes the next frame later, never staler.
    """

    def __init__(self, interval: float) -> None:
        if interval <= 0:
            raise ValueError("interval must be positive")
        self.interval = interval
        self.lag = LagStats()
        self._changed = asyncio.Event()
        self._oldest_change: float | None = None

    def poke(self) -> None:
        if self._oldest_change is None:
            self._oldest_change = asyncio.get_running_loop().time()
        self._changed.set()

    async def run(self, render: Callable[[], Awaitable[None]]) -> None:
        loop = asyncio.get_running_loop()
        while True:
            await self._changed.wait()
            self._changed.clear()
            started = loop.time()
            if self._oldest_change is not None:
                waited = started - self._oldest_change
                self.lag.max_lag = max(self.lag.max_lag, waited)
                self.lag.total_lag += waited
                self.lag.renders += 1
                self._oldest_change = None
            try:
                await render()
            except asyncio.CancelledError:
                raise
            except Exception:
                # A failed frame is not fatal: the next one carries the same text and more.
                log.exception("a live update failed; the next frame will retry")
            await asyncio.sleep(max(0.0, self.interval - (loop.time() - started)))
