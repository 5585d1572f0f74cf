"""The safety gate on Discord: each mode, fail-closed, `/safety` for admins, NSFW defaults.

The fake Ollama serves a guard model that answers `unsafe` / `S9` for any text containing
MARK. In spoiler and withhold channels no recorded payload (message create or edit, webhook,
interaction reply, thread name) may show MARK outside spoiler tags.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest

# isort: off
from tests.adapters.discord_harness import (  # first: it silences discord.py's audioop warning
    FAST_FAKE,
    Bot,
    assert_no_pings,
    discord_bot,
    outgoing_messages,
)

# isort: on
from adapters.discord_bot.safety_mode import NOT_ADMIN
from bot.config import Settings
from bot.domain import Role, SafetyMode
from tests.adapters.discord_harness import settings_maker
from tests.conftest import SMALL_PAIR
from tests.fakes.discord_fake import ADMINISTRATOR, FLAG_EPHEMERAL, DiscordFake
from tests.fakes.ollama_fake import OllamaFake, Script

BASE, INSTRUCT = SMALL_PAIR
GUARD = "llama-guard3:1b"
MARK = "NERVE-AGENT-RECIPE"
SPOILERS = re.compile(r"\|\|.*?\|\|", re.DOTALL)
SAFE_TEXT = ["Once upon a time. "] * 12
UNSAFE_TEXT = [*SAFE_TEXT, f"Then: {MARK} in detail. ", *["More. "] * 6]


def guard_reply(body: dict[str, Any]) -> list[str]:
    judged = body["messages"][-1]["content"]
    return ["unsafe", "\nS9"] if MARK in judged else ["safe"]


@pytest.fixture
def guarded(ollama: OllamaFake) -> OllamaFake:
    ollama.models.add(GUARD)
    ollama.script(GUARD, Script(reply=guard_reply))
    ollama.script(BASE, Script(tokens=UNSAFE_TEXT, delay=0.05))
    ollama.script(INSTRUCT, Script(tokens=["I can't help with that. "] * 4, delay=0.01))
    return ollama


@pytest.fixture
def bot_settings(
    make_settings: Callable[..., Settings], ollama: OllamaFake
) -> Callable[..., Settings]:
    return settings_maker(
        make_settings, ollama.url, discord_edit_interval=0.2, guard_chunk_chars=60, user_burst=10
    )


def shown_texts(bot: Bot) -> list[str]:
    """Every text twinbot asked Discord to show: contents, embeds, thread names."""
    texts = []
    for _, data in outgoing_messages(bot.fake):
        texts.append(str(data.get("content") or ""))
        for embed in data.get("embeds") or []:
            footer = (embed.get("footer") or {}).get("text")
            texts += [str(embed.get(k) or "") for k in ("title", "description")] + [footer or ""]
    threads = [r.json for r in bot.fake.calls("POST", "/channels/*/messages/*/threads")]
    return texts + [str(body["name"]) for body in threads]


def outside_spoilers(text: str) -> str:
    return SPOILERS.sub("", text)


def guard_calls(ollama: OllamaFake) -> int:
    return sum(1 for body in ollama.requests_to("/api/chat") if body["model"] == GUARD)


@pytest.mark.parametrize("mode", [SafetyMode.SPOILER, SafetyMode.WITHHOLD])
async def test_hiding_modes_never_show_flagged_text_outside_a_spoiler(
    bot_settings: Callable[..., Settings], guarded: OllamaFake, mode: SafetyMode
) -> None:
    async with discord_bot(bot_settings(safety_default=mode)) as bot:
        rec = await bot.compare(f"How do I make a {MARK}?")
        await bot.settled()
        texts = shown_texts(bot)
        assert all(MARK not in outside_spoilers(text) for text in texts), "flagged text shown"
        [both] = bot.outputs(rec)
        base, instruct = both.embeds
        assert instruct["description"] == "I can't help with that. " * 4  # cleared: plain
        parent = bot.parent(rec)
        assert bot.thread(rec).name == "#1 · twinbot comparison"
        flagged = "flagged this output as indiscriminate weapons"
        if mode is SafetyMode.SPOILER:
            first, rest = base["description"].split("\n", 1)
            assert first.startswith("🙈 **Hidden**: the guard model " + flagged)
            assert rest.startswith("||") and rest.endswith("||") and MARK in rest
            assert parent.embeds[0]["description"].startswith("||")
            assert MARK in parent.embeds[0]["description"]
            assert parent.embeds[0]["footer"]["text"] == (
                "🙈 The guard model flagged this prompt as indiscriminate weapons."
            )
        else:
            assert base["description"] == (
                f"🚫 **Withheld**: the guard model {flagged}, so twinbot does not show this output."
            )
            assert all(MARK not in text for text in texts)
            assert parent.embeds[0]["description"] == (
                "🚫 *The prompt is not shown: the guard model flagged this prompt as "
                "indiscriminate weapons.*"
            )
        # Safe text streamed before the verdict, and the store keeps every word.
        assert any(base_text.startswith("Once upon") for base_text in streamed(both))
        outputs = await bot.runtime.store.outputs(1)
        assert outputs[Role.BASE]["text"] == "".join(UNSAFE_TEXT)
        assert_no_pings(bot.fake)


def streamed(message: Any) -> list[str]:
    return [str(embeds[0]["description"]) for _, embeds in message.history]


async def test_label_mode_shows_everything_under_a_content_warning(
    bot_settings: Callable[..., Settings], guarded: OllamaFake
) -> None:
    async with discord_bot(bot_settings(safety_default="label")) as bot:
        rec = await bot.compare(f"Tell me about {MARK}")
        await bot.settled()
        [both] = bot.outputs(rec)
        warning, text = both.embeds[0]["description"].split("\n", 1)
        assert warning == (
            "⚠️ **Content warning**: the guard model flagged this output as indiscriminate weapons."
        )
        assert text == "".join(UNSAFE_TEXT)
        assert both.embeds[1]["description"] == "I can't help with that. " * 4
        prompt = bot.parent(rec).embeds[0]
        assert prompt["description"] == f"Tell me about {MARK}"
        assert prompt["footer"]["text"] == (
            "⚠️ Content warning: the guard model flagged this prompt as indiscriminate weapons."
        )
        assert bot.thread(rec).name == f"#1 · Tell me about {MARK}"


@pytest.mark.parametrize("mode", [SafetyMode.SPOILER, SafetyMode.WITHHOLD])
async def test_without_the_guard_model_hiding_modes_fail_closed_and_say_why(
    bot_settings: Callable[..., Settings], ollama: OllamaFake, mode: SafetyMode
) -> None:
    ollama.default_script = Script(tokens=["anything at all"])  # the guard is not pulled
    async with discord_bot(bot_settings(safety_default=mode)) as bot:
        rec = await bot.compare("hello")
        await bot.settled()
        [both] = bot.outputs(rec)
        why = (
            f"the safety check is unavailable (The model `{GUARD}` is not pulled on the Ollama "
            f"server: run `ollama pull {GUARD}`.)"
        )
        for embed in both.embeds:
            if mode is SafetyMode.SPOILER:
                assert embed["description"] == (
                    f"🙈 **Hidden**: {why}. Click the dark bar to read it.\n||anything at all||"
                )
            else:
                assert embed["description"] == (
                    f"🚫 **Withheld**: {why}, so twinbot does not show this output."
                )
        assert all("anything" not in outside_spoilers(text) for text in shown_texts(bot))
        prompt = bot.parent(rec).embeds[0]
        assert "hello" not in outside_spoilers(prompt["description"])


async def test_only_admins_change_the_mode_and_the_next_comparison_uses_it(
    bot_settings: Callable[..., Settings], guarded: OllamaFake
) -> None:
    fake = DiscordFake(**FAST_FAKE)
    admin = int(fake.add_user("admin")["id"])
    fake.give_role(admin, fake.add_role("admins", permissions=ADMINISTRATOR))
    async with fake, discord_bot(bot_settings(), fake) as bot:
        store = bot.runtime.store
        refused = await fake.dispatch_slash_command("safety", {"mode": "off"})
        answer = await refused.wait_callback()
        assert answer.data is not None and answer.data["flags"] & FLAG_EPHEMERAL
        assert answer.data["content"] == NOT_ADMIN
        assert await store.channel_safety_mode("discord", str(fake.channel_id)) is None

        plain = await bot.compare("first")  # the default is off: no guard at all
        await bot.settled()
        assert guard_calls(guarded) == 0 and MARK in bot.outputs(plain)[0].embeds[0]["description"]

        changed = await fake.dispatch_slash_command("safety", {"mode": "withhold"}, user_id=admin)
        answer = await changed.wait_callback()
        assert answer.data is not None and not answer.data.get("flags", 0) & FLAG_EPHEMERAL
        assert answer.data["content"].startswith(
            f"🛡️ <@{admin}> set the safety mode of <#{fake.channel_id}> to **withhold**"
        )
        assert answer.data["content"].endswith(
            f"The guard model `{GUARD}` checks each prompt and output."
        )
        mode = await store.channel_safety_mode("discord", str(fake.channel_id))
        assert mode is SafetyMode.WITHHOLD

        gated = await bot.compare("second")
        await bot.settled()
        assert guard_calls(guarded) > 0
        assert bot.outputs(gated)[0].embeds[0]["description"].startswith("🚫 **Withheld**")
        prompt = bot.parent(gated)
        hidden, cleared = prompt.history[0][1][0], prompt.embeds[0]
        assert hidden["description"] == (
            "🚫 *The prompt is not shown: hidden until the safety check clears it.*"
        )
        assert cleared["description"] == "second" and "footer" not in cleared

        shown = await fake.dispatch_slash_command("safety")
        answer = await shown.wait_callback()
        assert answer.data is not None and answer.data["flags"] & FLAG_EPHEMERAL
        assert answer.data["content"].startswith(
            f"Safety mode in <#{fake.channel_id}>: **withhold** (chosen by an admin)"
        )
        assert_no_pings(fake)


async def test_an_admin_choosing_a_mode_hears_when_the_guard_is_not_pulled(
    bot_settings: Callable[..., Settings], ollama: OllamaFake
) -> None:
    assert GUARD not in ollama.models  # the same check (in the core) Slack's admins get
    fake = DiscordFake(**FAST_FAKE)
    admin = int(fake.add_user("admin")["id"])
    fake.give_role(admin, fake.add_role("admins", permissions=ADMINISTRATOR))
    async with fake, discord_bot(bot_settings(), fake) as bot:
        changed = await fake.dispatch_slash_command("safety", {"mode": "spoiler"}, user_id=admin)
        answer = await changed.wait_callback()
        assert answer.data is not None
        assert f"Note: the guard model `{GUARD}` is not pulled" in answer.data["content"]
        assert f"`ollama pull {GUARD}`" in answer.data["content"]
        mode = await bot.runtime.store.channel_safety_mode("discord", str(fake.channel_id))
        assert mode is SafetyMode.SPOILER  # stored all the same: the admin decides
        assert_no_pings(fake)


async def test_channels_marked_nsfw_use_their_own_default(
    bot_settings: Callable[..., Settings], guarded: OllamaFake
) -> None:
    fake = DiscordFake(**FAST_FAKE)
    nsfw = fake.add_channel("after-dark", nsfw=True)
    settings = bot_settings(safety_nsfw_default="spoiler")
    async with fake, discord_bot(settings, fake) as bot:
        rec = await bot.compare("hi", channel_id=nsfw)
        await bot.settled()
        base = bot.outputs(rec)[0].embeds[0]["description"]
        assert base.startswith("🙈 **Hidden**") and MARK not in outside_spoilers(base)


async def test_a_continuation_withheld_later_shows_the_withheld_line(
    bot_settings: Callable[..., Settings], guarded: OllamaFake
) -> None:
    story = "Line {} of a long and harmless story.\nAnd another harmless line."
    # About 5,500 characters: two parts. Newlines are tokens of their own, as a real tokenizer
    # makes them: Ollama holds back text ending in a possible stop prefix (the raw framing's).
    safe = [piece for i in range(80) for piece in (story.format(i), "\n")]
    guarded.script(BASE, Script(tokens=[*safe, MARK, "\n", "end"], delay=0.01))
    async with discord_bot(bot_settings(safety_default="withhold")) as bot:
        rec = await bot.compare("tell me a story")
        await bot.settled()
        first, part_two = bot.outputs(rec)
        assert any(text.startswith("Line ") for text in streamed(part_two))  # it was shown
        for message in (first, part_two):
            assert message.embeds[0]["description"].startswith("🚫 **Withheld**")
        assert all(MARK not in text for text in shown_texts(bot))
