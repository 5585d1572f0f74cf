"""A guard model (Llama Guard 3 by default) served by the same Ollama judges prompts and outputs.

Llama Guard answers `safe`, or `unsafe` and a line of category codes (`S1,S9`); anything
else is treated as a failure, so a gate that relies on it fails closed.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import httpx
import ollama

from bot.engine.backend import Timeouts, map_response_error, normalize_host
from bot.engine.pools import DEFAULT_CONNECTIONS, CountingTransport, PoolState
from bot.errors import BackendError, BackendTimeout, BackendUnreachable

log = logging.getLogger(__name__)

# Llama Guard 3's hazard taxonomy (MLCommons), in words a channel can read.
CATEGORIES = {
    "S1": "violent crimes",
    "S2": "non-violent crimes",
    "S3": "sex-related crimes",
    "S4": "child sexual exploitation",
    "S5": "defamation",
    "S6": "specialized advice",
    "S7": "privacy",
    "S8": "intellectual property",
    "S9": "indiscriminate weapons",
    "S10": "hate",
    "S11": "suicide and self-harm",
    "S12": "sexual content",
    "S13": "elections",
    "S14": "code interpreter abuse",
}


class GuardUnavailable(BackendError):
    kind = "guard_unavailable"


@dataclass(frozen=True, slots=True)
class Verdict:
    safe: bool
    codes: tuple[str, ...] = ()

    def describe(self) -> str:
        return ", ".join(CATEGORIES.get(code, code) for code in self.codes) or "unspecified"


def parse_verdict(answer: str) -> Verdict:
    lines = [line.strip() for line in answer.strip().splitlines() if line.strip()]
    if lines and lines[0].lower() == "safe":
        return Verdict(True)
    if lines and lines[0].lower() == "unsafe":
        codes = lines[1].replace(" ", "").upper().split(",") if len(lines) > 1 else []
        return Verdict(False, tuple(code for code in codes if code))
    raise GuardUnavailable(f"the guard model answered no verdict: {answer[:80]!r}")


class Guard:
    def __init__(
        self, host: str, model: str, timeouts: Timeouts, connections: int = DEFAULT_CONNECTIONS
    ) -> None:
        self.model = model
        self.host = normalize_host(host)
        self.timeout = timeouts.total
        self._pool = CountingTransport("guard", connections)
        self._client = ollama.AsyncClient(
            host=self.host,
            timeout=httpx.Timeout(timeouts.total, connect=timeouts.connect),
            transport=self._pool,
        )

    def pool(self) -> PoolState:
        return self._pool.state()

    async def close(self) -> None:
        await self._client.close()  # type: ignore[no-untyped-call]  # untyped upstream

    async def judge(self, prompt: str, output: str | None = None) -> Verdict:
        """Judge the user's prompt, or an output given the prompt that led to it."""
        messages = [{"role": "user", "content": prompt}]
        if output is not None:
            messages.append({"role": "assistant", "content": output})
        try:
            response = await self._client.chat(
                model=self.model,
                messages=messages,
                stream=False,
                options={"temperature": 0, "num_predict": 20},
            )
        except ollama.ResponseError as exc:
            raise map_response_error(exc, self.model) from None
        except (ConnectionError, httpx.ConnectError, httpx.ConnectTimeout):
            raise BackendUnreachable(self.host) from None
        except httpx.TimeoutException:
            raise BackendTimeout("the guard model", self.timeout) from None
        except httpx.TransportError as exc:
            raise GuardUnavailable(f"the guard request failed ({type(exc).__name__})") from None
        return parse_verdict(response.message.content or "")
