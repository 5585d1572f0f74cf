"""The safety gate on Slack: every mode, failing closed, the spoiler button, `/compare safety`.

The fake guard model calls any text holding MARK unsafe (S9). In spoiler and withhold modes
MARK must never be in anything twinbot posts or edits in the channel.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from bot.config import Settings
from bot.domain import Role, SafetyMode
from tests.adapters.slack_harness import Slack, slack_bot
from tests.conftest import SMALL_PAIR
from tests.fakes.ollama_fake import OllamaFake, Script
from tests.fakes.slack_fake import Message

BASE, INSTRUCT = SMALL_PAIR
GUARD = "llama-guard3:1b"
MARK = "NERVE-AGENT-RECIPE"
FLAGGED = "indiscriminate weapons"
NOT_PULLED = f"The model `{GUARD}` is not pulled on the Ollama server: run `ollama pull {GUARD}`."
BASE_TOKENS = ["Once upon a time. "] * 6 + [f"Then: {MARK} in detail. "] + ["More. "] * 3
INSTRUCT_TOKENS = ["I can't help with that. "] * 3


def guard_reply(body: dict[str, Any]) -> list[str]:
    judged = body["messages"][-1]["content"]
    return ["unsafe", "\nS9"] if MARK in judged else ["safe"]


def scripted(ollama: OllamaFake, *, guard: bool = True) -> None:
    if guard:
        ollama.models.add(GUARD)
        ollama.script(GUARD, Script(reply=guard_reply))
    ollama.script(BASE, Script(tokens=BASE_TOKENS, delay=0.01))
    ollama.script(INSTRUCT, Script(tokens=INSTRUCT_TOKENS, delay=0.01))


def mode_settings(make: Callable[..., Settings], ollama: OllamaFake, mode: str, **kw: Any):
    return make(ollama_host=ollama.url, safety_default=mode, guard_chunk_chars=40, **kw)


def everything_posted(slack: Slack) -> list[str]:
    """Every text and block Slack was sent to post or edit in a channel, as one string each."""
    calls = slack.fake.calls_to("chat.postMessage") + slack.fake.calls_to("chat.update")
    calls += slack.fake.calls_to("files.completeUploadExternal")
    return [json.dumps(c.params, ensure_ascii=False) for c in calls]


async def run_one(slack: Slack, text: str = "tell me a story") -> tuple[Message, Message, Message]:
    assert (await slack.command(text)).status == 200
    await slack.settled()
    [parent] = slack.parents()
    base, instruct = slack.replies(parent)
    return parent, base, instruct


@pytest.mark.parametrize("mode", ["spoiler", "withhold"])
async def test_hiding_modes_never_post_the_flagged_text(
    make_settings: Callable[..., Settings], ollama: OllamaFake, mode: str
):
    scripted(ollama)
    async with slack_bot(mode_settings(make_settings, ollama, mode)) as slack:
        parent, base, instruct = await run_one(slack)
        posted = everything_posted(slack)
        assert len(posted) >= 4
        assert not [p for p in posted if MARK in p]
        title, notice, footer = base.text.split("\n")
        assert title.startswith("*Base* ·") and footer.startswith(":white_check_mark:")
        assert f"the guard model flagged this output ({FLAGGED})" in notice
        assert "Once upon a time" not in base.text  # hidden whole, not only the bad part
        assert instruct.text.split("\n")[1] == "".join(INSTRUCT_TOKENS)  # the safe side shows
        if mode == "spoiler":
            assert notice.startswith(":see_no_evil: *Output hidden:*")
            assert base.blocks is not None
            [section, actions] = base.blocks
            assert section["text"]["text"] == base.text
            [button] = actions["elements"]
            assert button["action_id"] == "twinbot_reveal" and button["value"] == "1:base"
            assert button["text"]["text"] == "Show this output (only to you)"
        else:
            assert notice.startswith(":no_entry_sign: *Output withheld:*")
            assert all(m.blocks is None for m in (parent, base, instruct))
        outputs = await slack.bot.runtime.store.outputs(1)
        assert outputs[Role.BASE]["text"] == "".join(BASE_TOKENS)  # what the button reads


async def test_label_mode_shows_the_text_under_a_content_warning(
    make_settings: Callable[..., Settings], ollama: OllamaFake
):
    scripted(ollama)
    async with slack_bot(mode_settings(make_settings, ollama, "label")) as slack:
        _, base, instruct = await run_one(slack)
        lines = base.text.split("\n")
        assert lines[1] == (
            f":warning: *Content warning:* the guard model flagged this output ({FLAGGED})."
        )
        assert lines[2] == "".join(BASE_TOKENS)
        assert "Content warning" not in instruct.text


async def test_off_mode_asks_no_guard(settings: Settings, ollama: OllamaFake):
    scripted(ollama)
    async with slack_bot(settings) as slack:
        _, base, _ = await run_one(slack)
        assert MARK in base.text
        assert [r for r in ollama.requests_to("/api/chat") if r["model"] == GUARD] == []


@pytest.mark.parametrize("mode", ["spoiler", "withhold", "label"])
async def test_without_the_guard_model_outputs_fail_closed(
    make_settings: Callable[..., Settings], ollama: OllamaFake, mode: str
):
    scripted(ollama, guard=False)  # llama-guard3 not pulled
    async with slack_bot(mode_settings(make_settings, ollama, mode)) as slack:
        _, base, instruct = await run_one(slack)
        why = f"the guard model is not available ({NOT_PULLED}), so this output could not be"
        for reply in (base, instruct):
            line = reply.text.split("\n")[1]
            assert why.replace("`", "") in line.replace("`", ""), line
        if mode == "label":
            assert base.text.split("\n")[1].startswith(":grey_question: *Not checked:*")
            assert MARK in base.text  # label never hides
        else:
            assert not [p for p in everything_posted(slack) if MARK in p]
            assert "I can't help" not in instruct.text  # unchecked means hidden, both sides


async def test_the_button_shows_the_text_to_the_clicker_only(
    make_settings: Callable[..., Settings], ollama: OllamaFake
):
    scripted(ollama)
    async with slack_bot(mode_settings(make_settings, ollama, "spoiler")) as slack:
        parent, base, _ = await run_one(slack)
        assert base.blocks is not None
        value = base.blocks[1]["elements"][0]["value"]
        payload = slack.fake.block_action_payload(
            "twinbot_reveal", value, base.ts, user="U0CURIOUS", thread_ts=parent.ts
        )
        await slack.click(payload)
        await slack.fake.wait_for(lambda: len(slack.fake.calls_to("chat.postEphemeral")) == 1)
        [shown] = slack.fake.calls_to("chat.postEphemeral")
        assert shown.params["user"] == "U0CURIOUS" and shown.params["channel"] == parent.channel
        assert shown.params["thread_ts"] == parent.ts
        assert shown.params["text"].startswith(":see_no_evil: Only you can see this: *Base* of ")
        assert "".join(BASE_TOKENS) in shown.params["text"]
        assert not [p for p in everything_posted(slack) if MARK in p]  # still only there
        assert slack.fake.responses == []  # nothing through a response_url either


async def test_the_button_refuses_forged_values_and_a_channel_that_now_withholds(
    make_settings: Callable[..., Settings], ollama: OllamaFake
):
    scripted(ollama)
    settings = mode_settings(make_settings, ollama, "spoiler", slack_admin_users="U0ADMIN")
    async with slack_bot(settings) as slack:
        _, base, _ = await run_one(slack)
        fake = slack.fake
        for value in ("9:base", "1:nobody", "garbage"):
            await slack.click(fake.block_action_payload("twinbot_reveal", value, base.ts))
        other = fake.add_channel("C0ELSEWHERE").id
        await slack.click(
            fake.block_action_payload("twinbot_reveal", "1:base", "1.1", channel=other)
        )
        await fake.wait_for(lambda: len(fake.calls_to("chat.postEphemeral")) == 4)
        texts = [c.params["text"] for c in fake.calls_to("chat.postEphemeral")]
        assert set(texts) == {"This button no longer works: the comparison is not known here."}
        assert (await slack.command("safety withhold", user_id="U0ADMIN")).status == 200
        await slack.settled()
        await slack.click(fake.block_action_payload("twinbot_reveal", "1:base", base.ts))
        await fake.wait_for(lambda: len(fake.calls_to("chat.postEphemeral")) == 5)
        last = fake.calls_to("chat.postEphemeral")[-1].params["text"]
        assert last == "This channel now withholds flagged output, so it cannot be shown."
        assert not [c for c in fake.calls_to("chat.postEphemeral") if MARK in c.params["text"]]


async def test_a_flagged_prompt_is_taken_out_of_the_parent_in_withhold_mode(
    make_settings: Callable[..., Settings], ollama: OllamaFake
):
    scripted(ollama)
    async with slack_bot(mode_settings(make_settings, ollama, "withhold")) as slack:
        parent, _, _ = await run_one(slack, f"write the {MARK}")
        assert MARK not in parent.text
        assert f">_(prompt hidden: the guard model flagged it ({FLAGGED}))_" in parent.text


# ---- /compare safety ------------------------------------------------------------------------


async def test_only_admins_change_the_mode_and_anyone_may_ask(
    make_settings: Callable[..., Settings], ollama: OllamaFake
):
    settings = make_settings(ollama_host=ollama.url, slack_admin_users="U0ADMIN")
    async with slack_bot(settings) as slack:
        store = slack.bot.runtime.store
        refused = await slack.ack_json("safety spoiler")
        assert refused == {
            "text": "Only twinbot's admins can change the safety mode of a channel. "
            "Ask one of them (TWINBOT_SLACK_ADMIN_USERS lists them).",
            "response_type": "ephemeral",
        }
        unknown = await slack.ack_json("safety loud", user_id="U0ADMIN")
        assert unknown["text"].startswith("Unknown safety mode `loud`.")
        assert await store.channel_safety_mode("slack", slack.fake.channel_id) is None
        assert (await slack.command("safety")).status == 200
        assert (await slack.command("SAFETY Spoiler", user_id="U0ADMIN")).status == 200
        await slack.settled()
        shown, done = [r.body["text"] for r in slack.fake.responses]
        assert shown == (
            "Safety mode in this channel: *off* (the default): outputs are shown as written, "
            "without a check."
        )
        assert done.startswith("Done. Safety mode in this channel: *spoiler* (chosen by an admin)")
        assert f"Note: the guard model `{GUARD}` is not pulled" in done
        mode = await store.channel_safety_mode("slack", slack.fake.channel_id)
        assert mode is SafetyMode.SPOILER
        assert slack.fake.calls_to("chat.postMessage") == []  # nothing in the channel
        assert ollama.requests_to("/api/generate") == []  # and nothing ran


async def test_a_channel_mode_wins_over_the_default(
    make_settings: Callable[..., Settings], ollama: OllamaFake
):
    scripted(ollama)
    settings = mode_settings(make_settings, ollama, "label")
    async with slack_bot(settings) as slack:
        await slack.bot.runtime.store.set_channel_safety_mode(
            "slack", slack.fake.channel_id, SafetyMode.WITHHOLD, "U0ADMIN"
        )
        _, base, _ = await run_one(slack)
        assert base.text.split("\n")[1].startswith(":no_entry_sign: *Output withheld:*")
        assert not [p for p in everything_posted(slack) if MARK in p]


async def test_socket_mode_the_button_is_acked_in_time_and_answered(
    make_settings: Callable[..., Settings], ollama: OllamaFake
):
    scripted(ollama)
    async with slack_bot(mode_settings(make_settings, ollama, "spoiler"), socket=True) as slack:
        fake = slack.fake
        await fake.wait_ack(await fake.send_slash_command("/compare", "tell me a story"))
        await fake.wait_for(lambda: len(fake.channels[fake.channel_id].messages) == 3)
        await slack.settled()
        [parent] = slack.parents()
        base = slack.replies(parent)[0]
        payload = fake.block_action_payload(
            "twinbot_reveal", "1:base", base.ts, user="U0CURIOUS", thread_ts=parent.ts
        )
        ack = await fake.wait_ack(await fake.send_interaction(payload))
        assert not ack.late
        await fake.wait_for(lambda: len(fake.calls_to("chat.postEphemeral")) == 1)
        [shown] = fake.calls_to("chat.postEphemeral")
        assert shown.params["user"] == "U0CURIOUS" and MARK in shown.params["text"]
