"""What one terminal frame costs as an output grows: the live frame (each side's newest lines
within the window) against the whole comparison drawn at once (what the live view drew before
it followed the tail, and what it prints once at the end).

Prints CPU milliseconds per frame for outputs of 1k, 10k and 100k characters a side, Japanese
and English, a newline every 400 characters, in a 100 x 30 terminal.
Run: .venv/bin/python -m bench.terminal_frame_bench
"""

from __future__ import annotations

import argparse
import io
import time
from collections.abc import Callable

from rich.console import Console, RenderableType

from adapters.terminal import LiveFrame, render
from bot.config import REPO_ROOT, load_settings
from bot.domain import CompareSnapshot, Requester, Role, SideSnapshot, SideStats, SideStatus
from bot.engine.catalog import load_catalog
from bot.engine.requests import build_request

SAMPLE = "今日はいい天気ですね。 The quick brown fox jumps over the lazy dog. "


def snapshot_with(chars: int) -> CompareSnapshot:
    settings = load_settings(prompts_dir=REPO_ROOT / "prompts")
    catalog = load_catalog(settings.prompts_dir)
    request = build_request(settings, catalog, Requester("bench", "u"), "こんにちは")
    flat = (SAMPLE * (chars // len(SAMPLE) + 1))[:chars]
    text = "\n".join(flat[start : start + 400] for start in range(0, chars, 400))

    def side(role: Role, tag: str) -> SideSnapshot:
        return SideSnapshot(role, tag, text, SideStatus.STREAMING, SideStats(), None, None)

    return CompareSnapshot(
        1, request, side(Role.BASE, request.pair.base), side(Role.INSTRUCT, request.pair.instruct)
    )


def per_frame_ms(
    draw: Callable[[CompareSnapshot], RenderableType], snapshot: CompareSnapshot, frames: int
) -> float:
    console = Console(file=io.StringIO(), force_terminal=True, width=100, height=30)
    started = time.process_time()
    for _ in range(frames):
        console.print(draw(snapshot))
    return (time.process_time() - started) / frames * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=10)
    args = parser.parse_args()
    for chars in (1_000, 10_000, 100_000):
        snapshot = snapshot_with(chars)
        live = per_frame_ms(LiveFrame, snapshot, args.frames)
        whole = per_frame_ms(render, snapshot, args.frames)
        print(
            f"{chars:>7} characters a side: live frame {live:.1f} ms CPU, "
            f"whole comparison {whole:.1f} ms CPU"
        )


if __name__ == "__main__":
    main()
