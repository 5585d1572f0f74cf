"""The per-channel pacer: writes spaced by the interval and never past the channel's budget."""

from __future__ import annotations

import asyncio
import itertools

import pytest

from adapters.discord_bot.pacing import ChannelBudget, Pacer, Pacers


async def _times(pacer: Pacer, count: int) -> list[float]:
    loop = asyncio.get_running_loop()
    times: list[float] = []

    async def write() -> None:
        await pacer.wait()
        times.append(loop.time())

    await asyncio.gather(*(write() for _ in range(count)))  # all at once: they queue
    return times


async def test_writes_are_spaced_by_the_interval() -> None:
    times = await _times(Pacer(0.05, ChannelBudget(limit=100, window=1.0)), 6)
    gaps = [b - a for a, b in itertools.pairwise(times)]
    assert len(times) == 6 and min(gaps) >= 0.049


async def test_no_window_holds_more_than_the_budget_less_one() -> None:
    budget = ChannelBudget(limit=5, window=0.5)
    times = await _times(Pacer(0.01, budget), 10)
    busiest = max(sum(1 for t in times if start <= t < start + budget.window) for start in times)
    assert busiest == budget.limit - 1
    assert times[4] - times[0] >= budget.window - 0.001  # the fifth waited for the window


async def test_a_pacer_per_channel() -> None:
    pacers = Pacers(0.5, max_channels=2)
    assert pacers.get("a") is pacers.get("a") and pacers.get("a") is not pacers.get("b")
    loop = asyncio.get_running_loop()
    start = loop.time()
    await pacers.get("a").wait()
    await pacers.get("b").wait()  # another channel: its own budget, no wait
    assert loop.time() - start < 0.2
    pacers.get("c")
    assert len(pacers) == 2  # the oldest idle one is forgotten


def test_a_budget_needs_room() -> None:
    with pytest.raises(ValueError, match="limit of at least 2"):
        ChannelBudget(limit=1)
    with pytest.raises(ValueError, match="interval must be positive"):
        Pacer(0)
