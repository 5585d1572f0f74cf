"""Reactions on Discord become votes: raw events, the log, the mapping, blind mode's reveal."""

from __future__ import annotations

import asyncio
import random
from collections import Counter
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

# isort: off
from tests.adapters.discord_harness import Bot, FAST_FAKE, discord_bot  # first: audioop warning

# isort: on
from bot.config import Settings
from bot.store.sqlite import Store, VoteRow
from tests.adapters.discord_harness import settings_maker
from tests.conftest import SMALL_PAIR
from tests.fakes.discord_fake import DiscordFake, InteractionRecord
from tests.fakes.ollama_fake import OllamaFake, Script

BASE, INSTRUCT = SMALL_PAIR


@pytest.fixture
def bot_settings(
    make_settings: Callable[..., Settings], ollama: OllamaFake
) -> Callable[..., Settings]:
    return settings_maker(make_settings, ollama.url, discord_edit_interval=0.2)


async def eventually(check: Callable[[], Awaitable[bool]], within: float = 5.0) -> None:
    for _ in range(int(within / 0.02)):
        if await check():
            return
        await asyncio.sleep(0.02)
    raise AssertionError(f"not true within {within} s")


async def logged(store: Store, count: int, comparison_id: int = 1) -> list[dict[str, Any]]:
    async def enough() -> bool:
        return len(await store.reactions(comparison_id)) >= count

    await eventually(enough)
    # One connection: a row can be visible before its transaction (and the vote it derives)
    # commits. Taking the write lock waits for that transaction to end.
    await store.check_writable()
    return await store.reactions(comparison_id)


def choices(votes: list[VoteRow]) -> Counter[str]:
    return Counter(v.choice.value for v in votes)


async def compared(
    bot: Bot, prompt: str = "hi", **options: Any
) -> tuple[InteractionRecord, int, int]:
    """A finished comparison: its record, its thread and its message showing both sides."""
    rec = await bot.compare(prompt, **options)
    await bot.settled()
    await logged(bot.runtime.store, 4)  # the four seeded reactions echoed back
    return rec, bot.thread(rec).id, bot.outputs(rec)[0].id


async def test_seeded_reactions_are_logged_as_twinbots_and_never_count(
    bot_settings: Callable[..., Settings],
) -> None:
    async with discord_bot(bot_settings()) as bot:
        _, _, both = await compared(bot)
        rows = await bot.runtime.store.reactions(1)
        assert [(r["emoji"], r["by_bot"], r["action"], r["role"]) for r in rows] == [
            (e, 1, "added", None) for e in ("🅰️", "🅱️", "🤝", "👎")
        ]
        assert {r["message_id"] for r in rows} == {str(both)}
        assert await bot.runtime.store.votes() == []


async def test_the_latest_reaction_wins_and_removing_it_falls_back(
    bot_settings: Callable[..., Settings],
) -> None:
    async with discord_bot(bot_settings()) as bot:
        _, thread_id, both = await compared(bot)
        fake, store, user = bot.fake, bot.runtime.store, bot.fake.user_id
        await fake.dispatch_reaction_add(thread_id, both, user, "🅰️")
        await fake.dispatch_reaction_add(thread_id, both, user, "🅱️")
        await logged(store, 6)
        assert choices(await store.votes()) == {"instruct_better": 1}
        await fake.dispatch_reaction_remove(thread_id, both, user, "🅱️")
        await logged(store, 7)
        assert choices(await store.votes()) == {"base_better": 1}
        await fake.dispatch_reaction_remove(thread_id, both, user, "🅰️")
        await fake.dispatch_reaction_add(thread_id, both, user, "🤝")
        await fake.dispatch_reaction_add(thread_id, both, user, "👍")  # no meaning on both sides
        await logged(store, 10)
        assert choices(await store.votes()) == {"tie": 1}


async def test_thumbs_on_one_sides_message_vote_for_or_against_that_side(
    bot_settings: Callable[..., Settings], ollama: OllamaFake
) -> None:
    ollama.script(BASE, Script(tokens=["word " * 20] * 40))  # 4,000 characters: two messages
    async with discord_bot(bot_settings()) as bot:
        rec, thread_id, both = await compared(bot, max_tokens=1024)
        base_part = bot.outputs(rec)[1].id
        fake, store = bot.fake, bot.runtime.store
        up, down = (int(fake.add_user(name)["id"]) for name in ("up", "down"))
        await fake.dispatch_reaction_add(thread_id, base_part, up, "👍🏽")  # a skin tone is 👍
        await fake.dispatch_reaction_add(thread_id, base_part, down, "👎")
        await fake.dispatch_reaction_add(thread_id, both, fake.user_id, "👎")
        await logged(store, 7)
        assert choices(await store.votes()) == {
            "base_better": 1,
            "instruct_better": 1,
            "both_bad": 1,
        }


async def test_duplicated_events_and_add_remove_add_count_once(
    bot_settings: Callable[..., Settings],
) -> None:
    async with discord_bot(bot_settings()) as bot:
        _, thread_id, both = await compared(bot)
        fake, store = bot.fake, bot.runtime.store
        other = int(fake.add_user("bob")["id"])
        for _ in range(2):
            await fake.dispatch_reaction_add(thread_id, both, fake.user_id, "🅰️")
        await fake.dispatch_reaction_add(thread_id, both, other, "🅱️")
        await fake.dispatch_reaction_remove(thread_id, both, other, "🅱️")
        await fake.dispatch_reaction_add(thread_id, both, other, "🅱️")
        rows = await logged(store, 9)
        assert len(rows) == 9  # every event is in the log, duplicates included
        votes = await store.votes()
        assert choices(votes) == {"base_better": 1, "instruct_better": 1} and len(votes) == 2


async def test_reactions_in_any_order_agree_with_a_recompute_from_the_log(
    bot_settings: Callable[..., Settings],
) -> None:
    rng = random.Random(7)
    async with discord_bot(bot_settings()) as bot:
        _, thread_id, both = await compared(bot)
        fake, store = bot.fake, bot.runtime.store
        events = []
        for index in range(15):
            user = int(fake.add_user(f"u{index}")["id"])
            for emoji in rng.sample(["🅰️", "🅱️", "🤝", "👎"], 3):
                events.append((True, user, emoji))
                if rng.random() < 0.4:
                    events.append((False, user, emoji))
        rng.shuffle(events)
        for added, user, emoji in events:
            dispatch = fake.dispatch_reaction_add if added else fake.dispatch_reaction_remove
            await dispatch(thread_id, both, user, emoji)
        await logged(store, 4 + len(events))
        live = {(v.user_key, v.choice) for v in await store.votes()}
        await store.recompute_votes()
        assert live == {(v.user_key, v.choice) for v in await store.votes()}
        assert len(live) == len({u for _, u, _ in events if _})  # everyone still has a vote


async def test_two_hundred_reactions_at_once_are_two_hundred_votes(
    bot_settings: Callable[..., Settings],
) -> None:
    async with discord_bot(bot_settings()) as bot:
        _, thread_id, both = await compared(bot)
        fake, store = bot.fake, bot.runtime.store
        emoji = ["🅰️", "🅱️", "🤝", "👎"]
        users = [int(fake.add_user(f"voter{i}")["id"]) for i in range(200)]
        await asyncio.gather(
            *(
                fake.dispatch_reaction_add(thread_id, both, u, emoji[i % 4])
                for i, u in enumerate(users)
            )
        )
        await logged(store, 204)
        votes = await store.votes()
        assert len(votes) == 200
        assert choices(votes) == {
            "base_better": 50,
            "instruct_better": 50,
            "tie": 50,
            "both_bad": 50,
        }


async def test_other_bots_reactions_are_logged_as_bots_and_never_count(
    bot_settings: Callable[..., Settings],
) -> None:
    async with discord_bot(bot_settings()) as bot:
        _, thread_id, both = await compared(bot)
        fake, store = bot.fake, bot.runtime.store
        robot = int(fake.add_user("robot")["id"])
        fake.users[robot]["bot"] = True
        await fake.dispatch_reaction_add(thread_id, both, robot, "🅰️")
        await fake.dispatch_reaction_remove(thread_id, both, robot, "🅰️")
        await fake.dispatch_reaction_add(thread_id, both, robot, "🅱️")
        rows = await logged(store, 7)
        assert [r["by_bot"] for r in rows[4:]] == [1, 1, 1]
        assert await store.votes() == []


async def test_a_reaction_after_a_restart_still_maps_to_its_comparison(
    bot_settings: Callable[..., Settings],
) -> None:
    settings = bot_settings()
    async with DiscordFake(**FAST_FAKE) as fake:
        async with discord_bot(settings, fake) as bot:
            rec, thread_id, both = await compared(bot)
            parent = bot.parent(rec).id
        # A new process: a new client, a new store connection, the same database file.
        async with discord_bot(settings, fake) as again:
            await fake.dispatch_reaction_add(thread_id, both, fake.user_id, "🅱️")
            await fake.dispatch_reaction_add(fake.channel_id, parent, fake.user_id, "🤝")
            await logged(again.runtime.store, 6)
            [vote] = await again.runtime.store.votes()
            assert vote.choice.value == "tie"  # the latest, on the parent in the channel
            assert fake.identify_count == 2


async def test_blind_hides_the_names_until_the_first_vote_then_reveals_once(
    bot_settings: Callable[..., Settings],
) -> None:
    async with discord_bot(bot_settings()) as bot:
        rec, thread_id, both = await compared(bot, blind=True)
        fake, store = bot.fake, bot.runtime.store
        shown = bot.parent(rec).content + "".join(
            f"{m.content}{e['title']}{e.get('footer', {}).get('text', '')}"
            for m in bot.outputs(rec)
            for e in m.embeds
        )
        assert BASE not in shown and INSTRUCT not in shown and "**blind**" in shown
        assert [e["title"] for e in bot.outputs(rec)[0].embeds] == ["🅰️ Model A", "🅱️ Model B"]
        comparison = await store.comparison(1)
        assert comparison is not None and comparison["blind"] == 1
        first = comparison["shown_first"]

        await fake.dispatch_reaction_add(thread_id, both, fake.user_id, "🅰️")
        await fake.wait_until(lambda: len(bot.outputs(rec)) == 2)
        reveal = bot.outputs(rec)[1]
        a, b = (BASE, INSTRUCT) if first == "base" else (INSTRUCT, BASE)
        assert reveal.content.startswith("🔓 Names revealed (after the first vote): ")
        assert f"Model A was **{first.capitalize()}** `{a}`" in reveal.content
        assert f"`{b}`" in reveal.content and reveal.allowed_mentions == {"parse": []}

        later = int(fake.add_user("late")["id"])
        await fake.dispatch_reaction_add(thread_id, both, later, "🅱️")
        await logged(store, 6)
        await asyncio.sleep(0.2)
        assert len(bot.outputs(rec)) == 2  # revealed once only
        votes = {v.choice.value: v.blind for v in await store.votes()}
        winner_a = f"{first}_better"
        winner_b = "instruct_better" if first == "base" else "base_better"
        assert votes == {winner_a: True, winner_b: False}  # the second came after the reveal


async def test_blind_names_are_revealed_when_the_vote_closes(
    bot_settings: Callable[..., Settings],
) -> None:
    async with discord_bot(bot_settings(blind_default=True, blind_reveal_after=0.5)) as bot:
        rec, _, _ = await compared(bot)
        await bot.fake.wait_until(lambda: len(bot.outputs(rec)) == 2, timeout=3)
        assert bot.outputs(rec)[1].content.startswith("🔓 Names revealed (the vote closed): ")
        comparison = await bot.runtime.store.comparison(1)
        assert comparison is not None and comparison["revealed_at"] is not None


async def test_a_blind_channel_makes_comparisons_blind_unless_asked_otherwise(
    bot_settings: Callable[..., Settings],
) -> None:
    fake = DiscordFake(**FAST_FAKE)
    async with fake, discord_bot(bot_settings(blind_channels=[str(fake.channel_id)]), fake) as bot:
        await bot.compare("one")
        await bot.compare("two", blind=False)
        await bot.settled()
        first, second = await bot.runtime.store.comparison(1), await bot.runtime.store.comparison(2)
        assert first is not None and second is not None
        assert (first["blind"], second["blind"]) == (1, 0)
