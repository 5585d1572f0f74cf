"""Connections to the model servers follow the queue, and can be counted.

httpx keeps at most 100 connections per client unless told otherwise, and an HTTP/1.1 stream
holds its connection to the end: with 100 comparisons running (200 streams) half of them sat
waiting for a connection while twinbot counted them as running. Each client's pool is sized
from the queue bound instead, and a counting transport tells how many requests hold a
connection and how many wait for one.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

import httpx

STREAMS_PER_COMPARISON = 2  # base and instruct at once
GUARD_CALLS_PER_COMPARISON = 3  # the prompt's check and one check per side, at once
SPARE = 4  # model listings, version checks and a pull beside the streams


def stream_connections(max_running: int) -> int:
    """Connections a client needs so that every running comparison streams at once (both
    sides may be on one server)."""
    return STREAMS_PER_COMPARISON * max_running + SPARE


def guard_connections(max_running: int) -> int:
    return GUARD_CALLS_PER_COMPARISON * max_running + SPARE


def pool_limits(connections: int) -> httpx.Limits:
    # As many kept alive as may be open: a burst of comparisons reuses them, not reconnects.
    return httpx.Limits(max_connections=connections, max_keepalive_connections=connections)


DEFAULT_CONNECTIONS = 100  # httpx's own default, for a client built without a queue bound


@dataclass(frozen=True, slots=True)
class PoolState:
    """One client's connections right now."""

    server: str  # "ollama", "guard" or an OpenAI-compatible endpoint
    size: int
    in_flight: int  # requests sent and not yet finished

    @property
    def open(self) -> int:
        """Requests holding a connection (HTTP/1.1: one each)."""
        return min(self.in_flight, self.size)

    @property
    def waiting(self) -> int:
        """Requests waiting for a connection: the pool is too small for them."""
        return max(0, self.in_flight - self.size)


class _CountedStream(httpx.AsyncByteStream):
    def __init__(self, inner: httpx.AsyncByteStream, done: CountingTransport) -> None:
        self._inner = inner
        self._done = done
        self._closed = False

    async def __aiter__(self) -> AsyncIterator[bytes]:
        async for chunk in self._inner:
            yield chunk

    async def aclose(self) -> None:
        try:
            await self._inner.aclose()
        finally:
            if not self._closed:
                self._closed = True
                self._done.in_flight -= 1


class CountingTransport(httpx.AsyncBaseTransport):
    """An httpx transport with a pool of `connections` that counts requests in flight: from
    the moment one asks for a connection until its response body is closed."""

    def __init__(
        self, server: str, connections: int, inner: httpx.AsyncBaseTransport | None = None
    ) -> None:
        self.server = server
        self.size = connections
        self.in_flight = 0
        self._inner = inner or httpx.AsyncHTTPTransport(limits=pool_limits(connections))

    def state(self) -> PoolState:
        return PoolState(self.server, self.size, self.in_flight)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.in_flight += 1
        try:
            response = await self._inner.handle_async_request(request)
        except BaseException:
            self.in_flight -= 1
            raise
        assert isinstance(response.stream, httpx.AsyncByteStream)
        response.stream = _CountedStream(response.stream, self)
        return response

    async def aclose(self) -> None:
        await self._inner.aclose()
