"""/healthz and /metrics over real HTTP, against the fake Ollama and a real SQLite store."""

from __future__ import annotations

import logging

import aiohttp
import pytest

from bot.engine.backend import OllamaBackend, Timeouts
from bot.engine.compare import CompareService
from bot.ops.metrics import Metrics
from bot.ops.server import OpsServer, core_checks, ops_app
from bot.store.sqlite import Store
from tests.bot.test_compare import RecordingView
from tests.conftest import SMALL_PAIR
from tests.fakes.ollama_fake import OllamaFake, Script


@pytest.fixture
async def backend(ollama: OllamaFake):
    client = OllamaBackend(ollama.url, Timeouts(connect=2.0, first_token=2.0, total=5.0))
    yield client
    await client.close()


async def serve(checks, metrics: Metrics):
    server = OpsServer(ops_app(checks, metrics), "127.0.0.1", 0)
    await server.start()
    return server


async def get(url: str) -> tuple[int, str, str]:
    async with aiohttp.ClientSession() as session, session.get(url) as response:
        return response.status, response.headers["Content-Type"], await response.text()


async def test_healthz_is_ok_when_every_part_works(backend, store: Store, catalog):
    connected = True

    async def platform() -> str:
        if not connected:
            raise RuntimeError("gateway disconnected")
        return "connected"

    checks = {**core_checks(backend, store, catalog, ["llama3.2-1b"]), "discord": platform}
    server = await serve(checks, Metrics())
    try:
        status, kind, body = await get(server.url + "/healthz")
        assert status == 200 and kind.startswith("application/json")
        assert '"status": "ok"' in body and '"discord": {"ok": true' in body
        connected = False
        status, _, body = await get(server.url + "/healthz")
        assert status == 503 and "gateway disconnected" in body
    finally:
        await server.stop()


async def test_healthz_names_a_missing_model_and_a_down_ollama(
    ollama: OllamaFake, backend, store, catalog
):
    ollama.models.discard(SMALL_PAIR[1])
    server = await serve(core_checks(backend, store, catalog, ["llama3.2-1b"]), Metrics())
    try:
        status, _, body = await get(server.url + "/healthz")
        assert status == 503 and f"not pulled: {SMALL_PAIR[1]}" in body
    finally:
        await server.stop()
    down = OllamaBackend("http://127.0.0.1:1", Timeouts(connect=1.0, first_token=1.0, total=2.0))
    server = await serve(core_checks(down, store, catalog, ["llama3.2-1b"]), Metrics())
    try:
        status, _, body = await get(server.url + "/healthz")
        assert status == 503 and "Cannot reach Ollama" in body and '"database": {"ok": true' in body
    finally:
        await server.stop()
        await down.close()


async def test_metrics_count_comparisons_latency_and_errors(
    ollama: OllamaFake, backend, store, make_request
):
    metrics = Metrics()
    metrics.watch_queue(lambda: 3, lambda: 1)
    ollama.models.discard(SMALL_PAIR[0])
    ollama.script(SMALL_PAIR[1], Script(tokens=["ok"]))
    await CompareService(backend, store, metrics).run(make_request(), RecordingView())
    server = await serve({}, metrics)
    try:
        status, kind, body = await get(server.url + "/metrics")
    finally:
        await server.stop()
    assert status == 200 and kind.startswith("text/plain")
    assert 'twinbot_comparisons_total{platform="test",status="done"} 1.0' in body
    assert 'twinbot_errors_total{kind="model_not_pulled"} 1.0' in body
    assert f'twinbot_first_token_seconds_count{{model="{SMALL_PAIR[1]}"}} 1.0' in body
    assert "twinbot_queue_waiting 3.0" in body and "twinbot_queue_running 1.0" in body


async def test_probes_log_at_debug_other_requests_at_info(caplog: pytest.LogCaptureFixture):
    async def ok() -> str:
        return "fine"

    server = await serve({"part": ok}, Metrics())
    try:
        with caplog.at_level(logging.DEBUG, logger="aiohttp.access"):
            for path in ("/healthz", "/metrics", "/nothing-here"):
                await get_status(server.url + path)
    finally:
        await server.stop()
    lines = [(r.levelno, r.getMessage()) for r in caplog.records if r.name == "aiohttp.access"]
    assert {(level, message.split('"')[1]) for level, message in lines} == {
        (logging.DEBUG, "GET /healthz"),
        (logging.DEBUG, "GET /metrics"),
        (logging.INFO, "GET /nothing-here"),
    }
    assert any('"GET /healthz" 200 ' in message for _, message in lines)


async def get_status(url: str) -> int:
    async with aiohttp.ClientSession() as session, session.get(url) as response:
        await response.read()
        return response.status
