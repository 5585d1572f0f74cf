"""What the lens adds to a chat comparison: requests, seconds, and the picture.

Runs `/compare` through the real conversation core (ChatService, the queue, a real SQLite
file; the platform is the recording surface of tests/bot/chat) against the fake Ollama
answering logprobs in v0.24.0's shape, each side streaming 40 tokens at 50 tokens/s, first
without the lens and then with it. Prints per comparison: the model requests made, the wall
time from the command to the comparison's end (the picture shown), the lens's own seconds as
stored with it, and the time to draw the PNG.
A real Ollama adds a prompt evaluation and one token per side to the lens's seconds.

Run: .venv/bin/python -m bench.lens_chat_bench
"""

from __future__ import annotations

import asyncio
import math
import statistics
import tempfile
import time
from pathlib import Path

from bot.chat.command import LensAsk
from bot.chat.lens_step import draw
from bot.config import load_settings
from bot.engine.lens_record import stored_next_token
from tests.bot.chat.recording import RecordingSurface, chat_service
from tests.fakes.ollama_fake import OllamaFake, Script

BASE, INSTRUCT = "llama3.2:1b-text-q4_K_M", "llama3.2:1b-instruct-q4_K_M"
RUNS = 5


def script(ollama: OllamaFake) -> None:
    shares = (0.3, 0.2, 0.1, 0.08, 0.07, 0.06, 0.05, 0.04, 0.03, 0.02)
    digits = [(str(d), math.log(p)) for d, p in zip("7349251680", shares, strict=True)]
    words = [f" w{n}" for n in range(40)]
    ollama.script(BASE, Script(tokens=["7", *words], alternatives=[digits], delay=0.02))
    answer = [("Sure", math.log(0.9)), ("7", math.log(0.06))]
    ollama.script(INSTRUCT, Script(tokens=["Sure", *words], alternatives=[answer], delay=0.02))


async def measure(lens: bool) -> tuple[list[int], list[float], list[float]]:
    requests, walls, lens_seconds = [], [], []
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
                                       surface=surface, lens=lens)  # fmt: skip
                    await chat.settled(60.0)
                    walls.append(time.perf_counter() - began)
                    requests.append(len(ollama.requests) - before)
                    final = surface.view.final if surface.view else None
                    assert final is not None
                    if lens:
                        assert surface.of("show_lens")[0].png is not None
                        view = await stored_next_token(chat.runtime.store, final.comparison_id)
                        assert view is not None and view.seconds is not None
                        lens_seconds.append(view.seconds)
    return requests, walls, lens_seconds


async def drawing() -> tuple[float, float, int]:
    """Mean and max seconds to draw a lens PNG (after the comparison drew one: matplotlib is
    loaded), and the PNG's size."""
    async with OllamaFake(models={BASE, INSTRUCT}) as ollama:
        script(ollama)
        with tempfile.TemporaryDirectory() as tmp:
            settings = load_settings(ollama_host=ollama.url, database_path=Path(tmp) / "d.sqlite3")
            async with chat_service(settings) as chat:
                surface = await chat.compare("Pick a number", lens=LensAsk())
                await chat.settled(60.0)
                assert surface.view is not None and surface.view.final is not None
                cid = surface.view.final.comparison_id
                view = await stored_next_token(chat.runtime.store, cid)
                request = surface.view.final.request
    assert view is not None
    times = []
    size = 0
    for _ in range(4):
        began = time.perf_counter()
        shown = await draw(view, request)
        times.append(time.perf_counter() - began)
        size = len(shown.png or b"")
    return statistics.mean(times), max(times), size


async def main() -> None:
    mean, slowest, size = await drawing()  # matplotlib loaded here, not in the runs below
    for lens in (False, True):
        requests, walls, seconds = await measure(lens)
        line = (
            f"lens={'on ' if lens else 'off'}: {statistics.mean(requests):.0f} requests per "
            f"comparison, wall {statistics.mean(walls):.3f} s (min {min(walls):.3f}, "
            f"max {max(walls):.3f}) over {RUNS} runs"
        )
        if seconds:
            line += f"; lens requests {statistics.mean(seconds) * 1000:.1f} ms (stored)"
        print(line)
    print(f"picture: {size} bytes PNG, drawn off the event loop in {mean * 1000:.0f} ms on "
          f"average (max {slowest * 1000:.0f} ms, 4 draws)")  # fmt: skip


if __name__ == "__main__":
    asyncio.run(main())
