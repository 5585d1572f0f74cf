"""Pace message sends and edits per Discord channel, so a comparison never provokes a 429.

Discord gives each channel (a thread is its own channel) one budget of about 5 message writes
per 5 s, shared by creates and edits. discord.py tracks creates and edits as two buckets, so
left alone a send and an edit at once can overrun it, and a 429 stalls the whole channel
while discord.py sleeps it out. Every write twinbot makes to a channel first waits here.
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict, deque
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class ChannelBudget:
    """Discord's per-channel write budget: `limit` writes per `window` seconds."""

    limit: int = 5
    window: float = 5.0

    def __post_init__(self) -> None:
        if self.limit < 2 or self.window <= 0:
            raise ValueError("a channel budget needs a limit of at least 2 and a positive window")


DISCORD_BUDGET = ChannelBudget()


class Pacer:
    """Writes to one channel, one at a time: at least `interval` apart, and at most
    `budget.limit - 1` in any `budget.window` (one write spare for network jitter)."""

    def __init__(self, interval: float, budget: ChannelBudget = DISCORD_BUDGET) -> None:
        if interval <= 0:
            raise ValueError("interval must be positive")
        self.interval = interval
        self.window = budget.window
        self._recent: deque[float] = deque(maxlen=budget.limit - 1)
        self._lock = asyncio.Lock()

    @property
    def busy(self) -> bool:
        return self._lock.locked()

    async def wait(self) -> None:
        """Return when the next write may start; the caller then makes exactly one write."""
        async with self._lock:
            loop = asyncio.get_running_loop()
            delay = 0.0
            if self._recent:
                delay = self._recent[-1] + self.interval - loop.time()
            if len(self._recent) == self._recent.maxlen:
                delay = max(delay, self._recent[0] + self.window - loop.time())
            if delay > 0:
                await asyncio.sleep(delay)
            self._recent.append(loop.time())


class Pacers:
    """One pacer per channel key, created on first use; bounded, forgetting idle ones first."""

    def __init__(
        self, interval: float, budget: ChannelBudget = DISCORD_BUDGET, max_channels: int = 1024
    ) -> None:
        self.interval = interval
        self.budget = budget
        self._max = max_channels
        self._pacers: OrderedDict[str, Pacer] = OrderedDict()

    def __len__(self) -> int:
        return len(self._pacers)

    def get(self, key: str) -> Pacer:
        pacer = self._pacers.get(key)
        if pacer is None:
            pacer = self._pacers[key] = Pacer(self.interval, self.budget)
            self._forget_idle()
        self._pacers.move_to_end(key)
        return pacer

    def _forget_idle(self) -> None:
        # A forgotten pacer's history is older than any busy one's: the oldest idle goes first.
        for key in list(self._pacers):
            if len(self._pacers) <= self._max:
                return
            if not self._pacers[key].busy:
                del self._pacers[key]
