"""Load benchmark: a live demo's minute on Discord and on Slack, against the fakes.

200 `/compare` from 50 users within one minute, spread over 10 channels; the fake Ollama
streams at 30 tokens/s per side and twinbot runs 4 comparisons at once (OLLAMA_NUM_PARALLEL=4),
so most requests wait in the fair queue. Each platform fake enforces its real budget
(Discord: 5 writes per 5 s per channel; Slack: chat.update 50 a minute per workspace).

Prints: acknowledgement latency p50/p99/max (target: max under 1 s), platform 429s provoked
(target 0), comparisons completed with complete final text (target: all accepted), queue
fairness (spread of mean wait between users), peak memory, CPU seconds per comparison (the
bot and the in-process platform and Ollama fakes together: an upper bound for twinbot).

Run: .venv/bin/python -m bench.load_bench --platform discord   (or slack; --quick for 40;
--no-streams for Slack without its streaming methods)
"""

from __future__ import annotations

import argparse
import asyncio
import random
import resource
import statistics
import tempfile
import time
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from bot.config import Settings, load_settings
from bot.domain import Role
from tests.fakes.ollama_fake import OllamaFake, Script

BASE, INSTRUCT = "llama3.2:1b-text-q4_K_M", "llama3.2:1b-instruct-q4_K_M"


@dataclass
class Figures:
    acks: list[float] = field(default_factory=list)
    sent: dict[str, list[datetime]] = field(default_factory=lambda: defaultdict(list))
    waits: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    accepted: int = 0
    refused: int = 0
    complete: int = 0
    rate_limited: int = 0
    shown_complete: int | None = None  # Slack: comparisons whose thread shows both whole texts


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def settings_for(
    ollama_url: str, db: Path, tokens: int, parallel: int, slack_streams: bool = False
) -> Settings:
    return load_settings(
        slack_streams=slack_streams,
        ollama_host=ollama_url,
        database_path=db,
        max_running=parallel,
        max_waiting=250,
        max_tokens=tokens,
        # A demo's generous limits: this measures the queue and the platforms, not refusals.
        user_comparisons_per_minute=10,
        user_burst=10,
        channel_comparisons_per_minute=600,
        channel_burst=100,
        workspace_comparisons_per_minute=600,
        workspace_burst=300,
        ops_port=0,
        store_user_ids=True,  # so the benchmark can tell users apart in the store
    )


def schedule(commands: int, users: int, window: float, seed: int = 7) -> list[tuple[float, int]]:
    rng = random.Random(seed)
    return sorted((rng.uniform(0, window), index % users) for index in range(commands))


async def run_discord(args: argparse.Namespace, settings: Settings, words: list[str]) -> Figures:
    from adapters.discord_bot.pacing import ChannelBudget
    from tests.adapters.discord_harness import discord_bot
    from tests.fakes.discord_fake import DiscordFake

    figures = Figures()
    async with DiscordFake(rate_limit=5, rate_window=5.0) as fake:
        channels = [fake.add_channel(f"demo-{n}") for n in range(10)]
        users = [int(fake.add_user(f"user{n}")["id"]) for n in range(args.users)]
        async with discord_bot(settings, fake, budget=ChannelBudget(limit=5, window=5.0)) as bot:
            started = asyncio.get_running_loop().time()
            records = []

            async def one(at: float, user: int, channel: int) -> None:
                await asyncio.sleep(max(0.0, started + at - asyncio.get_running_loop().time()))
                figures.sent[f"discord:{user}"].append(datetime.now(UTC))
                rec = await fake.dispatch_slash_command(
                    "compare", {"prompt": "Once upon a time"}, user_id=user, channel_id=channel
                )
                await rec.wait_callback(timeout=30)
                records.append((rec, user))

            await asyncio.gather(
                *(
                    one(at, users[u], channels[i % len(channels)])
                    for i, (at, u) in enumerate(schedule(args.commands, args.users, args.window))
                )
            )
            await bot.settled(within=3600)
            callbacks = {
                r.path.split("/")[2]: r.at for r in fake.requests if r.path.endswith("/callback")
            }
            for rec, _ in records:
                figures.acks.append(callbacks[str(rec.id)] - rec.dispatched_at)
            figures.rate_limited = fake.rate_limit_hits
            await collect_store(bot.runtime.store, figures, "".join(words))
    return figures


async def run_slack(args: argparse.Namespace, settings: Settings, words: list[str]) -> Figures:
    from adapters.slack_app.scheduler import Budget
    from tests.adapters.slack_harness import slack_bot

    figures = Figures()
    fake_limits = {"update_limit": 50, "update_window": 60.0}
    async with slack_bot(settings, fake_options=fake_limits, updates=Budget(45, 60.0)) as slack:
        fake = slack.fake
        channels = [f"CDEMO{n}" for n in range(10)]
        for channel in channels:
            fake.add_channel(channel)
        started = asyncio.get_running_loop().time()

        async def one(at: float, user: int, channel: str) -> None:
            await asyncio.sleep(max(0.0, started + at - asyncio.get_running_loop().time()))
            sent = time.perf_counter()
            figures.sent[f"slack:U{user:05d}"].append(datetime.now(UTC))
            response = await slack.command(
                "Once upon a time",
                user_id=f"U{user:05d}",
                channel_id=channel,
                response_url=fake.response_url(),
            )
            await response.read()
            figures.acks.append(time.perf_counter() - sent)

        await asyncio.gather(
            *(
                one(at, u, channels[i % len(channels)])
                for i, (at, u) in enumerate(schedule(args.commands, args.users, args.window))
            )
        )
        await slack.settled(within=3600)
        figures.rate_limited = fake.ratelimited_total
        started = [c for c in fake.calls_to("chat.startStream") if c.response.get("ok")]
        if args.streams:
            print(f"sides streamed: {len(started)} (the others by chat.update or posted whole)")
        body = "".join(words).strip()
        figures.shown_complete = sum(
            sum(body in reply.text for reply in slack.replies(parent)) == 2
            for channel in channels
            for parent in slack.parents(channel)
        )
        await collect_store(slack.bot.runtime.store, figures, "".join(words))
    return figures


async def collect_store(store: object, figures: Figures, expected: str) -> None:
    """Completion and waits from the store: every accepted comparison, its final outputs."""
    from bot.store.sqlite import Store

    assert isinstance(store, Store)
    db = store._db  # the benchmark reads the same file the bot wrote
    async with db.execute(
        "SELECT id, requester_id, created_at, status FROM comparisons ORDER BY id"
    ) as cursor:
        rows = list(await cursor.fetchall())
    created: dict[str, list[datetime]] = defaultdict(list)
    for row in rows:
        figures.accepted += 1
        outputs = await store.outputs(row[0])
        if all(outputs.get(r, {}).get("text") == expected for r in Role) and row[3] == "done":
            figures.complete += 1
        # A comparison is created when it leaves the queue and starts running.
        created[row[1]].append(datetime.fromisoformat(row[2]))
    for user, starts in created.items():
        for sent, start in zip(sorted(figures.sent[user]), sorted(starts), strict=False):
            figures.waits[user].append((start - sent).total_seconds())


def report(
    platform: str, figures: Figures, cpu: float, wall: float, args: argparse.Namespace
) -> None:
    per_user = [statistics.mean(w) for w in figures.waits.values() if w]
    all_waits = [w for waits in figures.waits.values() for w in waits]
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        f"== {platform}: {args.commands} /compare from {args.users} users in {args.window:g} s, "
        f"{args.tokens} tokens a side at {args.tps:g} tok/s, {args.parallel} at once"
    )
    print(
        f"ack latency: p50 {percentile(figures.acks, 0.5) * 1000:.0f} ms, "
        f"p99 {percentile(figures.acks, 0.99) * 1000:.0f} ms, max {max(figures.acks) * 1000:.0f} ms"
        "  (target: max < 1000 ms)"
    )
    print(f"platform 429s provoked: {figures.rate_limited}  (target 0)")
    shown = (
        ""
        if figures.shown_complete is None
        else f", {figures.shown_complete} showing both whole texts in Slack"
    )
    print(
        f"comparisons: {figures.accepted} accepted, {figures.complete} complete with the full "
        f"final text{shown}  (target: all accepted)"
    )
    print(
        f"queue fairness: mean wait in the queue per user from {min(per_user):.1f} s to "
        f"{max(per_user):.1f} s (stdev {statistics.pstdev(per_user):.1f} s); all waits "
        f"p50 {percentile(all_waits, 0.5):.1f} s, max {max(all_waits):.1f} s"
    )
    cpu_ms = cpu / max(1, figures.accepted) * 1000
    print(
        f"peak memory (max RSS): {peak_mb:.0f} MB; wall {wall:.0f} s; "
        f"CPU {cpu_ms:.0f} ms per comparison (bot + in-process fakes)"
    )


async def main_async(args: argparse.Namespace) -> None:
    figures, cpu, wall = await run(args)
    report(args.platform, figures, cpu, wall, args)


async def run(args: argparse.Namespace) -> tuple[Figures, float, float]:
    """One load run: its figures, CPU seconds and wall seconds."""
    words = [f" w{n}" for n in range(args.tokens)]
    async with OllamaFake(models={BASE, INSTRUCT}) as ollama:
        script = Script(tokens=words, delay=1 / args.tps, first_delay=0.05)
        ollama.script(BASE, script)
        ollama.script(INSTRUCT, script)
        with tempfile.TemporaryDirectory() as tmp:
            settings = settings_for(
                ollama.url, Path(tmp) / "load.sqlite3", args.tokens, args.parallel, args.streams
            )
            runner = run_discord if args.platform == "discord" else run_slack
            cpu, wall = time.process_time(), time.perf_counter()
            figures = await runner(args, settings, words)
            return figures, time.process_time() - cpu, time.perf_counter() - wall


def arguments() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--platform", choices=["discord", "slack"], required=True)
    parser.add_argument("--commands", type=int, default=200)
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--window", type=float, default=60.0)
    parser.add_argument("--tokens", type=int, default=45)
    parser.add_argument("--tps", type=float, default=30.0)
    parser.add_argument("--parallel", type=int, default=4)
    parser.add_argument("--quick", action="store_true", help="40 commands from 10 users in 10 s")
    parser.add_argument(
        "--streams",
        action=argparse.BooleanOptionalAction,
        default=Settings.model_fields["slack_streams"].default,
        help="TWINBOT_SLACK_STREAMS on or off (default: the setting's default)",
    )
    return parser


def main() -> None:
    args = arguments().parse_args()
    if args.quick:
        args.commands, args.users, args.window = 40, 10, 10.0
    asyncio.run(main_async(args))


if __name__ == "__main__":
    main()
