"""The shared chat flow: validate, then the allowlist, then the rate limit; tasks kept alive."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence

import pytest

from bot.catalog import Catalog
from bot.chat_flow import (
    CHANNEL_NOT_ALLOWED,
    Refusal,
    TaskKeeper,
    admit,
    channel_allowed,
    options_summary,
)
from bot.config import Settings
from bot.domain import CompareRequest, Requester
from bot.inline_options import CompareArgs
from bot.limits import RateLimiter, TokenBuckets

WHO = Requester(platform="slack", user_id="U1", workspace_id="T1", channel_id="C1")


def limiter(user_burst: int = 1) -> RateLimiter:
    return RateLimiter(TokenBuckets(1, user_burst), TokenBuckets(60, 100))


@pytest.fixture
def run(settings: Settings, catalog: Catalog) -> Callable[..., CompareRequest | Refusal]:
    gate = limiter(user_burst=1)

    def run_one(
        args: CompareArgs, who: Requester = WHO, allowed: Sequence[str] = ()
    ) -> CompareRequest | Refusal:
        return admit(settings, catalog, gate, who, args, allowed_channels=allowed)

    return run_one


def test_admit_builds_the_request(run: Callable[..., CompareRequest | Refusal]):
    request = run(CompareArgs("hi", framing="qa", seed=4))
    assert isinstance(request, CompareRequest)
    assert (request.prompt, request.framing.name, request.options.seed) == ("hi", "qa", 4)
    assert request.requester == WHO


def test_bad_input_is_refused_before_it_costs_a_rate_limit_token(
    run: Callable[..., CompareRequest | Refusal],
):
    bad = run(CompareArgs("hi", pair="nope"))
    assert isinstance(bad, Refusal) and bad.reason == "bad_input"
    assert bad.message.startswith("Unknown pair `nope`. Known pairs:")
    assert isinstance(run(CompareArgs("hi")), CompareRequest)  # the one token was still there


def test_channel_outside_the_allowlist(run: Callable[..., CompareRequest | Refusal]):
    assert run(CompareArgs("hi"), allowed=["C9"]) == Refusal("channel", CHANNEL_NOT_ALLOWED)
    # ...and it cost no token: the same user may still run one where it is allowed.
    assert isinstance(run(CompareArgs("hi"), allowed=["C1"]), CompareRequest)


def test_rate_limited_user(run: Callable[..., CompareRequest | Refusal]):
    assert isinstance(run(CompareArgs("a")), CompareRequest)
    refused = run(CompareArgs("b"))
    assert isinstance(refused, Refusal) and refused.reason == "rate_limited"
    assert refused.message.startswith("You have reached the comparison limit. Try again in")


def test_rate_limit_keys_are_per_workspace(run: Callable[..., CompareRequest | Refusal]):
    other = Requester(platform="slack", user_id="U1", workspace_id="T2", channel_id="C1")
    assert isinstance(run(CompareArgs("a")), CompareRequest)
    assert isinstance(run(CompareArgs("a"), who=other), CompareRequest)


def test_channel_allowed():
    assert channel_allowed("C1", [])
    assert channel_allowed("C1", ["C1", "C2"])
    assert not channel_allowed("C3", ["C1"])
    assert not channel_allowed(None, ["C1"])


def test_options_summary(run: Callable[..., CompareRequest | Refusal]):
    request = run(CompareArgs("x", max_tokens=9, temperature=0.25, seed=1))
    assert isinstance(request, CompareRequest)
    assert options_summary(request) == (
        "pair llama3.2-1b · framing raw · max tokens 9 · temperature 0.25 · seed 1"
    )


async def test_task_keeper_holds_logs_and_cancels(caplog: pytest.LogCaptureFixture):
    keeper = TaskKeeper()
    cleaned = asyncio.Event()

    async def slow() -> None:
        try:
            await asyncio.sleep(60)
        finally:
            await asyncio.sleep(0.01)  # cleanup that itself awaits still gets to run
            cleaned.set()

    async def broken() -> None:
        raise RuntimeError("boom")

    keeper.spawn(slow(), name="slow")
    keeper.spawn(broken(), name="broken")
    await asyncio.sleep(0.01)
    assert len(keeper) == 1
    assert "background task broken failed" in caplog.text
    await keeper.close(grace=0.05, cleanup=1.0)
    assert cleaned.is_set() and len(keeper) == 0


async def test_task_keeper_lets_work_finish_within_the_grace():
    keeper = TaskKeeper()
    finished = asyncio.Event()

    async def short() -> None:
        await asyncio.sleep(0.1)
        finished.set()

    task = keeper.spawn(short(), name="short")
    await keeper.close(grace=2.0)
    assert finished.is_set() and not task.cancelled()


async def test_task_keeper_gives_up_after_the_grace(caplog: pytest.LogCaptureFixture):
    keeper = TaskKeeper()

    async def stubborn() -> None:
        try:
            await asyncio.sleep(60)
        finally:
            await asyncio.sleep(60)  # a cleanup that would hang shutdown

    task = keeper.spawn(stubborn(), name="stubborn")
    await asyncio.sleep(0)
    loop = asyncio.get_running_loop()
    started = loop.time()
    await keeper.close(grace=0, cleanup=0.1)
    assert loop.time() - started < 1.0
    assert task.cancelled()
    assert "still busy after 0.1 s" in caplog.text
