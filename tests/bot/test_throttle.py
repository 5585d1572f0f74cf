"""The throttle draws the latest state, never more than once per interval."""

from __future__ import annotations

import asyncio

import pytest

from bot.engine.throttle import Throttle


async def test_changes_within_an_interval_become_one_render():
    throttle = Throttle(0.2)
    state = {"text": ""}
    drawn: list[str] = []

    async def render() -> None:
        drawn.append(state["text"])

    task = asyncio.create_task(throttle.run(render))
    for letter in "abcdefghij":
        state["text"] += letter
        throttle.poke()
        await asyncio.sleep(0.01)
    await asyncio.sleep(0.3)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task

    # The first change draws at once; the rest, arriving inside the interval, coalesce.
    assert drawn[0] == "a"
    assert drawn[-1] == "abcdefghij"
    assert len(drawn) == 2
    assert throttle.lag.renders == 2
    assert throttle.lag.max_lag <= 0.2 + 0.1


async def test_nothing_is_drawn_without_a_change():
    throttle = Throttle(0.01)
    calls = 0

    async def render() -> None:
        nonlocal calls
        calls += 1

    task = asyncio.create_task(throttle.run(render))
    await asyncio.sleep(0.1)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert calls == 0


def test_interval_must_be_positive():
    with pytest.raises(ValueError):
        Throttle(0)
