"""When the next call of a Tier-limited Web API method may start, for one workspace.

Slack counts Tier 3 methods (chat.update, reactions.add: about 50 a minute) per method and
workspace. A `TierClock` keeps one such budget: calls start at least `window / calls` apart,
never more than `calls` are answered within any `window` (counted from when each answer
arrived, so network jitter cannot squeeze in an extra one), and a 429 pauses everything for
its `Retry-After`. The caller makes one call at a time: `await ready()`, call, `answered()`.
"""

from __future__ import annotations

import asyncio
import math
from collections import deque
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Budget:
    """At most `calls` calls in any `window` seconds."""

    calls: int
    window: float = 60.0

    def __post_init__(self) -> None:
        if self.calls < 1 or self.window <= 0:
            raise ValueError("a budget needs at least one call in a positive window")

    @property
    def spacing(self) -> float:
        return self.window / self.calls


class TierClock:
    def __init__(self, budget: Budget) -> None:
        self.budget = budget
        self._last_start = -math.inf
        self._answered: deque[float] = deque(maxlen=budget.calls)
        self._paused_until = 0.0

    async def ready(self) -> None:
        """Until a call may start now; marks it started."""
        loop = asyncio.get_running_loop()
        while True:
            ready = max(self._last_start + self.budget.spacing, self._paused_until)
            if len(self._answered) == self.budget.calls:
                ready = max(ready, self._answered[0] + self.budget.window)
            delay = ready - loop.time()
            if delay <= 0:
                self._last_start = loop.time()
                return
            await asyncio.sleep(delay)

    def answered(self) -> None:
        """The call started by the last `ready()` has its answer (whatever it was)."""
        self._answered.append(asyncio.get_running_loop().time())

    def pause(self, seconds: float) -> None:
        """No call starts for `seconds` (a 429's Retry-After, or a backoff)."""
        until = asyncio.get_running_loop().time() + seconds
        self._paused_until = max(self._paused_until, until)
