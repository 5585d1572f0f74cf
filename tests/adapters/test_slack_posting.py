"""chat.postMessage per channel: paced under Slack's limit, in order, 429s sat out."""

from __future__ import annotations

import asyncio

import pytest
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from adapters.slack_app.posting import PostBudget, PostPacer
from tests.fakes.slack_fake import SlackFake


async def test_a_burst_then_the_rate_with_zero_429s():
    async with SlackFake(post_rate=10.0, post_burst=4) as fake:
        pacer = PostPacer(AsyncWebClient(token=fake.bot_token, base_url=fake.api_url),
                          PostBudget(rate=10.0, burst=2))  # fmt: skip
        loop = asyncio.get_running_loop()
        started = loop.time()
        for n in range(8):
            await pacer.post(fake.channel_id, f"m{n}")
        assert loop.time() - started >= (8 - 2) / 10 * 0.95
        assert fake.ratelimited_total == 0 and pacer.rate_limited == 0
        assert [c.params["text"] for c in fake.calls_to("chat.postMessage")] == [
            f"m{n}" for n in range(8)
        ]


async def test_concurrent_posts_keep_their_order_and_channels_do_not_wait_for_each_other():
    async with SlackFake(post_rate=5.0, post_burst=1) as fake:
        fake.add_channel("C0OTHER")
        # A little under the fake's rate, as in production: the fake counts from when each
        # request arrives, so with no margin network jitter alone could cost a 429.
        pacer = PostPacer(AsyncWebClient(token=fake.bot_token, base_url=fake.api_url),
                          PostBudget(rate=4.0, burst=1))  # fmt: skip
        other = asyncio.create_task(pacer.post("C0OTHER", "elsewhere"))
        in_order = await asyncio.gather(*(pacer.post(fake.channel_id, f"{n}") for n in range(4)))
        await other
        texts = [fake.message(fake.channel_id, ts).text for ts in in_order]
        assert texts == ["0", "1", "2", "3"]
        assert sorted(in_order, key=float) == in_order
        arrived = [c.params["text"] for c in fake.calls_to("chat.postMessage")]
        # Not queued behind the busy channel: it lands before that channel's paced posts end.
        assert arrived.index("elsewhere") < arrived.index("3")
        assert fake.ratelimited_total == 0


async def test_a_429_is_waited_out_with_retry_after():
    async with SlackFake() as fake:
        pacer = PostPacer(AsyncWebClient(token=fake.bot_token, base_url=fake.api_url))
        fake.fail_next("chat.postMessage", status=429, retry_after=1)
        ts = await pacer.post(fake.channel_id, "made it")
        refused, accepted = fake.calls_to("chat.postMessage")
        assert accepted.at - refused.at >= 1.0
        assert fake.message(fake.channel_id, ts).text == "made it"
        assert pacer.rate_limited == 1


async def test_other_errors_are_raised_to_the_caller():
    async with SlackFake() as fake:
        fake.add_channel("C0NOTIN", member=False)
        pacer = PostPacer(AsyncWebClient(token=fake.bot_token, base_url=fake.api_url))
        with pytest.raises(SlackApiError) as caught:
            await pacer.post("C0NOTIN", "hi")
        assert caught.value.response["error"] == "not_in_channel"


async def test_posts_never_link_names_or_unfurl():
    async with SlackFake() as fake:
        pacer = PostPacer(AsyncWebClient(token=fake.bot_token, base_url=fake.api_url))
        await pacer.post(fake.channel_id, "@here see https://example.com", thread_ts="1.000100")
        params = fake.calls_to("chat.postMessage")[0].params
        assert params["parse"] == "none" and params["link_names"] is False
        assert params["unfurl_links"] is False and params["unfurl_media"] is False
        assert params["thread_ts"] == "1.000100"


def test_budget_validation():
    with pytest.raises(ValueError):
        PostBudget(rate=0)
    with pytest.raises(ValueError):
        PostBudget(burst=0)
