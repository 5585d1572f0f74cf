"""Issue 12's figures in one run, each beside what twinbot measured before the issue.

Runs the existing benchmarks (nothing measured twice, nothing copied): `live_bench` on the
fake Discord for 1 and for 8 comparisons at once, `slack_refresh_bench` for 3 comparisons on
the fake Slack with the streams setting's default, and `load_bench --platform slack` (200
commands in a minute). Every fake enforces its platform's budgets; a 429 is counted, never
hidden. The "before" figures are the ones in the issue text.

Run: .venv/bin/python -m bench.streaming_report   (--quick: 40 load commands instead of 200;
the before figures then do not apply to the load lines)
"""

from __future__ import annotations

import argparse
import asyncio
import statistics

from bench import live_bench, load_bench, slack_refresh_bench
from bench.load_bench import percentile
from bot.config import Settings

TOKENS, TPS = 300, 30.0  # the scenario: 300 tokens a side at 30 tokens/s

# From the issue text (measured before it was worked on).
DISCORD_FIRST_TEXT = 1.02  # s after the model's first token
DISCORD_LAG = (1.69, 2.82)  # render lag p50, p95 (s)
SLACK_REFRESH = 8.0  # median s between two changes of a side, 3 comparisons at once
SLACK_QUEUE_P50 = 231.0  # s, load benchmark
SLACK_WALL = 536.0  # s, load benchmark


def row(name: str, now: str, before: str, target: str) -> None:
    print(f"  {name:<44} {now:>14}   before {before:<12} target {target}")


async def discord() -> None:
    for crowd in (1, 8):
        result = await live_bench.scenario(crowd, TOKENS, TPS, first_delay=0.2)
        first = statistics.median(result.first_visible) if result.first_visible else float("nan")
        p50, p95 = percentile(result.lags, 0.5), percentile(result.lags, 0.95)
        print(f"Discord, {crowd} comparison(s) at once in a channel, {TOKENS} tokens at {TPS:g}/s")
        was = f"{DISCORD_FIRST_TEXT:.2f} s" if crowd == 1 else "-"  # the issue's: one comparison
        row("first visible text after the first token", f"{first:.2f} s", was, "< 0.3 s")
        lag_target = "p95 < 1.2 s" if crowd == 1 else "p95 < 1.5 s"
        before = f"{DISCORD_LAG[0]:.2f}/{DISCORD_LAG[1]:.2f} s" if crowd == 1 else "-"
        row("render lag p50/p95", f"{p50:.2f}/{p95:.2f} s", before, lag_target)
        row("429s", str(result.rate_limited), "-", "0")
        row("final text complete", f"{result.complete}/{result.comparisons}", "-", "all")


async def slack_refresh() -> None:
    streams = Settings.model_fields["slack_streams"].default
    figures = await slack_refresh_bench.twinbot(TOKENS, TPS, streams=bool(streams), quiet=True)
    setting = "on" if streams else "off"
    print(f"Slack, 3 comparisons at once, {TOKENS} tokens at {TPS:g}/s, streams {setting}")
    row(
        "side refresh interval median/p95",
        f"{figures.median:.1f}/{figures.p95:.1f} s",
        f"{SLACK_REFRESH:g} s med",
        "every 2 s",
    )
    row("sides streamed", f"{figures.streamed}/{figures.sides}", "-", "-")
    row("429s", str(figures.rate_limited), "-", "0")
    row("final text complete (sides)", f"{figures.complete}/{figures.sides}", "-", "all")


async def slack_load(quick: bool) -> None:
    args = load_bench.arguments().parse_args(["--platform", "slack"])
    if quick:
        args.commands, args.users, args.window = 40, 10, 10.0
    figures, _cpu, wall = await load_bench.run(args)
    waits = [w for per_user in figures.waits.values() for w in per_user]
    print(
        f"Slack load: {args.commands} /compare from {args.users} users in {args.window:g} s, "
        f"{args.parallel} at once, {args.tokens} tokens a side"
    )
    half = "<= 115.5 s" if not quick else "-"
    row("queue wait p50", f"{percentile(waits, 0.5):.1f} s", f"{SLACK_QUEUE_P50:g} s", half)
    row("wall time", f"{wall:.0f} s", f"{SLACK_WALL:g} s", "<= 268 s" if not quick else "-")
    row("429s", str(figures.rate_limited), "-", "0")
    row(
        "final text complete (store / Slack thread)",
        f"{figures.complete}/{figures.shown_complete}",
        "-",
        f"{figures.accepted}/{figures.accepted}",
    )


async def main_async(args: argparse.Namespace) -> None:
    await discord()
    await slack_refresh()
    await slack_load(args.quick)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a 40-command load run")
    asyncio.run(main_async(parser.parse_args()))


if __name__ == "__main__":
    main()
