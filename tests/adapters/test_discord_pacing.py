"""The per-channel pacer: writes spaced by the interval, spread over the budget, never past it."""

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


async def test_no_span_holds_more_than_the_budget() -> None:
    budget = ChannelBudget(limit=5, window=0.5, margin=0.1)
    times = await _times(Pacer(0.01, budget), 12)
    busiest = max(sum(1 for t in times if start <= t < start + budget.span) for start in times)
    assert busiest == budget.limit
    # The sixth write waited until the first left the window and its margin.
    assert all(b - a >= budget.span - 0.001 for a, b in zip(times, times[5:], strict=False))


async def test_writes_are_spread_over_what_the_budget_has_left() -> None:
    """No burst then a long pause: with 5 writes per 0.5 s, writes come every 0.1 s."""
    budget = ChannelBudget(limit=5, window=0.5, margin=0.0)
    times = await _times(Pacer(0.01, budget), 8)
    gaps = [b - a for a, b in itertools.pairwise(times)]
    assert min(gaps) >= 0.09  # (a loaded machine may wake a write a little off its slot)


async def test_an_urgent_write_skips_the_spacing_but_never_the_budget() -> None:
    loop = asyncio.get_running_loop()
    pacer = Pacer(30.0, ChannelBudget(limit=2, window=0.3, margin=0.0))
    await pacer.wait()
    first = loop.time()
    await pacer.wait(urgent=True)  # the 30 s interval does not apply
    second = loop.time()
    await pacer.wait(urgent=True)  # the budget does: 2 per 0.3 s
    third = loop.time()
    assert second - first < 30.0 and third - first >= 0.3 - 0.001


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
    with pytest.raises(ValueError, match="margin cannot be negative"):
        ChannelBudget(margin=-1.0)
    with pytest.raises(ValueError, match="interval must be positive"):
        Pacer(0)
