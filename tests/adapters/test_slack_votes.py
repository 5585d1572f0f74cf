"""Votes on Slack: reactions into the log, seeded choices inside the Tier 3 budget, blind mode."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import pytest

from adapters.slack_app.scheduler import Budget
from bot.config import Settings
from bot.domain import Role
from bot.votes.mapping import Choice
from tests.adapters.slack_harness import Slack, eventually, slack_bot
from tests.adapters.test_slack_app import max_in_window
from tests.conftest import SMALL_PAIR
from tests.fakes.ollama_fake import OllamaFake, Script
from tests.fakes.slack_fake import Message

BASE, INSTRUCT = SMALL_PAIR


async def one_comparison(slack: Slack, text: str = "hi", **fields: str) -> Message:
    assert (await slack.command(text, **fields)).status == 200
    await slack.settled()
    [parent] = slack.parents(fields.get("channel_id"))
    return parent


async def votes_now(slack: Slack) -> list[Any]:
    return await slack.bot.runtime.store.votes()


def vote_count(slack: Slack, choice: str) -> float:
    metrics = slack.bot.runtime.metrics
    return metrics.registry.get_sample_value("twinbot_votes_total", {"choice": choice}) or 0.0


async def test_the_four_choices_are_seeded_on_the_parent(settings: Settings, ollama: OllamaFake):
    async with slack_bot(settings) as slack:
        parent = await one_comparison(slack)
        await slack.fake.wait_for(lambda: len(slack.fake.calls_to("reactions.add")) == 4)
        assert parent.reactions == ["a", "b", "handshake", "-1"]
        for reply in slack.replies(parent):
            assert reply.reactions == []  # the parent alone shows both sides
        # Seeded once the parent is up (as on Discord), so people see the choices while the
        # outputs stream; the posts of the replies are never held up by them.
        first_post = min(c.at for c in slack.fake.calls_to("chat.postMessage"))
        assert min(c.at for c in slack.fake.calls_to("reactions.add")) >= first_post
        assert "Vote with a reaction on this message: :a: base better" in parent.text


async def test_seeding_many_comparisons_stays_inside_the_tier3_budget(
    make_settings: Callable[..., Settings], ollama: OllamaFake
):
    # reactions.add scaled down like chat.update: 8 calls per second for the workspace.
    settings = make_settings(ollama_host=ollama.url, max_running=6, workspace_burst=20)
    ollama.script(BASE, Script(tokens=["b"]))
    ollama.script(INSTRUCT, Script(tokens=["i"]))
    options = {"update_limit": 8, "update_window": 1.0}
    async with slack_bot(settings, fake_options=options, updates=Budget(8, 1.0)) as slack:
        for n in range(6):
            await slack.command(f"p{n}", channel_id=f"C0VOTE{n}", user_id=f"U0VOTER{n}")
        await slack.settled()
        await slack.fake.wait_for(lambda: len(slack.fake.calls_to("reactions.add")) >= 24)
        calls = slack.fake.calls_to("reactions.add")
        assert len(calls) == 24 and slack.fake.ratelimited_total == 0
        assert max_in_window(calls, 1.0) <= 8
        for n in range(6):
            [parent] = slack.parents(f"C0VOTE{n}")
            assert sorted(parent.reactions) == ["-1", "a", "b", "handshake"]


async def test_a_seeding_429_is_waited_out_and_counted(settings: Settings, ollama: OllamaFake):
    async with slack_bot(settings) as slack:
        slack.fake.fail_next("reactions.add", status=429, retry_after=1)
        parent = await one_comparison(slack)
        await slack.fake.wait_for(lambda: len(parent.reactions) == 4, within=5)
        assert parent.reactions == ["a", "b", "handshake", "-1"]
        metrics = slack.bot.runtime.metrics.registry
        assert (
            metrics.get_sample_value("twinbot_platform_rate_limited_total", {"platform": "slack"})
            == 1.0
        )


async def test_reactions_become_one_vote_per_user_latest_wins(
    settings: Settings, ollama: OllamaFake
):
    async with slack_bot(settings) as slack:
        parent = await one_comparison(slack)
        store = slack.bot.runtime.store
        await slack.react("a", parent.ts, event_ts="1700000100.000001")
        await eventually(lambda: has_votes(slack, 1))
        [vote] = await votes_now(slack)
        assert vote.choice is Choice.BASE_BETTER and not vote.blind
        await slack.react("b", parent.ts, event_ts="1700000101.000001")
        await eventually(lambda: first_choice(slack, Choice.INSTRUCT_BETTER))
        await slack.react("b", parent.ts, removed=True, event_ts="1700000102.000001")
        await eventually(lambda: first_choice(slack, Choice.BASE_BETTER))  # falls back to :a:
        # A thumbs up on the instruct side's own reply: that side is better.
        instruct_reply = slack.replies(parent)[1]
        await slack.react("+1::skin-tone-3", instruct_reply.ts, event_ts="1700000103.000001")
        await eventually(lambda: first_choice(slack, Choice.INSTRUCT_BETTER))
        log = await store.reactions(1)
        assert [(r["emoji"], r["action"], r["role"]) for r in log] == [
            ("a", "added", None),
            ("b", "added", None),
            ("b", "removed", None),
            ("+1::skin-tone-3", "added", "instruct"),
        ]
        assert log[0]["occurred_at"].startswith("2023-11-14T22:15:00")  # Slack's event_ts
        assert vote_count(slack, "base_better") == 2 and vote_count(slack, "instruct_better") == 2


async def test_our_own_and_other_bots_reactions_are_logged_but_never_count(
    settings: Settings, ollama: OllamaFake
):
    async with slack_bot(settings) as slack:
        parent = await one_comparison(slack)
        slack.fake.bot_users.add("U0OTHERBOT")
        await slack.react("a", parent.ts, user=slack.fake.bot_user_id)  # our seed, echoed back
        await slack.react("b", parent.ts, user="U0OTHERBOT")
        await slack.react("handshake", parent.ts)  # a person
        await slack.settled()  # the users.info look-ups, after the acks
        store = slack.bot.runtime.store
        log = await store.reactions(1)
        assert sorted((r["emoji"], r["by_bot"]) for r in log) == [
            ("a", 1), ("b", 1), ("handshake", 0),
        ]  # fmt: skip
        [vote] = await votes_now(slack)
        assert vote.choice is Choice.TIE
        asked = [c.params["user"] for c in slack.fake.calls_to("users.info")]
        assert sorted(asked) == sorted(["U0OTHERBOT", slack.fake.user_id])  # never ourselves


async def test_users_info_is_asked_after_the_ack_and_a_failure_loses_no_vote(
    settings: Settings, ollama: OllamaFake
):
    async with slack_bot(settings) as slack:
        parent = await one_comparison(slack)
        store = slack.bot.runtime.store
        slack.fake.fail_next("users.info", status=500)
        asked = len(slack.fake.calls_to("users.info"))
        await slack.react("a", parent.ts, user="U0NEWVOTER")  # acked: 200
        # Logged before the ack, as a person's, whatever users.info says later.
        [row] = await store.reactions(1)
        assert row["emoji"] == "a" and row["by_bot"] == 0
        await slack.settled()
        assert len(slack.fake.calls_to("users.info")) > asked  # asked, after the ack
        [vote] = await votes_now(slack)
        assert vote.choice is Choice.BASE_BETTER

        # A reactor that users.info later names a bot: logged at once, then no longer counts.
        slack.fake.bot_users.add("U0LATEBOT")
        await slack.react("b", parent.ts, user="U0LATEBOT")
        await slack.settled()
        assert [(r["emoji"], r["by_bot"]) for r in await store.reactions(1)] == [
            ("a", 0), ("b", 1),
        ]  # fmt: skip
        assert [v.choice for v in await votes_now(slack)] == [Choice.BASE_BETTER]


async def test_reactions_elsewhere_are_ignored_and_survive_a_restart(
    settings: Settings, ollama: OllamaFake
):
    async with slack_bot(settings) as slack:
        parent = await one_comparison(slack)
        await slack.react("a", "1700009999.000100")  # some other message
        await slack.event({**slack.fake.reaction_event("a", parent.ts), "item": {"type": "file"}})
    # A new process on the same database: the old message still maps to its comparison.
    async with slack_bot(settings) as again:
        await again.react("-1", parent.ts)
        await eventually(lambda: has_votes(again, 1))
        [vote] = await votes_now(again)
        assert vote.choice is Choice.BOTH_BAD
        assert [r["emoji"] for r in await again.bot.runtime.store.reactions(1)] == ["-1"]


# ---- blind mode -----------------------------------------------------------------------------


def blind_part(text: str) -> tuple[str, str]:
    head, _, rest = text.partition("\n")
    return head, rest


class Toss:
    """Stands in for the `random` module in bot.chat.admission: a fixed coin toss."""

    def __init__(self, result: Role) -> None:
        self.result = result

    def choice(self, options: Any) -> Role:
        assert self.result in options
        return self.result


@pytest.mark.parametrize("first", [Role.BASE, Role.INSTRUCT])
async def test_blind_shows_a_and_b_without_names_then_reveals_on_the_first_vote(
    settings: Settings, ollama: OllamaFake, monkeypatch: pytest.MonkeyPatch, first: Role
):
    monkeypatch.setattr("bot.chat.admission.random", Toss(first))
    ollama.script(BASE, Script(tokens=["base ", "words"], delay=0.02))
    ollama.script(INSTRUCT, Script(tokens=["instruct ", "words"], delay=0.02))
    async with slack_bot(settings) as slack:
        parent = await one_comparison(slack, "--blind hello")
        comparison = await slack.bot.runtime.store.comparison(1)
        assert comparison is not None and comparison["blind"] == 1
        assert comparison["shown_first"] == first.value
        sent = slack.fake.calls_to("chat.postMessage") + slack.fake.calls_to("chat.update")
        for call in sent:  # no model name, no role name, in any version of any message
            text = call.params["text"]
            for giveaway in (BASE, INSTRUCT, "*Base*", "*Instruct*", "pre-trained", "base better"):
                assert giveaway not in text, text
        replies = slack.replies(parent)
        heads = [blind_part(r.text)[0] for r in replies]
        assert heads == [f"*{x}* _names revealed after the first vote_" for x in "AB"]
        a_text = blind_part(replies[0].text)[1]
        assert a_text.startswith("base words" if first is Role.BASE else "instruct words")
        assert "*Blind:*" in parent.text and ":a: A better" in parent.text
        await slack.react("a", parent.ts)
        await slack.fake.wait_for(lambda: len(slack.replies(parent)) == 3)
        reveal = slack.replies(parent)[2].text
        named = {Role.BASE: f"*Base* `{BASE}`", Role.INSTRUCT: f"*Instruct* `{INSTRUCT}`"}
        second = Role.INSTRUCT if first is Role.BASE else Role.BASE
        assert reveal == (
            f":unlock: Names revealed (after the first vote): A was {named[first]}; "
            f"B was {named[second]}."
        )
        [vote] = await votes_now(slack)
        assert vote.blind  # decided before the names were shown
        wanted = Choice.BASE_BETTER if first is Role.BASE else Choice.INSTRUCT_BETTER
        assert vote.choice is wanted
        await slack.react("b", parent.ts, user="U0SECOND")
        await eventually(lambda: has_votes(slack, 2))
        await asyncio.sleep(0.1)
        assert len(slack.replies(parent)) == 3  # revealed once only


async def test_blind_channels_and_the_close_time_reveal(
    make_settings: Callable[..., Settings], ollama: OllamaFake
):
    settings = make_settings(
        ollama_host=ollama.url, blind_channels="C0ARENA", blind_reveal_after=0.3
    )
    async with slack_bot(settings) as slack:
        parent = await one_comparison(slack, "hello", channel_id="C0ARENA")
        await slack.fake.wait_for(lambda: len(slack.replies(parent)) == 3, within=5)
        assert slack.replies(parent)[2].text.startswith(
            ":unlock: Names revealed (the vote closed): A was"
        )
        comparison = await slack.bot.runtime.store.comparison(1)
        assert comparison is not None and comparison["revealed_at"] is not None
        other = await one_comparison(slack, "named", channel_id="C0PLAIN")
        assert other.text.count("*Blind:*") == 0 and "base better" in other.text


async def has_votes(slack: Slack, n: int) -> bool:
    return len(await votes_now(slack)) == n


async def first_choice(slack: Slack, choice: Choice) -> bool:
    votes = await votes_now(slack)
    return bool(votes) and votes[0].choice is choice


async def log_length(slack: Slack, n: int) -> bool:
    return len(await slack.bot.runtime.store.reactions(1)) == n
