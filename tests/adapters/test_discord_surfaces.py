"""No payload twinbot sends can ping anyone, whatever the prompt and the models write.

A property over the wire: for generated prompts and outputs full of @everyone, @here, user and
role mentions, every message create, edit, follow-up and interaction reply that reaches the
fake Discord carries `allowed_mentions: {"parse": []}`, also on the fallback path.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
from hypothesis import HealthCheck, Phase, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

# isort: off
from tests.adapters.discord_harness import (  # first: audioop warning
    NO_PINGS,
    Bot,
    discord_bot,
    outgoing_messages,
)

# isort: on
from adapters.discord_bot.surfaces import message_fields
from adapters.discord_bot.texts import EmbedSpec, MessageSpec
from bot.config import Settings
from tests.conftest import SMALL_PAIR
from tests.fakes.ollama_fake import OllamaFake, Script

BASE, INSTRUCT = SMALL_PAIR
mention = st.sampled_from(
    ["@everyone", "@here", "<@123456789012345678>", "<@!42>", "<@&987654321098765432>", "@"]
)
# Not U+0085, U+2028 or the like: httpx splits Ollama's NDJSON lines there (see the report).
plain = st.text(st.characters(codec="utf-8", categories=["L", "N", "P", "S", "Zs"]), max_size=8)
chunk = st.lists(mention | plain, min_size=1, max_size=6).map(" ".join)


@pytest.fixture
async def bot(make_settings: Callable[..., Settings], ollama: OllamaFake) -> AsyncIterator[Bot]:
    """One bot for every example: each example is a new comparison on it."""
    settings = make_settings(
        ollama_host=ollama.url,
        discord_edit_interval=0.2,
        user_burst=100,
        user_comparisons_per_minute=600,
        channel_burst=100,
        channel_comparisons_per_minute=600,
    )
    async with discord_bot(settings) as running:
        yield running


@hypothesis_settings(
    max_examples=8,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
    phases=[Phase.explicit, Phase.reuse, Phase.generate],  # no shrinking: each example is slow
)
@given(tokens=st.lists(chunk, min_size=1, max_size=12), prompt=chunk, threads=st.booleans())
async def test_no_payload_can_ping_anyone(
    bot: Bot, ollama: OllamaFake, tokens: list[str], prompt: str, threads: bool
) -> None:
    fake, seen = bot.fake, len(bot.fake.requests)
    ollama.default_script = Script(tokens=tokens, delay=0.01)
    fake.deny_threads = not threads  # then the outputs go out as interaction follow-ups
    rec = await bot.compare(prompt if prompt.strip() else "@everyone", blind=threads)
    await bot.settled()
    if threads:  # a vote on the parent reveals the blind names in the thread
        await fake.dispatch_reaction_add(fake.channel_id, bot.parent(rec).id, fake.user_id, "🅰️")
        await fake.wait_until(lambda: "🔓" in bot.outputs(rec)[-1].content)
    fake.requests[:seen] = []  # only this example's requests
    payloads = outgoing_messages(fake)
    assert len(payloads) >= 2  # the reply and the outputs at least
    for where, data in payloads:
        assert data.get("allowed_mentions") == NO_PINGS, where


def test_every_message_twinbot_builds_disables_mentions() -> None:
    spec = MessageSpec(None, 0, "@everyone", (EmbedSpec("t", "<@1>", 0),))
    fields: dict[str, Any] = message_fields(spec)
    assert fields["allowed_mentions"].to_dict() == NO_PINGS
