"""Benchmark one comparison against a fake Ollama streaming at a realistic pace.

Prints: wall time of a comparison over the slower side alone (target <= 1.10), the delay
from a token's arrival to its render against the throttle interval (target <= 1 interval),
and twinbot's own CPU seconds per comparison. The fake runs in another process so its CPU
is not counted. Run: .venv/bin/python -m bench.compare_bench
"""

from __future__ import annotations

import argparse
import asyncio
import io
import statistics
import sys
import tempfile
import time
from pathlib import Path

from rich.console import Console

from adapters.terminal import TerminalView
from bot.config import REPO_ROOT, load_settings
from bot.domain import Requester, Role
from bot.engine.catalog import load_catalog
from bot.engine.requests import build_request
from bot.runtime import open_runtime
from tests.vocabularies import VOCABULARIES


async def start_fake(
    tokens: int, base_tps: float, instruct_tps: float
) -> tuple[asyncio.subprocess.Process, str]:
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bench.serve_fake_ollama",
        "--tokens", str(tokens), "--base-tps", str(base_tps), "--instruct-tps", str(instruct_tps),
        stdout=asyncio.subprocess.PIPE, cwd=REPO_ROOT,
    )  # fmt: skip
    assert process.stdout is not None
    url = (await process.stdout.readline()).decode().strip()
    return process, url


async def bench(
    runs: int, tokens: int, base_tps: float, instruct_tps: float, interval: float
) -> None:
    fake, url = await start_fake(tokens, base_tps, instruct_tps)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            settings = load_settings(
                ollama_host=url,
                database_path=Path(tmp) / "bench.sqlite3",
                terminal_refresh_interval=interval,
                max_tokens=tokens + 10,
            )
            catalog = load_catalog(settings.prompts_dir)
            request = build_request(settings, catalog, Requester("bench", "u"), "Once upon a time")
            async with open_runtime(settings, VOCABULARIES) as runtime:
                slower_role = Role.INSTRUCT if instruct_tps < base_tps else Role.BASE
                alone, ratios, lags_mean, lags_max, cpu = [], [], [], [], []
                for _ in range(runs):
                    started = time.perf_counter()
                    await runtime.backend.run_side(slower_role, request, lambda _text: None)
                    alone.append(time.perf_counter() - started)

                    console = Console(file=io.StringIO(), force_terminal=True, width=120)
                    view = TerminalView(console, interval)
                    cpu_start, started = time.process_time(), time.perf_counter()
                    await runtime.service.run(request, view)
                    wall = time.perf_counter() - started
                    cpu.append(time.process_time() - cpu_start)
                    ratios.append(wall / alone[-1])
                    lag = runtime.service.last_lag
                    assert lag is not None
                    lags_mean.append(lag.mean_lag)
                    lags_max.append(lag.max_lag)
    finally:
        fake.terminate()
        await fake.wait()

    print(
        f"comparisons: {runs}, {tokens} tokens a side, base {base_tps:g} tok/s, "
        f"instruct {instruct_tps:g} tok/s, throttle interval {interval * 1000:.0f} ms"
    )
    print(f"slower side alone: median {statistics.median(alone):.3f} s")
    print(
        "fan-out ratio (comparison wall / slower side alone): "
        f"median {statistics.median(ratios):.3f}, max {max(ratios):.3f}  (target <= 1.10)"
    )
    print(
        f"token-to-render delay: mean {statistics.mean(lags_mean) * 1000:.1f} ms, "
        f"max {max(lags_max) * 1000:.1f} ms = {max(lags_max) / interval:.2f} intervals"
        "  (target <= 1)"
    )
    print(
        f"twinbot CPU per comparison (terminal view, rich rendering included): "
        f"median {statistics.median(cpu) * 1000:.0f} ms, "
        f"{statistics.median(cpu) / statistics.median(alone) * 100:.1f}% of the generation time"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--tokens", type=int, default=120)
    parser.add_argument("--base-tps", type=float, default=60.0)
    parser.add_argument("--instruct-tps", type=float, default=40.0)
    parser.add_argument("--interval", type=float, default=0.1)
    args = parser.parse_args()
    asyncio.run(bench(args.runs, args.tokens, args.base_tps, args.instruct_tps, args.interval))


if __name__ == "__main__":
    main()
