"""What the safety gate costs in render lag: text shown only after the guard judged it.

A comparison streams at 30 tokens/s per side through the gate in `withhold` mode against the
fake Ollama, whose guard model answers after a set delay (a 1B Llama Guard on a GPU answers a
short judgement in roughly 0.1 to 0.3 s). Prints, per guard latency and chunk size: the
delay from text being generated to it being cleared for display (mean and max), the number of
guard calls, and the same comparison's token-to-render delay without a gate.

Run: .venv/bin/python -m bench.safety_bench
"""

from __future__ import annotations

import asyncio
import statistics
import tempfile
from pathlib import Path

from bot.config import REPO_ROOT, load_settings
from bot.domain import Requester, SafetyMode
from bot.engine.backend import OllamaBackend, Timeouts
from bot.engine.catalog import load_catalog
from bot.engine.compare import CompareService, QuietView
from bot.engine.requests import build_request
from bot.safety.gate import GatedView
from bot.safety.guard import Guard
from bot.store.sqlite import Store
from tests.fakes.ollama_fake import OllamaFake, Script
from tests.vocabularies import VOCABULARIES

BASE, INSTRUCT, GUARD = "llama3.2:1b-text-q4_K_M", "llama3.2:1b-instruct-q4_K_M", "llama-guard3:1b"


async def one_run(guard_delay: float, chunk: int | None) -> tuple[list[float], int, float]:
    words = [f" word{n}" for n in range(150)]
    async with OllamaFake(models={BASE, INSTRUCT, GUARD}) as ollama:
        for tag in (BASE, INSTRUCT):
            ollama.script(tag, Script(tokens=words, delay=1 / 30))
        ollama.script(GUARD, Script(reply=lambda body: ["safe"], first_delay=guard_delay))
        with tempfile.TemporaryDirectory() as tmp:
            settings = load_settings(ollama_host=ollama.url, max_tokens=200)
            catalog = load_catalog(REPO_ROOT / "prompts")
            request = build_request(settings, catalog, Requester("bench", "u"), "Tell me a story")
            timeouts = Timeouts(connect=2.0, first_token=30.0, total=60.0)
            backend = OllamaBackend(ollama.url, timeouts)
            guard = Guard(ollama.url, GUARD, timeouts)
            async with await Store.open(
                Path(tmp) / "b.sqlite3", vocabularies=VOCABULARIES
            ) as store:
                service = CompareService(backend, store)
                # 0.5 s between updates: Discord's pace for one side of a thread.
                view: QuietView | GatedView = QuietView(0.5)
                if chunk is not None:
                    view = GatedView(QuietView(0.5), guard, SafetyMode.WITHHOLD, chunk_chars=chunk)
                await service.run(request, view)
                lag = service.last_lag
            await backend.close()
            await guard.close()
            checks = len(ollama.requests_to("/api/chat")) - 1  # minus the instruct side itself
    gate_lags = view.lags if isinstance(view, GatedView) else []
    return gate_lags, checks, lag.max_lag if lag else 0.0


async def main() -> None:
    _, _, plain = await one_run(0.0, None)
    print(f"no gate: token-to-render delay max {plain * 1000:.0f} ms (view interval 500 ms)")
    for guard_delay in (0.1, 0.3):
        for chunk in (120, 240, 480):
            lags, checks, _ = await one_run(guard_delay, chunk)
            print(
                f"withhold, guard {guard_delay * 1000:.0f} ms, chunk {chunk} chars: "
                f"generated-to-cleared mean {statistics.mean(lags) * 1000:.0f} ms, "
                f"max {max(lags) * 1000:.0f} ms, {checks} guard calls"
            )


if __name__ == "__main__":
    asyncio.run(main())
