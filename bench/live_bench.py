"""How live a comparison looks on Discord: the real bot against the fake Discord and Ollama.

Each side streams 300 tokens at 30 tokens/s; the fake Discord enforces the real per-channel
budget (5 writes per 5 s, a thread being its own channel) and twinbot paces to the same.
Every token carries its comparison, side and index, so each write the fake receives tells
which tokens it shows.

Prints, for 1 comparison and for 8 at once in one channel (8 threads):
- first visible text: the model's first token -> the first write showing text (target < 0.3 s)
- render lag: a token sent by the model -> the first write showing it, p50/p95
  (target p95 < 1.2 s with one comparison, < 1.5 s with 8)
- 429s served by the fake (target 0) and final texts complete (target: all)
and beside them what this benchmark measured on the code before the fix (commit 4cc35ed).

Run: .venv/bin/python -m bench.live_bench   (--tokens, --tps, --crowd to change the load)
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import statistics
import tempfile
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.load_bench import percentile
from bot.config import load_settings
from tests.fakes.ollama_fake import OllamaFake, Script

BASE, INSTRUCT = "llama3.2:1b-text-q4_K_M", "llama3.2:1b-instruct-q4_K_M"
SIDE_OF = {BASE: "b", INSTRUCT: "i"}
TOKEN = re.compile(r"k(\d+)([bi])(\d+)")
CASE = re.compile(r"case(\d+)")

# Measured by this benchmark on the code before the fix (commit 4cc35ed, same machine):
# (first visible text s, lag p50 s, lag p95 s) for 1 and for 8 comparisons.
BEFORE = {1: (0.77, 1.71, 2.75), 8: (0.76, 1.68, 2.75)}


@dataclass
class Result:
    first_visible: list[float] = field(default_factory=list)
    lags: list[float] = field(default_factory=list)
    complete: int = 0
    comparisons: int = 0
    rate_limited: int = 0
    writes: int = 0


def tokens_for(tokens: int) -> Any:
    """A script reply: tokens naming the comparison (from the prompt), the side and the index."""

    def reply(body: dict[str, Any]) -> list[str]:
        found = CASE.search(json.dumps(body))
        case = found.group(1) if found else "0"
        side = SIDE_OF[str(body["model"])]
        return [f" k{case}{side}{n}" for n in range(tokens)]

    return reply


def shown_tokens(body: Any) -> set[tuple[int, str, int]]:
    """Every (comparison, side, index) a message create or edit shows."""
    if not isinstance(body, dict):
        return set()
    texts = [str(body.get("content") or "")]
    texts += [str(e.get("description") or "") for e in body.get("embeds") or []]
    found = TOKEN.findall("\n".join(texts))
    return {(int(c), s, int(i)) for c, s, i in found}


async def scenario(crowd: int, tokens: int, tps: float, first_delay: float) -> Result:
    from adapters.discord_bot.pacing import ChannelBudget
    from tests.adapters.discord_harness import discord_bot
    from tests.fakes.discord_fake import DiscordFake

    result = Result(comparisons=crowd)
    async with OllamaFake(models={BASE, INSTRUCT}) as ollama:
        script = Script(delay=1 / tps, first_delay=first_delay, reply=tokens_for(tokens))
        ollama.script(BASE, script)
        ollama.script(INSTRUCT, script)
        ollama.chunk_log = []
        with tempfile.TemporaryDirectory() as tmp:
            settings = load_settings(
                ollama_host=ollama.url,
                database_path=Path(tmp) / "live.sqlite3",
                max_running=max(crowd, 2),
                max_tokens=tokens + 10,
                user_comparisons_per_minute=60,
                channel_comparisons_per_minute=600,
                channel_burst=100,
                ops_port=0,
            )
            async with (
                DiscordFake(rate_limit=5, rate_window=5.0) as fake,
                discord_bot(settings, fake, budget=ChannelBudget(limit=5, window=5.0)) as bot,
            ):
                users = [int(fake.add_user(f"user{n}")["id"]) for n in range(crowd)]
                records = await asyncio.gather(
                    *(bot.compare(f"Tell a story, case{n}", user_id=users[n]) for n in range(crowd))
                )
                await bot.settled(within=120 + tokens / tps * 4)
                threads = {n: bot.thread(rec).id for n, rec in enumerate(records)}
                result.rate_limited = fake.rate_limit_hits
                measure(result, fake.requests, ollama.chunk_log, threads, tokens)
    return result


def measure(
    result: Result,
    requests: list[Any],
    chunks: list[tuple[float, str, str]],
    threads: dict[int, int],
    tokens: int,
) -> None:
    sent: dict[tuple[int, str, int], float] = {}
    for at, _model, text in chunks:
        for case, side, index in TOKEN.findall(text):
            sent.setdefault((int(case), side, int(index)), at)
    shown_at: dict[tuple[int, str, int], float] = {}
    final: dict[int, set[tuple[int, str, int]]] = defaultdict(set)
    for case, thread in threads.items():
        writes = [
            r
            for r in requests
            if r.path.startswith(f"/channels/{thread}/messages")
            and "/reactions/" not in r.path
            and r.method in ("POST", "PATCH")
            and r.status is not None
            and r.status < 300
        ]
        result.writes += len(writes)
        latest: dict[str, set[tuple[int, str, int]]] = {}  # per message: what it shows now
        for write in sorted(writes, key=lambda r: r.at):
            shown = shown_tokens(write.json)
            for key in shown:
                shown_at.setdefault(key, write.at)
            created = write.response if isinstance(write.response, dict) else {}
            message = (
                write.path.rsplit("/", 1)[-1] if write.method == "PATCH" else created.get("id")
            )
            latest[str(message)] = shown
        final[case] = set().union(*latest.values()) if latest else set()
        mine = [key for key in sent if key[0] == case]
        if mine:
            first_token = min(sent[key] for key in mine)
            first_shown = min((shown_at[key] for key in mine if key in shown_at), default=None)
            if first_shown is not None:
                result.first_visible.append(first_shown - first_token)
        result.lags += [shown_at[key] - sent[key] for key in mine if key in shown_at]
        wanted = {(case, side, n) for side in "bi" for n in range(tokens)}
        if wanted <= final[case]:
            result.complete += 1


def report(crowd: int, result: Result, tokens: int, tps: float) -> None:
    before = BEFORE.get(crowd)
    target = 1.2 if crowd == 1 else 1.5
    first = statistics.median(result.first_visible) if result.first_visible else float("nan")
    p50, p95 = percentile(result.lags, 0.5), percentile(result.lags, 0.95)
    print(
        f"== {crowd} comparison(s) at once in one channel, {tokens} tokens a side at {tps:g} tok/s"
    )
    was = f"  (before: {before[0]:.2f} s)" if before else ""
    print(f"first visible text after the first token: median {first:.2f} s (target < 0.3){was}")
    was = f"  (before: p50 {before[1]:.2f} s, p95 {before[2]:.2f} s)" if before else ""
    print(f"render lag: p50 {p50:.2f} s, p95 {p95:.2f} s (target p95 < {target:g}){was}")
    print(
        f"429s: {result.rate_limited} (target 0); writes: {result.writes}; final text complete: "
        f"{result.complete} of {result.comparisons}"
    )


async def main_async(args: argparse.Namespace) -> None:
    for crowd in args.crowd:
        result = await scenario(crowd, args.tokens, args.tps, args.first_delay)
        report(crowd, result, args.tokens, args.tps)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tokens", type=int, default=300)
    parser.add_argument("--tps", type=float, default=30.0)
    parser.add_argument("--first-delay", type=float, default=0.2, help="the model's first token")
    parser.add_argument("--crowd", type=int, nargs="+", default=[1, 8])
    asyncio.run(main_async(parser.parse_args()))


if __name__ == "__main__":
    main()
