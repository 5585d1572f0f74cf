"""A small HTTP server for operators: `/healthz` (is every part working?) and `/metrics`."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from aiohttp import web
from aiohttp.abc import AbstractAccessLogger

from bot.engine.backend import Backend, canonical_tag
from bot.engine.catalog import Catalog
from bot.errors import TwinbotError
from bot.ops.metrics import Metrics
from bot.runtime import Runtime
from bot.store.sqlite import Store

log = logging.getLogger(__name__)
access_log = logging.getLogger("aiohttp.access")

# Probes hit these every few seconds (Docker's health check, Prometheus' scrape): at INFO they
# would bury everything else in the log, so they log at DEBUG; anything else stays at INFO.
PROBE_PATHS = frozenset({"/healthz", "/metrics"})

HealthCheck = Callable[[], Awaitable[str]]  # returns a detail line; raises when unhealthy
CHECK_TIMEOUT = 5.0


@dataclass(frozen=True, slots=True)
class CheckResult:
    name: str
    ok: bool
    detail: str


def core_checks(
    backend: Backend, store: Store, catalog: Catalog, pairs: list[str]
) -> dict[str, HealthCheck]:
    """Ollama reachable, the pairs in use pulled, the database writable."""

    async def ollama() -> str:
        return f"version {await backend.version()}"

    async def pulled() -> str:
        tags = await backend.list_models()
        wanted = [
            tag for name in pairs for tag in (catalog.pair(name).base, catalog.pair(name).instruct)
        ]
        missing = [tag for tag in wanted if canonical_tag(tag) not in tags]
        if missing:
            raise TwinbotError("not pulled: " + ", ".join(missing))
        return f"{len(wanted)} tags pulled"

    async def database() -> str:
        await store.check_writable()
        return "writable"

    return {"ollama": ollama, "pairs": pulled, "database": database}


async def run_checks(checks: dict[str, HealthCheck]) -> list[CheckResult]:
    async def one(name: str, check: HealthCheck) -> CheckResult:
        try:
            async with asyncio.timeout(CHECK_TIMEOUT):
                return CheckResult(name, True, await check())
        except TimeoutError:
            return CheckResult(name, False, f"no answer within {CHECK_TIMEOUT:g} s")
        except Exception as exc:
            return CheckResult(name, False, str(exc) or type(exc).__name__)

    return list(await asyncio.gather(*(one(name, check) for name, check in checks.items())))


def ops_app(checks: dict[str, HealthCheck], metrics: Metrics) -> web.Application:
    async def healthz(request: web.Request) -> web.Response:
        results = await run_checks(checks)
        healthy = all(result.ok for result in results)
        body = {
            "status": "ok" if healthy else "unhealthy",
            "checks": {r.name: {"ok": r.ok, "detail": r.detail} for r in results},
        }
        if not healthy:
            log.warning("health check failed: %s", {r.name: r.detail for r in results if not r.ok})
        return web.Response(
            status=200 if healthy else 503, text=json.dumps(body), content_type="application/json"
        )

    async def metrics_page(request: web.Request) -> web.Response:
        return web.Response(
            body=metrics.exposition(), headers={"Content-Type": "text/plain; version=0.0.4"}
        )

    app = web.Application()
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/metrics", metrics_page)
    return app


async def start_ops_server(runtime: Runtime, platform_checks: dict[str, HealthCheck]) -> OpsServer:
    """The operator's server for a chat bot: core checks plus the platform's own."""
    settings = runtime.settings
    pairs = sorted({settings.default_pair})
    checks = {
        **core_checks(runtime.backend, runtime.store, runtime.catalog, pairs),
        **platform_checks,
    }
    server = OpsServer(ops_app(checks, runtime.metrics), settings.ops_host, settings.ops_port)
    await server.start()
    return server


class ProbeQuietAccessLogger(AbstractAccessLogger):
    """One line per request, as aiohttp's own, at DEBUG for probes and INFO otherwise."""

    def log(self, request: web.BaseRequest, response: web.StreamResponse, time: float) -> None:
        level = logging.DEBUG if request.path in PROBE_PATHS else logging.INFO
        if self.logger.isEnabledFor(level):
            self.logger.log(
                level,
                '%s "%s %s" %d %.3fs',
                request.remote,
                request.method,
                request.path_qs,
                response.status,
                time,
            )


class OpsServer:
    def __init__(self, app: web.Application, host: str, port: int) -> None:
        self._runner = web.AppRunner(
            app,
            handle_signals=False,
            access_log=access_log,
            access_log_class=ProbeQuietAccessLogger,
        )
        self._host, self._port = host, port
        self.url = ""

    async def start(self) -> None:
        await self._runner.setup()
        site = web.TCPSite(self._runner, self._host, self._port)
        await site.start()
        # Port 0 asks the OS for a free port (tests); read back which one it gave.
        addresses = self._runner.addresses
        port = addresses[0][1] if addresses else self._port
        self.url = f"http://{self._host}:{port}"
        log.info("health and metrics at %s/healthz and %s/metrics", self.url, self.url)

    async def stop(self) -> None:
        await self._runner.cleanup()
