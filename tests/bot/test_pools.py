"""Connections to the model server follow the queue bound, and the metrics say what waits."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from bot.config import Settings
from bot.domain import Role
from bot.engine.backend import OllamaBackend, Timeouts
from bot.engine.pools import guard_connections, stream_connections
from bot.ops.metrics import Metrics
from bot.runtime import make_backend, open_runtime
from tests.conftest import SMALL_PAIR
from tests.fakes.ollama_fake import OllamaFake, Script
from tests.waiting import wait_until

BASE, INSTRUCT = SMALL_PAIR


def _slow(ollama: OllamaFake) -> None:
    for model in SMALL_PAIR:
        ollama.script(model, Script(tokens=["a", "b", "c"], delay=0.4))


def _gauge(metrics: Metrics, name: str, server: str) -> float:
    value = metrics.registry.get_sample_value(name, {"server": server})
    assert value is not None, name
    return value


async def test_every_running_comparison_streams_at_once(
    make_settings: Callable[..., Settings], ollama: OllamaFake, make_request: Callable[..., Any]
) -> None:
    """60 comparisons running: 120 streams open together (httpx's default pool holds 100)."""
    _slow(ollama)
    backend = make_backend(make_settings(ollama_host=ollama.url, max_running=60))
    request = make_request("hi")
    try:
        sides = [
            asyncio.create_task(backend.run_side(role, request, lambda _t: None))
            for _ in range(60)
            for role in Role
        ]
        await wait_until(lambda: ollama.active_streams == 120, within=10)
        [state] = [p for p in backend.pools() if p.server == "ollama"]
        assert (state.open, state.waiting) == (120, 0)
        await asyncio.gather(*sides)
    finally:
        await backend.close()
    assert ollama.peak_streams == 120
    assert backend.ollama.pool().in_flight == 0  # every finished stream gave its place back


async def test_metrics_tell_requests_waiting_for_a_connection(
    ollama: OllamaFake, make_request: Callable[..., Any]
) -> None:
    _slow(ollama)
    backend = OllamaBackend(ollama.url, Timeouts(2.0, 5.0, 10.0), connections=2)
    metrics = Metrics()
    metrics.watch_connections(lambda: [backend.pool()])
    request = make_request("hi")
    try:
        sides = [
            asyncio.create_task(backend.run_side(Role.BASE, request, lambda _t: None))
            for _ in range(5)
        ]
        await wait_until(lambda: backend.pool().in_flight == 5 and ollama.active_streams == 2)
        assert _gauge(metrics, "twinbot_model_requests_open", "ollama") == 2
        assert _gauge(metrics, "twinbot_model_requests_waiting_for_connection", "ollama") == 3
        assert _gauge(metrics, "twinbot_model_connection_pool_size", "ollama") == 2
        await asyncio.gather(*sides)
    finally:
        await backend.close()
    assert ollama.peak_streams == 2  # the pool is what held them back
    assert _gauge(metrics, "twinbot_model_requests_open", "ollama") == 0
    assert _gauge(metrics, "twinbot_model_requests_waiting_for_connection", "ollama") == 0


async def test_the_pools_follow_the_queue_bound(
    make_settings: Callable[..., Settings], ollama: OllamaFake
) -> None:
    async with open_runtime(make_settings(ollama_host=ollama.url, max_running=7)) as runtime:
        size = "twinbot_model_connection_pool_size"
        assert _gauge(runtime.metrics, size, "ollama") == stream_connections(7) == 18
        assert _gauge(runtime.metrics, size, "guard") == guard_connections(7) == 25
        assert (
            _gauge(runtime.metrics, "twinbot_model_requests_waiting_for_connection", "guard") == 0
        )
