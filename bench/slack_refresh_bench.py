"""How often each side's text changes on Slack with 3 comparisons at once, by method.

Three comparisons, 300 tokens a side at 30 tokens/s, against the fake Slack with Slack's real
budgets. Prints each side's refresh interval (time between two changes of its visible text while the
model writes, the stream's first and last token counting as changes), median and p95, and the
429s, for:

- twinbot: the real bot (bolt, the UpdateScheduler: chat.update at 45 a minute per workspace),
  with TWINBOT_SLACK_STREAMS off (every side its own message, edited) and on (the default:
  sides streamed where that gives them more calls a minute, the others edited, streams ended
  by chat.stopStream with the rest of the text and the footer);
- chat.appendStream: six streams (one per side) appended in turns at 90 a minute per
  workspace (Tier 4: 100+), the newest text of a side going out when its turn comes;
- both budgets at once: some sides streamed, the others edited with chat.update (4 and 2
  share the two budgets best: 90 + 45 calls a minute over 6 sides).

Run: .venv/bin/python -m bench.slack_refresh_bench
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import statistics
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from slack_sdk.web.async_client import AsyncWebClient

from adapters.slack_app.markdown_text import escape_markdown
from adapters.slack_app.pacing import Budget, TierClock
from bench.load_bench import percentile
from bot.config import load_settings
from tests.fakes.ollama_fake import OllamaFake, Script
from tests.fakes.slack_fake import SlackFake

BASE, INSTRUCT = "llama3.2:1b-text-q4_K_M", "llama3.2:1b-instruct-q4_K_M"
SIDES = 6  # 3 comparisons, 2 sides each


def intervals(
    changes: dict[str, list[float]], sides: list[str], start: float, end: float
) -> list[float]:
    """Per side, the gaps between changes of its text while the model writes (from the first
    token to the last): a side never refreshed counts as one gap the length of the stream."""
    gaps = []
    for side in sides:
        times = [start, *(t for t in changes.get(side, []) if start < t < end), end]
        gaps += [b - a for a, b in itertools.pairwise(times)]
    return gaps


def line(name: str, gaps: list[float], limited: int, extra: str = "") -> None:
    print(
        f"{name}: refresh interval median {statistics.median(gaps):.1f} s, "
        f"p95 {percentile(gaps, 0.95):.1f} s; 429s {limited}{extra}"
    )


@dataclass(frozen=True)
class Refresh:
    """What `twinbot` measured: the sides' refresh gaps, 429s, final texts complete."""

    gaps: list[float]
    rate_limited: int
    complete: int
    sides: int
    streamed: int
    final_after: float  # the last final text, seconds after the last token

    @property
    def median(self) -> float:
        return statistics.median(self.gaps)

    @property
    def p95(self) -> float:
        return percentile(self.gaps, 0.95)


def complete_sides(fake: SlackFake, sides: list[str], words: str) -> int:
    """Sides whose message in the fake shows the model's whole text (escaped or not)."""
    body = words.strip()
    shown = [fake.message(fake.channel_id, ts).text for ts in sides]
    return sum(body in text.replace("\\", "").replace("\u200b", "") for text in shown)


async def twinbot(tokens: int, tps: float, streams: bool, *, quiet: bool = False) -> Refresh:
    from tests.adapters.slack_harness import slack_bot

    words = [f" w{n}" for n in range(tokens)]
    async with OllamaFake(models={BASE, INSTRUCT}) as ollama:
        for model in (BASE, INSTRUCT):
            ollama.script(model, Script(tokens=words, delay=1 / tps, first_delay=0.05))
        with tempfile.TemporaryDirectory() as tmp:
            settings = load_settings(
                ollama_host=ollama.url,
                database_path=Path(tmp) / "refresh.sqlite3",
                max_running=3,
                max_tokens=tokens + 10,
                ops_port=0,
                slack_streams=streams,
            )
            fake_limits = {"update_limit": 50, "update_window": 60.0}
            async with slack_bot(
                settings, fake_options=fake_limits, updates=Budget(45, 60.0)
            ) as slack:
                started = time.monotonic()
                await asyncio.gather(
                    *(slack.command(f"story {n}", user_id=f"U0USER{n:03d}") for n in range(3))
                )
                await slack.settled(within=600)
                fake = slack.fake
                generation_start = started + 0.05
                generation_end = generation_start + tokens / tps
                final_after = time.monotonic() - generation_end
                sides = [m.ts for p in slack.parents() for m in slack.replies(p)]
                changes: dict[str, list[float]] = defaultdict(list)
                for call in fake.calls_to("chat.update") + fake.calls_to("chat.appendStream"):
                    if call.response.get("ok") and call.at <= generation_end:
                        changes[str(call.params.get("ts"))].append(call.at)
                figures = Refresh(
                    gaps=intervals(changes, sides, generation_start, generation_end),
                    rate_limited=fake.ratelimited_total,
                    complete=complete_sides(fake, sides, "".join(words)),
                    sides=SIDES,
                    streamed=len([c for c in fake.calls_to("chat.startStream") if c.error is None]),
                    final_after=final_after,
                )
    if not quiet:
        line(
            "twinbot, TWINBOT_SLACK_STREAMS on (sides streamed where that gives them more calls)"
            if streams
            else "twinbot, TWINBOT_SLACK_STREAMS off (chat.update, a message per side)",
            figures.gaps,
            figures.rate_limited,
            f"; {figures.streamed} sides streamed; final text complete {figures.complete}/"
            f"{figures.sides}, the last {figures.final_after:.1f} s after the last token",
        )
    return figures


async def prototype(tokens: int, tps: float, streamed: int) -> None:
    """`streamed` sides go out by chat.appendStream, the others by chat.update, each method in
    turns under its own workspace budget, the newest text of a side when its turn comes."""
    async with SlackFake() as fake:
        client = AsyncWebClient(token=fake.bot_token, base_url=fake.api_url, retry_handlers=[])
        parent = await client.chat_postMessage(channel=fake.channel_id, text="prompt")
        recipient = {"recipient_user_id": fake.user_id, "recipient_team_id": fake.team_id}
        texts = [""] * SIDES
        sent = [0] * SIDES  # characters of each side already shown
        ts: list[str] = []
        for side in range(SIDES):
            if side < streamed:
                started = await client.chat_startStream(
                    channel=fake.channel_id, thread_ts=parent["ts"], **recipient
                )
            else:
                started = await client.chat_postMessage(
                    channel=fake.channel_id, thread_ts=parent["ts"], text="…"
                )
            ts.append(str(started["ts"]))
        done = asyncio.Event()

        async def model() -> None:
            for n in range(tokens):
                await asyncio.sleep(1 / tps)
                for side in range(SIDES):
                    texts[side] += f" w{n}"
            done.set()

        async def writer(sides: list[int], budget: Budget, write: Callable[[int], object]) -> None:
            clock, turn = TierClock(budget), 0
            while not (done.is_set() and all(sent[s] == len(texts[s]) for s in sides)):
                await clock.ready()
                side = sides[turn % len(sides)]
                turn += 1
                if sent[side] < len(texts[side]):
                    await write(side)  # type: ignore[misc]
                clock.answered()

        async def append(side: int) -> None:
            text = texts[side]
            delta = escape_markdown(text, sent[side])
            await client.chat_appendStream(
                channel=fake.channel_id, ts=ts[side], markdown_text=delta
            )
            sent[side] = len(text)

        async def update(side: int) -> None:
            text = texts[side]
            await client.chat_update(channel=fake.channel_id, ts=ts[side], text=text)
            sent[side] = len(text)

        started_at = time.monotonic()
        jobs = [model()]
        if streamed:
            jobs.append(writer(list(range(streamed)), Budget(90, 60.0), append))
        if streamed < SIDES:
            jobs.append(writer(list(range(streamed, SIDES)), Budget(45, 60.0), update))
        await asyncio.gather(*jobs)
        end = started_at + tokens / tps
        changes: dict[str, list[float]] = defaultdict(list)
        for call in fake.calls:
            written = call.method in ("chat.appendStream", "chat.update")
            if written and call.at <= end and call.response.get("ok"):
                changes[str(call.params.get("ts"))].append(call.at)
        for side in range(streamed):
            await client.chat_stopStream(channel=fake.channel_id, ts=ts[side])
        complete = sum(
            fake.message(fake.channel_id, ts[side]).text.replace("\\", "") == texts[side]
            for side in range(SIDES)
        )
        name = (
            "chat.appendStream, a stream per side"
            if streamed == SIDES
            else f"{streamed} sides streamed, {SIDES - streamed} by chat.update"
        )
        gaps = intervals(changes, ts, started_at, end)
        line(name, gaps, fake.ratelimited_total, f"; complete {complete}/{SIDES}")


async def main_async(args: argparse.Namespace) -> None:
    print(f"== 3 comparisons at once, {args.tokens} tokens a side at {args.tps:g} tok/s")
    await twinbot(args.tokens, args.tps, streams=False)
    await twinbot(args.tokens, args.tps, streams=True)
    await prototype(args.tokens, args.tps, SIDES)
    await prototype(args.tokens, args.tps, SIDES // 2)
    await prototype(args.tokens, args.tps, 4)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tokens", type=int, default=300)
    parser.add_argument("--tps", type=float, default=30.0)
    asyncio.run(main_async(parser.parse_args()))


if __name__ == "__main__":
    main()
