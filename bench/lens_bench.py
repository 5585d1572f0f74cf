"""Every lens view for two seed experiments (the random number, the Japanese greeting) against
the fake Ollama's toy twins: prints each view as the terminal shows it and its cost in requests
and seconds. FAKE timings (a toy model, 20 ms to read a prompt, 5 ms a token): they show the
request pattern and twinbot's own overhead, not a real model's speed.

Run: .venv/bin/python -m bench.lens_bench [--samples 30]
"""

from __future__ import annotations

import argparse
import asyncio
import math
import os
import tempfile
import time
from pathlib import Path

from rich.console import Console

from adapters.cli.lens_cli import run_lens
from adapters.cli.main import _parser
from bot.config import load_settings
from tests.conftest import SMALL_PAIR
from tests.fakes.ollama_fake import CHATML_TEMPLATE, END_OF_TEXT, OllamaFake, Script, suffix_model

BASE, INSTRUCT = SMALL_PAIR
ln = math.log
NUMBER = "Pick a number from 1 to 10:"
GREETING = "こんにちは"
ASKED = "<|im_end|>\n<|im_start|>assistant\n"  # the end of the instruct twin's chat, as written
PACE = {"first_delay": 0.02, "delay": 0.005}


def _spread(tokens: list[str], top: float) -> list[tuple[str, float]]:
    rest = (1 - top) / (len(tokens) - 1)
    return [(tokens[0], ln(top)), *((t, ln(rest)) for t in tokens[1:])]


BASE_TOY = suffix_model(
    {
        "to 10:": [(f" {n}", ln(0.1)) for n in (7, 3, 5, 1, 2, 4, 6, 8, 9, 10)],
        GREETING: _spread(["、", "!", "\n", " (", "。"], 0.35),
        f"{GREETING}、": _spread(["アニメ", "今日", "みなさん", "皆"], 0.4),
        "アニメ": _spread(["の", "レビュー", "が"], 0.5),
        f"{NUMBER}{ASKED}": _spread(["7", "I", "Sure", "Here", "5"], 0.3),
        f"{GREETING}{ASKED}": _spread(["こんにちは", "Hello", "「", "今日"], 0.3),
        "assistant\nSure": _spread(["!", ",", "."], 0.5),
        "assistant\nこんにちは": _spread(["、", "!", "！"], 0.4),
        "assistant\nこんにちは！": _spread(["今日", "何か", "お", "どう"], 0.3),
        "！今日": _spread(["は", "も"], 0.7),
    },
    default=[(" x", ln(0.3)), (END_OF_TEXT, ln(0.2)), *((f" y{n}", ln(0.02)) for n in range(25))],
)
INSTRUCT_TOY = suffix_model(
    {
        f"{NUMBER}{ASKED}": _spread(["Sure", "7", "I"], 0.6),
        f"{GREETING}{ASKED}": _spread(["こんにちは", "Hello", "Hi"], 0.7),
        "assistant\nSure": _spread(["!", ","], 0.9),
        "assistant\nSure!": _spread([" 7", " 3", " 5"], 0.8),
        "assistant\nこんにちは": _spread(["！", "、"], 0.9),
        "assistant\nこんにちは！": _spread(["今日", "何か"], 0.8),
        "！今日": _spread(["は", "も"], 0.9),
        "今日は": _spread(["どんな", "何を"], 0.8),
        "どんな": _spread(["お手伝い", "こと"], 0.8),
        "お手伝い": _spread(["ができますか", "をしましょう"], 0.8),
        "ができますか": _spread(["？", "?"], 0.9),
        "何か": _spread(["お手伝い", "ご用"], 0.8),
    },
)


async def bench(samples: int) -> None:
    async with OllamaFake(models=set(SMALL_PAIR), version="0.24.0") as fake:
        fake.templates[INSTRUCT] = CHATML_TEMPLATE
        fake.script(BASE, Script(next_token=BASE_TOY, **PACE))
        # The greeting's instruct twin answers in Japanese; the number prompt in English.
        fake.script(INSTRUCT, Script(next_token=INSTRUCT_TOY, **PACE))
        with tempfile.TemporaryDirectory() as folder:
            os.environ["TWINBOT_OLLAMA_HOST"] = fake.url
            os.environ["TWINBOT_DATABASE_PATH"] = str(Path(folder) / "bench.sqlite3")
            settings = load_settings()
            views = {
                "odds": ["--top", "5"],
                "odds --at 1": ["--top", "5", "--at", "1"],
                "odds --after": ["--top", "5", "--after", "Sure"],
                f"samples {samples}": ["--samples", str(samples), "--seed", "1"],
                "shift": ["--shift"],
            }
            figures = []
            for prompt in (NUMBER, GREETING):
                for name, options in views.items():
                    if prompt == GREETING and name == "odds --after":
                        options = ["--top", "5", "--after", "こんにちは"]
                    args = _parser().parse_args(["lens", prompt, *options])
                    console = Console(width=120, record=True, force_terminal=False)
                    before = len(fake.requests)
                    started = time.perf_counter()
                    code = await run_lens(settings, args, console)
                    seconds = time.perf_counter() - started
                    figures.append((prompt, name, code, len(fake.requests) - before, seconds))
            print("\nFAKE timings (toy twins on the fake Ollama):")
            for prompt, name, code, requests, seconds in figures:
                print(
                    f"  {prompt!r:32} {name:14} exit {code}  {requests:3} requests  "
                    f"{seconds:6.3f} s"
                )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--samples", type=int, default=30)
    asyncio.run(bench(parser.parse_args().samples))


if __name__ == "__main__":
    main()
