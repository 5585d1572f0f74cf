"""Everything a front end needs, built once from the settings and closed together."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass

from bot.chat.queue import FairQueue
from bot.config import Settings
from bot.engine.backend import Backend, OllamaBackend, Timeouts
from bot.engine.catalog import Catalog, load_catalog
from bot.engine.compare import CompareService
from bot.engine.pools import guard_connections, stream_connections
from bot.engine.routing import RoutingBackend
from bot.ops.metrics import Metrics
from bot.safety.guard import Guard
from bot.store.database_file import database_file
from bot.store.sqlite import Store
from bot.votes.mapping import Vocabulary


@dataclass(slots=True)
class Runtime:
    settings: Settings
    catalog: Catalog
    backend: Backend
    store: Store
    service: CompareService
    metrics: Metrics
    # Shared by every platform the process serves: the bound is on the model server.
    queue: FairQueue
    guard: Guard  # the safety gate's judge, for channels whose mode is not off


def make_backend(settings: Settings, catalog: Catalog | None = None) -> RoutingBackend:
    """Ollama at TWINBOT_OLLAMA_HOST, plus a client for each OpenAI-compatible pair's server."""
    timeouts = Timeouts(
        connect=settings.connect_timeout,
        first_token=settings.first_token_timeout,
        total=settings.total_timeout,
    )
    pairs = catalog.pairs.values() if catalog is not None else ()
    # Every running comparison streams both sides at once: the pools follow the queue bound.
    connections = stream_connections(settings.max_running)
    ollama = OllamaBackend(settings.ollama_host, timeouts, connections)
    return RoutingBackend(ollama, timeouts, pairs, connections)


def make_guard(settings: Settings) -> Guard:
    """The safety gate's judge on the same Ollama. A verdict waits no longer than a first
    token may: a stuck guard keeps text hidden (fail closed) until then, not for minutes."""
    timeouts = Timeouts(
        connect=settings.connect_timeout,
        first_token=settings.first_token_timeout,
        total=settings.first_token_timeout,
    )
    connections = guard_connections(settings.max_running)
    return Guard(settings.ollama_host, settings.guard_model, timeouts, connections)


async def open_store(
    settings: Settings, vocabularies: Mapping[str, Vocabulary] | None = None
) -> Store:
    """The database; `vocabularies` say what each platform's reactions mean (its adapter's)."""
    return await Store.open(
        database_file(settings), store_user_ids=settings.store_user_ids, vocabularies=vocabularies
    )


@asynccontextmanager
async def open_runtime(
    settings: Settings, vocabularies: Mapping[str, Vocabulary] | None = None
) -> AsyncIterator[Runtime]:
    catalog = load_catalog(settings.prompts_dir)
    store = await open_store(settings, vocabularies)
    backend = make_backend(settings, catalog)
    metrics = Metrics()
    queue = FairQueue(settings.max_running, settings.max_waiting)
    metrics.watch_queue(lambda: queue.waiting, lambda: queue.running)
    service = CompareService(backend, store, metrics)
    guard = make_guard(settings)
    metrics.watch_connections(lambda: [*backend.pools(), guard.pool()])
    try:
        yield Runtime(settings, catalog, backend, store, service, metrics, queue, guard)
    finally:
        # Writes still waiting for a locked database get the shutdown grace, then the store
        # closes (each write given up is logged with what was lost).
        service.lifetime.stop_by(asyncio.get_running_loop().time() + settings.shutdown_grace)
        await service.settle_writes()
        await guard.close()
        await backend.close()
        await store.close()
