"""Pace message sends and edits per Discord channel, so a comparison never provokes a 429.

Discord gives each channel (a thread is its own channel) one budget of about 5 message writes
per 5 s, shared by creates and edits. discord.py tracks creates and edits as two buckets, so
left alone a send and an edit at once can overrun it, and a 429 stalls the whole channel
while discord.py sleeps it out. Every write twinbot makes to a channel first waits here, and
only then builds what it writes, so a write shows the newest state, never the state from
before its wait.
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict, deque
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class ChannelBudget:
    """Discord's per-channel write budget: `limit` writes per `window` seconds. twinbot keeps
    `limit` writes in any `window + margin`: the margin absorbs latency jitter (a write that
    reaches Discord faster than the one `limit` before it), at the cost of a write every
    5.25 s instead of every 5 s, where a whole spare write would cost one in five."""

    limit: int = 5
    window: float = 5.0
    margin: float = 0.25

    def __post_init__(self) -> None:
        if self.limit < 2 or self.window <= 0:
            raise ValueError("a channel budget needs a limit of at least 2 and a positive window")
        if self.margin < 0:
            raise ValueError("a channel budget's margin cannot be negative")

    @property
    def span(self) -> float:
        """No `limit + 1` writes start within this many seconds."""
        return self.window + self.margin


DISCORD_BUDGET = ChannelBudget()


class Pacer:
    """Writes to one channel, one at a time, never more than `budget.limit` in `budget.span`.

    Writes are spread evenly over what the budget has left, so no write waits much longer than
    the others (a burst followed by a long pause is what makes text look late), and at least
    `interval` apart. An urgent write (the first text of a comparison) skips the spreading and
    the interval, never the budget.
    """

    def __init__(self, interval: float, budget: ChannelBudget = DISCORD_BUDGET) -> None:
        if interval <= 0:
            raise ValueError("interval must be positive")
        self.interval = interval
        self.budget = budget
        self._recent: deque[float] = deque(maxlen=budget.limit)
        self._lock = asyncio.Lock()

    @property
    def busy(self) -> bool:
        return self._lock.locked()

    async def wait(self, *, urgent: bool = False) -> None:
        """Return when the next write may start; the caller then makes exactly one write, built
        from its newest state (not from the state it had when it began waiting)."""
        async with self._lock:
            loop = asyncio.get_running_loop()
            delay = self._earliest(loop.time(), urgent) - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
            self._recent.append(loop.time())

    def _earliest(self, now: float, urgent: bool) -> float:
        span = self.budget.span
        live = [t for t in self._recent if t > now - span]  # the writes that still count
        if not live:
            return now
        if len(live) == self.budget.limit:
            earliest = live[0] + span
        else:
            left = self.budget.limit - len(live)  # writes allowed before the oldest expires
            earliest = live[-1] + (live[0] + span - live[-1]) / (left + 1)
        if urgent:
            return max(now, live[0] + span) if len(live) == self.budget.limit else now
        return max(now, earliest, live[-1] + self.interval)


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
