"""A lens view as it is stored with a comparison: a kind and a JSON payload, and back.

The payload carries its own version, so a later shape (more positions, samples, token shift)
can be read beside an older one; a payload this version does not know is an error the reader
reports, not a crash.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import Any

from bot.domain import CompareRequest, Role
from bot.engine.backend import Backend, OllamaBackend
from bot.engine.lens import Distribution, LensUnsupported, TokenChance, next_token_distribution
from bot.engine.routing import RoutingBackend
from bot.store.sqlite import Store

log = logging.getLogger(__name__)

NEXT_TOKEN = "next_token"
PAYLOAD_VERSION = 1
NEXT_TOKEN_REQUESTS = 2  # one token on each side


@dataclass(frozen=True, slots=True)
class NextTokenView:
    """Both twins' top-k first tokens for one comparison, and what it cost to learn them."""

    sides: dict[Role, Distribution]
    top_k: int
    position: int = 0  # the token of the answer the distribution is for (0: the first)
    requests: int = NEXT_TOKEN_REQUESTS
    seconds: float | None = None

    def payload(self) -> dict[str, Any]:
        return {
            "version": PAYLOAD_VERSION,
            "top_k": self.top_k,
            "position": self.position,
            "sides": [
                {
                    "role": side.role.value,
                    "model": side.model,
                    "chances": [[chance.token, chance.probability] for chance in side.chances],
                }
                for side in (self.sides[Role.BASE], self.sides[Role.INSTRUCT])
            ],
        }


def next_token_view(
    payload: dict[str, Any], requests: int = NEXT_TOKEN_REQUESTS, seconds: float | None = None
) -> NextTokenView:
    """The view a stored payload holds. ValueError when its shape is not one this knows."""
    if payload.get("version") != PAYLOAD_VERSION:
        raise ValueError(f"lens payload version {payload.get('version')!r} is not known")
    try:
        sides = {}
        for side in payload["sides"]:
            role = Role(side["role"])
            chances = tuple(TokenChance(str(t), float(p)) for t, p in side["chances"])
            sides[role] = Distribution(role, str(side["model"]), chances)
        view = NextTokenView(
            sides, int(payload["top_k"]), int(payload.get("position", 0)), requests, seconds
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise ValueError(f"lens payload is malformed: {exc!r}") from None
    if set(sides) != set(Role):
        raise ValueError("lens payload lacks a side")
    return view


async def measure_next_token(
    backend: Backend, request: CompareRequest, top_k: int
) -> NextTokenView:
    """Ask both twins for one token at once and time it. Raises what `next_token_distribution`
    raises (LensUnsupported for a server that cannot)."""
    if not isinstance(backend, RoutingBackend | OllamaBackend):
        raise LensUnsupported("this model server gives no next-token probabilities")
    loop = asyncio.get_running_loop()
    began = loop.time()
    sides = await next_token_distribution(
        backend, request.pair, request.framing, request.prompt, top_k
    )
    return NextTokenView(sides, top_k, seconds=loop.time() - began)


async def record_next_token(
    backend: Backend, store: Store, request: CompareRequest, comparison_id: int, top_k: int
) -> NextTokenView:
    """Measure a stored comparison's lens and store it with the comparison."""
    view = await measure_next_token(backend, request, top_k)
    await store.add_lens_view(
        comparison_id, NEXT_TOKEN, view.payload(), requests=view.requests, seconds=view.seconds
    )
    return view


async def stored_next_token(store: Store, comparison_id: int) -> NextTokenView | None:
    """The latest next-token view stored with a comparison (None: none, or unreadable)."""
    rows = [row for row in await store.lens_views(comparison_id) if row["kind"] == NEXT_TOKEN]
    if not rows:
        return None
    row = rows[-1]
    try:
        return next_token_view(row["payload"], row["requests"], row["seconds"])
    except ValueError as exc:
        log.warning("comparison #%d: its stored lens cannot be read: %s", comparison_id, exc)
        return None
