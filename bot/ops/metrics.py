"""Prometheus metrics: what an operator watches during a live demo."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from bot.domain import CompareSnapshot, SideStatus
from bot.engine.pools import PoolState

_LATENCY_BUCKETS = (0.1, 0.25, 0.5, 1, 2, 5, 10, 20, 30, 60, 120, 300)


class Metrics:
    """One registry per process (not the global one), so tests and benchmarks stay separate."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.comparisons = Counter(
            "twinbot_comparisons", "Comparisons finished, by platform and outcome",
            ["platform", "status"], registry=self.registry,
        )  # fmt: skip
        self.first_token = Histogram(
            "twinbot_first_token_seconds", "Time to first token per model",
            ["model"], buckets=_LATENCY_BUCKETS, registry=self.registry,
        )  # fmt: skip
        self.side_duration = Histogram(
            "twinbot_side_duration_seconds", "Wall time of one side per model",
            ["model"], buckets=_LATENCY_BUCKETS, registry=self.registry,
        )  # fmt: skip
        self.errors = Counter(
            "twinbot_errors", "Errors by kind (backend failures, platform errors, refusals)",
            ["kind"], registry=self.registry,
        )  # fmt: skip
        self.platform_429 = Counter(
            "twinbot_platform_rate_limited", "429 answers from Discord or Slack",
            ["platform"], registry=self.registry,
        )  # fmt: skip
        self.votes = Counter(
            "twinbot_votes", "Votes changed by a reaction, by the resulting choice",
            ["choice"], registry=self.registry,
        )  # fmt: skip
        self.queue_waiting = Gauge(
            "twinbot_queue_waiting", "Comparisons waiting for a place", registry=self.registry
        )
        self.queue_running = Gauge(
            "twinbot_queue_running",
            "Comparisons admitted to run (their streams may still wait for a connection: "
            "see twinbot_model_requests_waiting_for_connection)",
            registry=self.registry,
        )  # fmt: skip

    def watch_queue(self, waiting: Callable[[], float], running: Callable[[], float]) -> None:
        self.queue_waiting.set_function(waiting)
        self.queue_running.set_function(running)

    def watch_connections(self, pools: Callable[[], Iterable[PoolState]]) -> None:
        """Per model-server client: requests holding a connection, requests waiting for one,
        and the pool's size; read at each scrape."""
        self.registry.register(_PoolCollector(pools))

    def observe_comparison(self, final: CompareSnapshot, status: str) -> None:
        self.comparisons.labels(final.request.requester.platform, status).inc()
        for side in final.sides:
            if side.stats.first_token_s is not None:
                self.first_token.labels(side.model).observe(side.stats.first_token_s)
            if side.stats.wall_s is not None:
                self.side_duration.labels(side.model).observe(side.stats.wall_s)
            if side.status is SideStatus.FAILED and side.error_kind:
                self.errors.labels(side.error_kind).inc()

    def exposition(self) -> bytes:
        return generate_latest(self.registry)


class _PoolCollector(Collector):
    def __init__(self, pools: Callable[[], Iterable[PoolState]]) -> None:
        self._pools = pools

    def collect(self) -> Iterator[GaugeMetricFamily]:
        families: tuple[tuple[str, str, Callable[[PoolState], int]], ...] = (
            ("twinbot_model_requests_open", "Model requests holding a connection (a stream "
             "holds one to its end)", lambda p: p.open),
            ("twinbot_model_requests_waiting_for_connection", "Model requests waiting for a "
             "free connection in twinbot's pool (0 when the pool follows the queue)",
             lambda p: p.waiting),
            ("twinbot_model_connection_pool_size", "Connections a model-server client may open",
             lambda p: p.size),
        )  # fmt: skip
        states = list(self._pools())
        for name, doc, value in families:
            family = GaugeMetricFamily(name, doc, labels=["server"])
            for state in states:
                family.add_metric([state.server], float(value(state)))
            yield family
