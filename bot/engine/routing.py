"""Send each side of a comparison to the server its pair names: Ollama, or an OpenAI-compatible
endpoint. This is how twinbot grows past one machine: pairs move, the core does not change."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable

from bot.domain import BackendKind, CompareRequest, ModelPair, Role, SideStats
from bot.engine.backend import Backend, OllamaBackend, TextSink, Timeouts, canonical_tag
from bot.engine.openai_backend import OpenAIBackend, api_key_from_env
from bot.engine.pools import DEFAULT_CONNECTIONS, PoolState


class RoutingBackend:
    """A Backend that dispatches `run_side` by the request's pair."""

    def __init__(
        self,
        ollama: OllamaBackend,
        timeouts: Timeouts,
        pairs: Iterable[ModelPair] = (),
        connections: int = DEFAULT_CONNECTIONS,
    ) -> None:
        self.ollama = ollama
        self.host = ollama.host
        self._timeouts = timeouts
        self._connections = connections  # per OpenAI-compatible endpoint, as for Ollama
        # One client per (endpoint, key variable): its connections are reused across comparisons.
        self._servers: dict[tuple[str, str | None], OpenAIBackend] = {}
        for pair in pairs:
            for role in Role:
                self.server_for(pair, role)

    def server_for(self, pair: ModelPair, role: Role) -> Backend:
        if pair.backend is BackendKind.OLLAMA:
            return self.ollama
        endpoint = pair.endpoint(role)
        if endpoint is None:  # the catalog never builds such a pair
            raise ValueError(f"pair {pair.name!r} has no endpoint for its {role} side")
        return self.openai_server(endpoint, pair.api_key_env)

    def openai_server(self, endpoint: str, api_key_env: str | None) -> OpenAIBackend:
        key = (endpoint, api_key_env)
        server = self._servers.get(key)
        if server is None:
            server = OpenAIBackend(
                endpoint,
                self._timeouts,
                api_key=api_key_from_env(api_key_env),
                api_key_env=api_key_env,
                connections=self._connections,
            )
            self._servers[key] = server
        return server

    def pools(self) -> list[PoolState]:
        """Each model server's connections: in use, and requests waiting for one."""
        return [self.ollama.pool(), *(server.pool() for server in self._servers.values())]

    @property
    def openai_servers(self) -> list[OpenAIBackend]:
        return list(self._servers.values())

    async def run_side(self, role: Role, request: CompareRequest, on_text: TextSink) -> SideStats:
        return await self.server_for(request.pair, role).run_side(role, request, on_text)

    async def list_models(self) -> set[str]:
        """Every model any known server has, in Ollama's spelling (`canonical_tag`)."""
        listings = await asyncio.gather(
            self.ollama.list_models(), *(server.list_models() for server in self._servers.values())
        )
        return {canonical_tag(model) for listing in listings for model in listing}

    async def version(self) -> str:
        return await self.ollama.version()

    async def close(self) -> None:
        results = await asyncio.gather(
            self.ollama.close(),
            *(server.close() for server in self._servers.values()),
            return_exceptions=True,
        )
        for result in results:
            if isinstance(result, BaseException):
                raise result
