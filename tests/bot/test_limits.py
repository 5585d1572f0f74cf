"""Token buckets per user and per channel, on a clock the test moves."""

from __future__ import annotations

import pytest

from bot.chat.limits import Decision, RateLimiter, TokenBuckets, refusal_message


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


def limiter(clock: Clock, exempt: frozenset[str] = frozenset()) -> RateLimiter:
    # A user: 2 at once, then one every 30 s. A channel: 3 at once, then one every 20 s.
    return RateLimiter(TokenBuckets(2, 2, clock), TokenBuckets(3, 3, clock), exempt)


def test_user_burst_then_refusal_with_the_wait(clock: Clock):
    limits = limiter(clock)
    assert limits.check("alice", "c1").allowed
    assert limits.check("alice", "c1").allowed
    refused = limits.check("alice", "c1")
    assert refused == Decision(False, pytest.approx(30.0), "user")
    clock.now = 30.0
    assert limits.check("alice", "c1").allowed


def test_channel_limit_applies_across_users(clock: Clock):
    limits = limiter(clock)
    for user in ("a", "b", "c"):
        assert limits.check(user, "c1").allowed
    refused = limits.check("d", "c1")
    assert (refused.allowed, refused.scope) == (False, "channel")
    assert refused.retry_after == pytest.approx(20.0)
    assert limits.check("d", "c2").allowed


def test_a_refused_request_takes_no_token(clock: Clock):
    limits = limiter(clock)
    for user in ("a", "b", "c"):
        limits.check(user, "c1")
    assert not limits.check("a", "c1").allowed  # refused by the channel
    clock.now = 20.0
    # "a" still has one token: the refusal above did not spend it.
    assert limits.check("a", "c1").allowed


def test_exempt_users_are_never_limited(clock: Clock):
    limits = limiter(clock, frozenset({"admin"}))
    assert all(limits.check("admin", "c1").allowed for _ in range(20))


def test_memory_is_bounded():
    buckets = TokenBuckets(1, 1, max_keys=100)
    for index in range(1000):
        buckets.take(f"user{index}")
    assert len(buckets._buckets) == 100


def test_refusal_message_says_when_to_try_again():
    assert refusal_message(Decision(False, 29.4, "user")) == (
        "You have reached the comparison limit. Try again in 29 s."
    )
    assert refusal_message(Decision(False, 0.2, "channel")).startswith("This channel has")


def test_the_workspace_limit_applies_across_channels(clock: Clock):
    limits = RateLimiter(
        TokenBuckets(60, 10, clock),
        TokenBuckets(60, 10, clock),
        workspace=TokenBuckets(1, 2, clock),
    )
    assert limits.check("a", "c1", "w1").allowed
    assert limits.check("b", "c2", "w1").allowed
    refused = limits.check("c", "c3", "w1")
    assert (refused.allowed, refused.scope) == (False, "workspace")
    assert refused.retry_after == pytest.approx(60.0)
    assert limits.check("c", "c3", "w2").allowed
    assert refusal_message(refused).startswith("This server has reached")


def test_an_exempt_request_skips_every_limit(clock: Clock):
    limits = limiter(clock)
    assert all(limits.check("admin", "c1", exempt=True).allowed for _ in range(20))
    assert limits.check("someone", "c1").allowed  # the admin's requests took no channel tokens
