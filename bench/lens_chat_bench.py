"""What the lens adds to a chat comparison: requests, seconds, and the picture, per view.

Runs `/compare` through the real conversation core (ChatService, the queue, a real SQLite
file; the platform is the recording surface of tests/bot/chat) against the fake Ollama
answering logprobs in v0.24.0's shape, each side streaming 40 tokens at 50 tokens/s: without
the lens, then with each view (odds; the token shift of the 41-token instruct answer; 10
samples a twin). Prints per comparison: the model requests made, the wall time from the
command to the comparison's end (the picture shown), the lens's own seconds as stored with it,
and the time to draw each PNG. These are FAKE timings: the fake answers a scoring request at
once and streams at a fixed pace. A real Ollama adds a prompt evaluation to each odds and
shift request (the shift's prompts share their prefix, so its runner reads one new token each)
and real generation speed to each sample.

Run: .venv/bin/python -m bench.lens_chat_bench
"""

from __future__ import annotations

import asyncio
import math
import statistics
import tempfile
import time
from pathlib import Path

from bot.chat.command import LensAsk, LensKind
from bot.chat.lens_step import LensView, draw
from bot.config import load_settings
from bot.domain import CompareRequest
from bot.engine.lens_record import stored_views
from tests.bot.chat.recording import RecordingSurface, chat_service
from tests.fakes.ollama_fake import CHATML_TEMPLATE, OllamaFake, Script

BASE, INSTRUCT = "llama3.2:1b-text-q4_K_M", "llama3.2:1b-instruct-q4_K_M"
RUNS = 3
VIEWS: tuple[LensAsk | None, ...] = (
    None, LensAsk(), LensAsk(LensKind.SHIFT), LensAsk(LensKind.SAMPLES, 10),
)  # fmt: skip


def script(ollama: OllamaFake) -> None:
    ollama.templates[INSTRUCT] = CHATML_TEMPLATE  # the shift writes the chat out itself
    shares = (0.3, 0.2, 0.1, 0.08, 0.07, 0.06, 0.05, 0.04, 0.03, 0.02)
    digits = [(str(d), math.log(p)) for d, p in zip("7349251680", shares, strict=True)]
    words = [f" w{n}" for n in range(40)]
    ollama.script(BASE, Script(tokens=["7", *words], alternatives=[digits], delay=0.02))
    answer = [("Sure", math.log(0.9)), ("7", math.log(0.06))]
    ollama.script(INSTRUCT, Script(tokens=["Sure", *words], alternatives=[answer], delay=0.02))


def view_of(stored: object, ask: LensAsk) -> LensView | None:
    names = {LensKind.ODDS: "next_token", LensKind.SHIFT: "shift", LensKind.SAMPLES: "samples"}
    view: LensView | None = getattr(stored, names[ask.kind])
    return view


async def measure(
    ask: LensAsk | None,
) -> tuple[list[int], list[float], list[float], LensView | None, CompareRequest | None]:
    requests: list[int] = []
    walls: list[float] = []
    lens_seconds: list[float] = []
    view: LensView | None = None
    request: CompareRequest | None = None
    async with OllamaFake(models={BASE, INSTRUCT}) as ollama:
        script(ollama)
        with tempfile.TemporaryDirectory() as tmp:
            settings = load_settings(
                ollama_host=ollama.url, database_path=Path(tmp) / "bench.sqlite3", max_tokens=60
            )
            async with chat_service(settings) as chat:
                for run in range(RUNS):
                    before = len(ollama.requests)
                    began = time.perf_counter()
                    surface = RecordingSurface()
                    await chat.compare("Pick a number from 1 to 10:", user=f"U{run}",
                                       surface=surface, lens=ask)  # fmt: skip
                    await chat.settled(120.0)
                    walls.append(time.perf_counter() - began)
                    requests.append(len(ollama.requests) - before)
                    final = surface.view.final if surface.view else None
                    assert final is not None
                    if ask is not None:
                        shown = surface.of("show_lens")[0]
                        assert shown.png is not None, shown.headline
                        stored = await stored_views(chat.runtime.store, final.comparison_id)
                        view = view_of(stored, ask)
                        assert view is not None and view.seconds is not None
                        lens_seconds.append(view.seconds)
                        request = final.request
    return requests, walls, lens_seconds, view, request


async def drawing(view: LensView, request: CompareRequest) -> tuple[float, float, int]:
    """Mean and max seconds to draw a view's PNG (matplotlib already loaded), and its size."""
    times = []
    size = 0
    for _ in range(4):
        began = time.perf_counter()
        shown = await draw(view, request)
        times.append(time.perf_counter() - began)
        size = len(shown.png or b"")
    return statistics.mean(times), max(times), size


async def main() -> None:
    print("FAKE timings (the fake Ollama, 50 tokens/s a stream; see the docstring)")
    for ask in VIEWS:
        requests, walls, seconds, view, request = await measure(ask)
        name = "off" if ask is None else ask.kind.value
        line = (
            f"lens={name:8}: {statistics.mean(requests):.0f} requests per comparison, wall "
            f"{statistics.mean(walls):.3f} s (min {min(walls):.3f}, max {max(walls):.3f}) over "
            f"{RUNS} runs"
        )
        if seconds:
            line += f"; the lens itself {statistics.mean(seconds):.3f} s (stored)"
        print(line)
        if view is not None and request is not None:
            mean, slowest, size = await drawing(view, request)
            print(
                f"    picture: {size} bytes PNG, drawn off the event loop in "
                f"{mean * 1000:.0f} ms on average (max {slowest * 1000:.0f} ms, 4 draws)"
            )


if __name__ == "__main__":
    asyncio.run(main())
