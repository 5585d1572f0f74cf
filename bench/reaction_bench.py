"""Reaction burst benchmark: N reaction events at once into the vote log, against the fakes.

Discord: the fake gateway sends N MESSAGE_REACTION_ADD/REMOVE events to the real discord.py
client as fast as it can. Slack: N signed `reaction_added` events over HTTP into the real bolt
app, 64 in flight at once (each answered only once logged). Core: N `VoteService.on_reaction`
calls at once on a real SQLite file, no platform.

Prints: events logged of N (target: all), wall time and events/s until the last is logged,
transactions written (batches), the most events ever waiting in twinbot's buffer (bounded by
its capacity), and peak memory: the process's RSS growth over the burst, sampled every 10 ms
(the fakes run in the same process, so this is an upper bound for twinbot).

`--batch 1` writes one transaction per event (the buffer's batching off), for comparison.
`--users N`: the events cycle through N voters (default 100: hundreds of reactions each on
one comparison, where deriving each vote reads that voter's whole log; 10000: a few each).
The RSS figures leave out the fakes' records (Discord's RESUME buffer, Slack's list of Web API
calls received), which are the platforms', not twinbot's. The
core run starts all N calls at once, so its memory grows with N by construction.

Run: .venv/bin/python -m bench.reaction_bench --platform discord   (or slack, core; -n N)
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import sqlite3
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import aiohttp

from bot.chat.reaction_writer import ReactionWriter
from bot.chat.vote_service import ReactionEvent, VoteService
from bot.config import Settings
from bot.domain import Requester
from bot.engine.catalog import load_catalog
from bot.engine.requests import build_request
from bot.store.sqlite import Store
from tests.vocabularies import VOCABULARIES

ITEM = "4242"
REPO = Path(__file__).resolve().parent.parent


def rss_kib() -> int:
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


class Sampler:
    """Peak RSS and peak buffer length, sampled every 10 ms."""

    def __init__(self, writer: Callable[[], ReactionWriter]) -> None:
        self._writer = writer
        self.start = rss_kib()
        self.peak = self.start
        self.queue_peak = 0
        self._task: asyncio.Task[None] | None = None

    async def _run(self) -> None:
        while True:
            self.peak = max(self.peak, rss_kib())
            self.queue_peak = max(self.queue_peak, len(self._writer()))
            await asyncio.sleep(0.01)

    def __enter__(self) -> Sampler:
        self._task = asyncio.get_running_loop().create_task(self._run())
        return self

    def __exit__(self, *exc: object) -> None:
        assert self._task is not None
        self._task.cancel()


async def seed(store: Store, settings: Settings, platform: str, channel: str) -> int:
    catalog = load_catalog(settings.prompts_dir)
    who = Requester(platform, "asker", channel_id=channel)
    request = build_request(settings, catalog, who, "hi")
    cid = await store.create_comparison(request)
    await store.add_message(cid, platform, channel, ITEM)
    return cid


async def until(check: Callable[[], Awaitable[bool]]) -> None:
    while not await check():  # noqa: ASYNC110 (the log is in SQLite: nothing to wait on)
        await asyncio.sleep(0.02)


def report(
    platform: str, n: int, users: int, logged: int, wall: float, writer: ReactionWriter, s: Sampler
) -> None:
    print(f"platform: {platform}, events: {n}, batch size: {writer._batch}, voters: {users}")
    print(f"logged: {logged} of {n} (lost: {n - logged})")
    print(f"wall time: {wall:.2f} s, {n / wall:,.0f} events/s")
    print(f"transactions: {writer.batches} ({n / max(1, writer.batches):.0f} events each)")
    print(f"buffer: at most {s.queue_peak} events waiting (capacity {writer.capacity})")
    print(f"RSS: {s.start / 1024:.0f} MiB before, peak +{(s.peak - s.start) / 1024:.1f} MiB")


def emoji_for(index: int) -> str:
    return ["🅰️", "🅱️", "🤝", "👎"][index % 4]


async def core(settings: Settings, n: int, batch: int, users: int) -> None:
    from bot.chat.reveal import Revealer

    class Quiet:
        async def announce_reveal(self, *args: Any) -> None:
            return None

    async with await Store.open(settings.database_path, vocabularies=VOCABULARIES) as store:
        cid = await seed(store, settings, "discord", "t1")
        writer = ReactionWriter(store, batch=batch)
        votes = VoteService(store, Revealer(store, Quiet(), "discord", 3600), writer=writer)
        with Sampler(lambda: writer) as sampler:
            started = time.perf_counter()
            await asyncio.gather(
                *(
                    votes.on_reaction(
                        ReactionEvent("discord", "t1", ITEM, f"u{i % users}", emoji_for(i), True)
                    )
                    for i in range(n)
                )
            )
            wall = time.perf_counter() - started
        logged = len(await store.reactions(cid))
        await votes.close()
    report("core", n, users, logged, wall, writer, sampler)


async def discord(settings: Settings, n: int, batch: int, users: int) -> None:
    from tests.adapters.discord_harness import discord_bot  # the real client on the fake

    async with discord_bot(settings) as bot:
        store, fake = bot.runtime.store, bot.fake
        cid = await seed(store, settings, "discord", str(fake.channel_id))
        bot.client.chat.votes.writer = writer = ReactionWriter(store, batch=batch)
        voters = [int(fake.add_user(f"voter{i}")["id"]) for i in range(users)]

        async def logged() -> int:
            # A count, not the rows: reading 40,000 rows back would be the biggest thing
            # in memory, and it is the benchmark's, not twinbot's.
            return logged_count(settings, cid)

        with Sampler(lambda: writer) as sampler:
            started = time.perf_counter()
            for i in range(n):
                await fake.dispatch_reaction_add(fake.channel_id, int(ITEM), voters[i % users],
                                                 emoji_for(i))  # fmt: skip
                # Discord keeps its RESUME buffer on its servers, not in twinbot: the fake's
                # copy of every frame sent would otherwise be counted as twinbot's memory.
                fake._history.clear()
            await until(lambda: _at_least(logged, n))
            wall = time.perf_counter() - started
        report("discord", n, users, await logged(), wall, writer, sampler)


def logged_count(settings: Settings, cid: int) -> int:
    with contextlib.closing(sqlite3.connect(settings.database_path)) as db:
        [count] = db.execute(
            "SELECT count(*) FROM reactions WHERE comparison_id = ?", (cid,)
        ).fetchone()
    return int(count)


async def _at_least(count: Callable[[], Awaitable[int]], n: int) -> bool:
    return await count() >= n


async def slack(settings: Settings, n: int, batch: int, users: int) -> None:
    from adapters.slack_app.app import EVENTS_PATH
    from tests.adapters.slack_harness import slack_bot  # bolt's aiohttp app on the fake

    async with slack_bot(settings) as bot:
        store, fake = bot.bot.runtime.store, bot.fake
        cid = await seed(store, settings, "slack", fake.channel_id)
        bot.bot.chat.votes.writer = writer = ReactionWriter(store, batch=batch)
        pending = list(range(n))
        acked = 0
        assert bot.http is not None
        # A plain session: aiohttp's TestClient keeps every response, which would be counted.
        url = str(bot.http.make_url(EVENTS_PATH))

        async def sender(http: aiohttp.ClientSession) -> None:
            nonlocal acked
            while pending:
                i = pending.pop()
                name, user = ["a", "b", "handshake", "-1"][i % 4], f"U0V{i % users:05d}"
                event = fake.reaction_event(name, ITEM, user=user, event_ts=f"{1e9 + i:.6f}")
                body, headers = fake.signed_event(event)
                async with http.post(url, data=body, headers=headers) as response:
                    acked += response.status == 200
                fake.calls.clear()  # the fake's record of users.info calls: not twinbot's

        with Sampler(lambda: writer) as sampler:
            started = time.perf_counter()
            async with aiohttp.ClientSession() as http:
                await asyncio.gather(*(sender(http) for _ in range(64)))
            wall = time.perf_counter() - started
        logged = len([r for r in await store.reactions(cid) if not r["by_bot"]])
        report("slack", n, users, logged, wall, writer, sampler)
        print(f"acknowledged: {acked} (each only once logged)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--platform", choices=["core", "discord", "slack"], default="core")
    parser.add_argument("-n", type=int, default=10_000)
    parser.add_argument("--batch", type=int, default=256)
    parser.add_argument(
        "--users", type=int, default=100, help="distinct voters the events cycle through"
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(
            database_path=Path(tmp) / "bench.sqlite3",
            prompts_dir=REPO / "prompts",
            ollama_host="http://127.0.0.1:9",
        )  # type: ignore[call-arg]
        run = {"core": core, "discord": discord, "slack": slack}[args.platform]
        asyncio.run(run(settings, args.n, args.batch, args.users))


if __name__ == "__main__":
    main()
