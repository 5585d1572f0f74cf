"""The bound on comparisons at once: waiting users see their place, past the maximum a private
refusal, admins exempt; and the per-server rate limit."""

from __future__ import annotations

from collections.abc import Callable

import pytest

# isort: off
from tests.adapters.discord_harness import (  # first: it silences discord.py's audioop warning
    FAST_FAKE,
    assert_no_pings,
    discord_bot,
)

# isort: on
from bot.config import Settings
from tests.adapters.discord_harness import settings_maker
from tests.fakes.discord_fake import ADMINISTRATOR, FLAG_EPHEMERAL, DiscordFake, InteractionRecord
from tests.fakes.ollama_fake import OllamaFake, Script


@pytest.fixture
def bot_settings(
    make_settings: Callable[..., Settings], ollama: OllamaFake
) -> Callable[..., Settings]:
    return settings_maker(
        make_settings, ollama.url, discord_edit_interval=0.2, user_burst=10, channel_burst=20
    )


def private_answer(rec: InteractionRecord) -> str:
    attempt = rec.attempts[0]
    assert attempt.type == 4 and attempt.data is not None
    assert attempt.data["flags"] & FLAG_EPHEMERAL, "the refusal was public"
    return str(attempt.data["content"])


def public(rec: InteractionRecord) -> bool:
    """Acknowledged with the parent message: the comparison was taken."""
    data = rec.attempts[0].data or {}
    return rec.attempts[0].type == 4 and not data.get("flags", 0) & FLAG_EPHEMERAL


async def test_waiting_users_see_their_place_and_past_the_maximum_a_private_refusal(
    bot_settings: Callable[..., Settings], ollama: OllamaFake
) -> None:
    ollama.default_script = Script(tokens=[f"t{i} " for i in range(6)], delay=0.1)
    fake = DiscordFake(**FAST_FAKE)
    users = [int(fake.add_user(f"user{i}")["id"]) for i in range(4)]
    settings = bot_settings(max_running=1, max_waiting=2)
    async with fake, discord_bot(settings, fake) as bot:
        first, second, third = [
            await bot.compare(f"q{i}", user_id=u) for i, u in enumerate(users[:3])
        ]
        refused = await bot.compare("q3", user_id=users[3])
        assert private_answer(refused).startswith(
            "twinbot is busy: 2 comparisons are already waiting. Try again in about "
        )
        await bot.settled()
        assert bot.runtime.queue.running == 0 and bot.runtime.queue.waiting == 0
        parents = [bot.parent(rec) for rec in (first, second, third)]
        # The first ran at once; the others were told their place, which moved, then ran.
        assert not any("⏳" in text for text in parents[0].contents)
        waiting_lines = [
            [line for line in text.splitlines() if line.startswith("⏳")]
            for text in parents[2].contents
        ]
        shown = [lines[0] for lines in waiting_lines if lines]
        assert "(**1 ahead of it**)" in shown[-2] and "(**it is next**)" in shown[-1]
        assert all("⏳" not in p.content for p in parents)  # the line goes once it runs
        for rec in (first, second, third):
            [both] = bot.outputs(rec)
            assert both.embeds[0]["description"] == "".join(f"t{i} " for i in range(6))
        assert len(fake.threads()) == 3 and await bot.runtime.store.comparison(4) is None
        edits = fake.calls("PATCH", "/webhooks/*/*/messages/@original")
        hits = fake.rate_limit_hits
        print(f"\nqueue: {len(edits)} parent edits for 2 waiting comparisons, 429s {hits}")
        assert fake.rate_limit_hits == 0
        metric = bot.runtime.metrics.errors.labels("refused_queue_full")._value.get()
        assert metric == 1
        assert_no_pings(fake)


async def test_admins_skip_the_rate_limits_and_a_full_queue(
    bot_settings: Callable[..., Settings], ollama: OllamaFake
) -> None:
    ollama.default_script = Script(tokens=[f"t{i} " for i in range(5)], delay=0.1)
    fake = DiscordFake(**FAST_FAKE)
    by_name = int(fake.add_user("moderator")["id"])
    by_id = int(fake.add_user("helper")["id"])
    owner = int(fake.add_user("owner")["id"])
    mods, helpers = fake.add_role("twinbot-admins"), fake.add_role("helpers")
    fake.give_role(by_name, mods)
    fake.give_role(by_id, helpers)
    fake.give_role(owner, fake.add_role("server admin", permissions=ADMINISTRATOR))
    settings = bot_settings(
        user_burst=1,
        user_comparisons_per_minute=1,
        max_running=1,
        max_waiting=0,
        discord_admin_roles=["twinbot-admins", str(helpers)],
    )
    async with fake, discord_bot(settings, fake) as bot:
        running = await bot.compare("busy")  # a plain user takes the only place
        plain = await bot.compare("again")  # the queue is full (and the user out of tokens)
        assert private_answer(plain).startswith("twinbot is busy")
        admins = [await bot.compare(f"admin {u}", user_id=u) for u in (by_name, by_id, owner)]
        admins += [await bot.compare("twice", user_id=by_name)]  # past the user burst of 1
        assert all(public(rec) for rec in admins)
        await bot.settled()
        assert len(fake.threads()) == 5
        for rec in [running, *admins]:
            [both] = bot.outputs(rec)
            assert both.embeds[1]["description"] == "".join(f"t{i} " for i in range(5))


async def test_the_server_as_a_whole_has_a_rate_limit(
    bot_settings: Callable[..., Settings],
) -> None:
    fake = DiscordFake(**FAST_FAKE)
    channels = [fake.channel_id, fake.add_channel("two"), fake.add_channel("three")]
    users = [int(fake.add_user(f"u{i}")["id"]) for i in range(3)]
    settings = bot_settings(workspace_burst=2, workspace_comparisons_per_minute=1)
    async with fake, discord_bot(settings, fake) as bot:
        for user, channel in zip(users[:2], channels[:2], strict=True):
            assert public(await bot.compare("hi", user_id=user, channel_id=channel))
        third = await bot.compare("hi", user_id=users[2], channel_id=channels[2])
        assert private_answer(third).startswith(
            "This server has reached the comparison limit. Try again in "
        )
        await bot.settled()
        assert len(fake.threads()) == 2
