"""Slack HTTP mode refuses replays: a signed request (the same timestamp and signature) is
acted on once, and an event once per `event_id`, Slack's own retries included."""

from __future__ import annotations

import contextlib
import json
import logging
import sqlite3

import pytest

from adapters.slack_app.replays import EVENT_WINDOW, SIGNATURE_WINDOW, ReplayGuard
from bot.config import Settings
from tests.adapters.slack_harness import eventually, slack_bot
from tests.conftest import SMALL_PAIR
from tests.fakes.ollama_fake import OllamaFake, Script
from tests.fakes.slack_fake import sign

BASE, INSTRUCT = SMALL_PAIR
REFUSED = "replayed slack request refused"


def signed(ts: int, signature: str, retry: int | None = None) -> dict[str, list[str]]:
    headers = {"x-slack-request-timestamp": [str(ts)], "x-slack-signature": [signature]}
    return headers | ({"x-slack-retry-num": [str(retry)]} if retry is not None else {})


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def test_a_signed_pair_is_refused_until_bolt_would_refuse_it_itself() -> None:
    clock = Clock(1_000_000.0)
    guard = ReplayGuard(clock=clock)
    ts = int(clock.now) + 200  # bolt accepts timestamps up to 5 minutes ahead, too
    assert guard.check(signed(ts, "v0=a"), {}) is None
    assert guard.check(signed(ts, "v0=b"), {}) is None  # another request, same second
    clock.now = ts + SIGNATURE_WINDOW  # still inside bolt's window for this timestamp
    assert guard.check(signed(ts, "v0=a"), {}) == ("signed", str(ts), "v0=a")
    clock.now = ts + SIGNATURE_WINDOW + 60  # bolt's own check now refuses it: forgotten
    assert guard.check(signed(ts + 1000, "v0=c"), {}) is None
    assert len(guard) == 1


def test_an_event_is_handled_once_whatever_its_signature() -> None:
    clock = Clock(1_000_000.0)
    guard = ReplayGuard(clock=clock)
    body = {"type": "event_callback", "event_id": "Ev1"}
    assert guard.check(signed(1_000_000, "v0=first"), body) is None
    clock.now += 60  # Slack's retry a minute later: new timestamp and signature
    assert guard.check(signed(1_000_060, "v0=retry", retry=1), body) == ("event", "Ev1")
    assert guard.check({}, body) == ("event", "Ev1")  # Socket Mode: no headers, same id
    assert guard.check({}, {"event_id": "Ev2"}) is None
    clock.now += EVENT_WINDOW + 1
    assert guard.check({}, body) is None


async def test_an_event_whose_work_failed_is_let_in_again() -> None:
    guard = ReplayGuard(clock=Clock(1_000_000.0))
    body = {"type": "event_callback", "event_id": "Ev1"}
    assert guard.check(signed(1_000_000, "v0=first"), body) is None
    with pytest.raises(RuntimeError), guard.acting_on(body):
        raise RuntimeError("the log refused it")  # answered 500: Slack sends it again
    assert guard.check(signed(1_000_060, "v0=retry", retry=1), body) is None
    with guard.acting_on(body):
        pass  # logged this time
    assert guard.check(signed(1_000_300, "v0=again", retry=2), body) == ("event", "Ev1")


def test_memory_is_bounded_oldest_first() -> None:
    clock = Clock(1_000_000.0)
    guard = ReplayGuard(limit=3, clock=clock)
    for n in range(10):
        guard.check(signed(1_000_000, f"v0={n}"), {})
    assert len(guard) == 3
    assert guard.check(signed(1_000_000, "v0=9"), {}) is not None
    assert guard.check(signed(1_000_000, "v0=0"), {}) is None  # dropped to stay in bounds


async def test_a_replayed_compare_runs_once(
    settings: Settings, ollama: OllamaFake, caplog: pytest.LogCaptureFixture
) -> None:
    async with slack_bot(settings) as slack:
        body, headers = slack.fake.signed_slash_command("/compare", "hello")
        first = await slack.post_signed(body, headers)
        assert first.status == 200
        await slack.settled()
        with caplog.at_level(logging.WARNING, "adapters.slack_app.replays"):
            again = await slack.post_signed(body, headers)
            assert again.status == 200 and await again.text() == ""
        await slack.settled()
        assert len(slack.parents()) == 1
        assert len(ollama.requests) == 2  # one generate, one chat: one comparison
        assert [r.message for r in caplog.records].count(
            f"replayed slack request refused (/compare team={slack.fake.team_id} "
            f"user={slack.fake.user_id} key=signed)"
        ) == 1
        # A new request from the same user is not a replay.
        fresh = await slack.post_signed(*slack.fake.signed_slash_command("/compare", "hello"))
        assert fresh.status == 200
        await slack.settled()
        assert len(slack.parents()) == 2


async def test_a_replayed_or_retried_event_is_logged_once(
    settings: Settings, ollama: OllamaFake, caplog: pytest.LogCaptureFixture
) -> None:
    ollama.script(BASE, Script(tokens=["b"]))
    async with slack_bot(settings) as slack:
        assert (await slack.command("hi")).status == 200
        await slack.settled()
        [parent] = slack.parents()
        store = slack.bot.runtime.store
        event = slack.fake.reaction_event("a", parent.ts, event_ts="1700000100.000001")
        body, headers = slack.fake.signed_event(event)
        retry = {
            **headers,
            **sign(slack.fake.signing_secret, body, int(headers["X-Slack-Request-Timestamp"]) + 60),
        }
        with caplog.at_level(logging.INFO, "adapters.slack_app.replays"):
            for sent in (headers, headers, retry | {"X-Slack-Retry-Num": "1"}):
                assert (await slack.post_signed(body, sent)).status == 200
        event_id = json.loads(body)["event_id"]
        assert [r.getMessage() for r in caplog.records] == [
            f"replayed slack request refused (event_callback team={slack.fake.team_id} "
            f"user=None key=event {event_id})",
            f"slack retry 1 of event {event_id} ignored: already handled",
        ]
        # Another reaction after them is logged: the log holds it and the first one only.
        await slack.react("b", parent.ts, event_ts="1700000101.000001")

        async def two_logged() -> bool:
            return len(await store.reactions(1)) >= 2

        await eventually(two_logged)
        assert [r["emoji"] for r in await store.reactions(1)] == ["a", "b"]


async def test_a_retry_after_a_failed_write_is_logged_exactly_once(
    settings: Settings, ollama: OllamaFake
) -> None:
    """A reaction the log refused is not acked (500), and the guard forgets its event id:
    Slack's retry is let in and logged, once; a further copy is refused."""
    ollama.script(BASE, Script(tokens=["b"]))
    async with slack_bot(settings) as slack:
        assert (await slack.command("hi")).status == 200
        await slack.settled()
        [parent] = slack.parents()
        store = slack.bot.runtime.store
        event = slack.fake.reaction_event("a", parent.ts, event_ts="1700000100.000001")
        body, headers = slack.fake.signed_event(event)
        ts = int(headers["X-Slack-Request-Timestamp"])

        def retry(number: int) -> dict[str, str]:
            later = sign(slack.fake.signing_secret, body, ts + 60 * number)
            return {**headers, **later, "X-Slack-Retry-Num": str(number)}

        # Another program's trigger makes every insert into the log fail for a while.
        with contextlib.closing(sqlite3.connect(settings.database_path)) as other:
            other.execute(
                "CREATE TRIGGER refuse BEFORE INSERT ON reactions "
                "BEGIN SELECT RAISE(ABORT, 'refused for the test'); END"
            )
            other.commit()
            assert (await slack.post_signed(body, headers)).status == 500  # not acked
            other.execute("DROP TRIGGER refuse")
            other.commit()
        assert await store.reactions(1) == []

        assert (await slack.post_signed(body, retry(1))).status == 200  # let in, logged
        assert (await slack.post_signed(body, retry(2))).status == 200  # refused: handled
        [row] = await store.reactions(1)
        assert row["emoji"] == "a"
