"""`/compare` end to end: signed HTTP and Socket Mode into the real bolt app, a thread out."""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import Callable
from typing import Any

import pytest

from adapters.slack_app.texts import MESSAGE_LIMIT
from bot.chat.admission import CHANNEL_NOT_ALLOWED
from bot.config import Settings
from bot.domain import Role
from tests.adapters.slack_harness import Slack, side_output, slack_bot
from tests.conftest import SMALL_PAIR
from tests.fakes.ollama_fake import OllamaFake, Script
from tests.fakes.slack_fake import sign

BASE, INSTRUCT = SMALL_PAIR
BASE_TOKENS = ["アニメ", "のレビュー", " <!channel>", " & more"]
INSTRUCT_TOKENS = ["こんにちは！", " How can I help?"]


def stream(ollama: OllamaFake, delay: float = 0.02) -> None:
    ollama.script(BASE, Script(tokens=BASE_TOKENS, delay=delay))
    ollama.script(INSTRUCT, Script(tokens=INSTRUCT_TOKENS, delay=delay))


async def assert_thread_shows_the_comparison(slack: Slack, settings: Settings) -> None:
    fake = slack.fake
    [parent] = slack.parents()
    assert parent.text.startswith("*twinbot #1*")
    assert "pair llama3.2-1b · framing qa · max tokens 40 · temperature 0.7 · asked by human" in (
        parent.text
    )
    assert ">こんにちは" in parent.text
    assert "\n_base sees:_ Q: こんにちは\\nA:\n" in parent.text  # what the base model saw
    replies = slack.replies(parent)
    assert [r.text.split(" ·")[0] for r in replies] == ["*Base*", "*Instruct*"]
    base, base_footer, _ = side_output(replies, "Base")
    instruct, instruct_footer, _ = side_output(replies, "Instruct")
    assert base == "".join(BASE_TOKENS)
    assert instruct == "".join(INSTRUCT_TOKENS)
    for footer in (base_footer, instruct_footer):
        assert footer is not None and footer.startswith(":white_check_mark: ")
        assert "tokens" in footer and "stopped" in footer
    # Streamed: a reply was edited while the model was still writing.
    base_reply = replies[0]
    assert any("writing…" in text for text, _ in base_reply.history)
    assert fake.ratelimited_total == 0

    store = slack.bot.runtime.store
    comparison = await store.comparison(1)
    assert comparison is not None
    assert (comparison["platform"], comparison["workspace_id"], comparison["channel_id"]) == (
        "slack",
        fake.team_id,
        fake.channel_id,
    )
    assert comparison["requester_id"] == store.user_key("slack", fake.user_id)
    assert comparison["thread_id"] == parent.ts
    assert comparison["status"] == "done"
    refs = [await store.message_ref("slack", fake.channel_id, m.ts) for m in [parent, *replies]]
    assert [(r.comparison_id, r.role, r.part, r.kind) for r in refs if r] == [
        (1, None, 0, "parent"),
        (1, Role.BASE, 0, "output"),
        (1, Role.INSTRUCT, 0, "output"),
    ]
    outputs = await store.outputs(1)
    assert outputs[Role.BASE]["text"] == base and outputs[Role.INSTRUCT]["text"] == instruct


async def test_http_mode_full_flow(settings: Settings, ollama: OllamaFake):
    stream(ollama)
    async with slack_bot(settings) as slack:
        started = time.monotonic()
        response = await slack.command("--framing qa --max-tokens 40 こんにちは")
        assert response.status == 200
        assert time.monotonic() - started < 1.0  # Slack allows 3 s; we ack before any I/O
        assert await response.text() == ""  # a bare ack: the thread is the answer
        await slack.settled()
        await assert_thread_shows_the_comparison(slack, settings)
    [generate] = ollama.requests_to("/api/generate")
    assert generate["prompt"] == "Q: こんにちは\nA:" and generate["options"]["num_predict"] == 40


async def test_socket_mode_full_flow(settings: Settings, ollama: OllamaFake):
    stream(ollama)
    async with slack_bot(settings, socket=True) as slack:
        envelope = await slack.fake.send_slash_command(
            "/compare", "--framing qa --max-tokens 40 こんにちは"
        )
        ack = await slack.fake.wait_ack(envelope)
        assert ack.latency < 1.0 and not ack.late
        assert ack.payload is None
        await slack.fake.wait_for(lambda: len(slack.parents()) == 1)
        await slack.settled()
        await assert_thread_shows_the_comparison(slack, settings)


async def test_acks_stay_fast_with_a_slow_ollama_and_many_commands(
    make_settings: Callable[..., Settings], ollama: OllamaFake
):
    # Room for all 25 in the workspace's rate limit and the queue: this is about the acks.
    settings = make_settings(ollama_host=ollama.url, workspace_burst=50, max_running=25)
    ollama.default_script = Script(tokens=["slow"], first_delay=1.0)
    ollama.script(BASE, ollama.default_script)
    ollama.script(INSTRUCT, ollama.default_script)
    async with slack_bot(settings) as slack:

        async def timed(n: int) -> tuple[float, int]:
            started = time.monotonic()
            response = await slack.command(
                f"prompt {n}", user_id=f"U{n:03d}", channel_id=f"C{n:03d}"
            )
            return time.monotonic() - started, response.status

        results = await asyncio.gather(*(timed(n) for n in range(25)))
        assert all(status == 200 for _, status in results)
        assert max(latency for latency, _ in results) < 3.0  # Slack's ack deadline
        await slack.settled(within=9)
        assert len(slack.fake.calls_to("chat.postMessage")) == 25 * 3
        assert slack.fake.ratelimited_total == 0


async def test_socket_mode_acks_a_burst_of_commands_in_time(
    make_settings: Callable[..., Settings], ollama: OllamaFake
):
    settings = make_settings(ollama_host=ollama.url, max_running=15)  # about the acks only
    ollama.script(BASE, Script(tokens=["x"], first_delay=0.5))
    async with slack_bot(settings, socket=True) as slack:
        envelopes = [
            await slack.fake.send_slash_command(
                "/compare", "hi", user_id=f"U{n}", channel_id=f"C{n}"
            )
            for n in range(15)
        ]
        acks = [await slack.fake.wait_ack(e) for e in envelopes]
        assert not any(a.late for a in acks)  # the fake holds Slack's 3 s deadline
        await slack.settled()


@pytest.mark.parametrize("text", ["help", "", "--help"])
async def test_help_is_an_ephemeral_ack(settings: Settings, text: str):
    async with slack_bot(settings) as slack:
        body = await slack.ack_json(text)
        assert body["response_type"] == "ephemeral"
        assert body["text"].startswith("`/compare` sends one prompt to a base model")
        assert "Pairs: `llama3.2-1b` (default)" in body["text"]
        assert slack.fake.calls_to("chat.postMessage") == []


async def test_socket_mode_refusals_are_the_ack_payload(settings: Settings):
    async with slack_bot(settings, socket=True) as slack:
        ack = await slack.fake.wait_ack(
            await slack.fake.send_slash_command("/compare", "--seed x y")
        )
        assert ack.payload == {
            "text": "`--seed` takes a whole number, like `--seed 42` (got `x`).\n"
            "Usage: `/compare [--blind|--no-blind] [--lens[=odds|shift|samples]] [--samples N] "
            "[--pair NAME] [--framing NAME] "
            "[--max-tokens N] [--temperature T] [--seed S] [--] PROMPT`",
            "response_type": "ephemeral",
        }
        assert not ack.late and slack.fake.calls_to("chat.postMessage") == []


async def test_bad_syntax_gets_the_usage_line_escaped(settings: Settings):
    async with slack_bot(settings) as slack:
        body = await slack.ack_json("--colour <!here> write")
        assert body == {
            "text": "Unknown option `--colour`. Options: `--pair`, `--framing`, `--max-tokens`, "
            "`--temperature`, `--seed`. A prompt that starts with a dash goes after `--`.\n"
            "Usage: `/compare [--blind|--no-blind] [--lens[=odds|shift|samples]] [--samples N] "
            "[--pair NAME] [--framing NAME] "
            "[--max-tokens N] [--temperature T] [--seed S] [--] PROMPT`",
            "response_type": "ephemeral",
        }
        bad = await slack.ack_json("--pair <!here> hi")
        assert bad["text"].startswith("Unknown pair `@here`. Known pairs:")
        assert "<" not in bad["text"]
        await slack.settled()
        assert slack.fake.calls_to("chat.postMessage") == []
        assert await slack.bot.runtime.store.comparison(1) is None


async def test_channel_outside_the_allowlist(
    make_settings: Callable[..., Settings], ollama: OllamaFake
):
    settings = make_settings(ollama_host=ollama.url, slack_channels="C0ALLOWED, C0OTHER")
    async with slack_bot(settings) as slack:
        body = await slack.ack_json("hi")
        assert body == {"text": CHANNEL_NOT_ALLOWED, "response_type": "ephemeral"}
        assert (await slack.ack_json("help"))["text"].startswith("`/compare`")  # help still works
        assert await (await slack.command("hi", channel_id="C0ALLOWED")).text() == ""
        await slack.settled()
        assert len(slack.parents("C0ALLOWED")) == 1 and slack.parents() == []


async def test_rate_limited_user_is_told_when_to_retry(
    make_settings: Callable[..., Settings], ollama: OllamaFake
):
    settings = make_settings(ollama_host=ollama.url, user_burst=1, user_comparisons_per_minute=1)
    async with slack_bot(settings) as slack:
        assert (await slack.command("one")).status == 200
        body = await slack.ack_json("two")
        assert body["text"].startswith("You have reached the comparison limit. Try again in")
        others = await slack.command("mine", user_id="U0SOMEONE")  # others are not limited
        assert await others.text() == ""
        await slack.settled()
        assert len(slack.parents()) == 2


async def test_bot_not_in_channel_asks_to_be_invited(settings: Settings, ollama: OllamaFake):
    async with slack_bot(settings) as slack:
        slack.fake.add_channel("C0PRIVATE", member=False)
        response = await slack.command("hi", channel_id="C0PRIVATE")
        assert response.status == 200
        await slack.settled()
        [notice] = slack.fake.responses
        assert notice.body == {
            "text": "I am not a member of this channel, so I cannot post the comparison here. "
            "Invite me with `/invite @twinbot`, then run `/compare` again.",
            "response_type": "ephemeral",
            "replace_original": False,
        }
        assert ollama.requests == []  # nothing ran
        comparison = await slack.bot.runtime.store.comparison(1)
        assert comparison is not None and comparison["status"] == "interrupted"


async def test_other_slack_refusals_are_reported_and_fall_back_to_post_ephemeral(
    settings: Settings, ollama: OllamaFake
):
    async with slack_bot(settings) as slack:
        slack.fake.fail_next("chat.postMessage", error="is_archived")
        with socket.socket() as sock:  # a response_url nobody answers
            sock.bind(("127.0.0.1", 0))
            dead = f"http://127.0.0.1:{sock.getsockname()[1]}/commands/x"
        assert (await slack.command("hi", response_url=dead)).status == 200
        await slack.settled()
        [ephemeral] = slack.fake.calls_to("chat.postEphemeral")
        assert ephemeral.params["user"] == slack.fake.user_id
        assert ephemeral.params["text"] == (
            "Slack refused to post the comparison (`is_archived`); nothing ran. Try again later."
        )


async def footers(slack: Slack, command: str = "hi") -> tuple[str | None, str | None]:
    assert (await slack.command(command)).status == 200
    await slack.settled()
    [parent] = slack.parents()
    replies = slack.replies(parent)
    return side_output(replies, "Base")[1], side_output(replies, "Instruct")[1]


async def test_ollama_unreachable(make_settings: Callable[..., Settings]):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{sock.getsockname()[1]}"
    async with slack_bot(make_settings(ollama_host=closed, connect_timeout=1)) as slack:
        base, instruct = await footers(slack)
        for footer in (base, instruct):
            assert footer == (
                f":warning: failed: Cannot reach Ollama at {closed}. "
                "Is it running (`ollama serve`)? Set TWINBOT_OLLAMA_HOST if it listens elsewhere."
            )


async def test_model_not_pulled_fails_one_side_only(settings: Settings, ollama: OllamaFake):
    ollama.models.discard(BASE)
    async with slack_bot(settings) as slack:
        base, instruct = await footers(slack)
        assert base == (
            f":warning: failed: The model `{BASE}` is not pulled on the Ollama server: "
            f"run `ollama pull {BASE}`."
        )
        assert instruct is not None and instruct.startswith(":white_check_mark:")
        outputs = await slack.bot.runtime.store.outputs(1)
        assert outputs[Role.BASE]["error_kind"] == "model_not_pulled"


async def test_ollama_busy(settings: Settings, ollama: OllamaFake):
    ollama.busy = True
    async with slack_bot(settings) as slack:
        base, instruct = await footers(slack)
        assert base == instruct
        assert base is not None and base.startswith(":warning: failed: Ollama is busy")


async def test_timed_out(make_settings: Callable[..., Settings], ollama: OllamaFake):
    ollama.script(INSTRUCT, Script(tokens=["late"], first_delay=3))
    settings = make_settings(ollama_host=ollama.url, first_token_timeout=0.3, total_timeout=5)
    async with slack_bot(settings) as slack:
        base, instruct = await footers(slack)
        assert base is not None and base.startswith(":white_check_mark:")
        assert instruct is not None
        assert instruct.startswith(":warning: failed: Timed out after 0.3 s waiting for")


async def test_a_side_failing_mid_stream_keeps_its_text(settings: Settings, ollama: OllamaFake):
    ollama.script(
        BASE, Script(tokens=["one", " two", " three"], error_after=2, error="gpu fell over")
    )
    async with slack_bot(settings) as slack:
        base, instruct = await footers(slack)
        assert base == ":warning: failed: The model stopped with an error: gpu fell over"
        [parent] = slack.parents()
        assert side_output(slack.replies(parent), "Base")[0] == "one two"
        assert instruct is not None and instruct.startswith(":white_check_mark:")


MENTIONS = [
    "<!channel>", "<!here>", "<!everyone>", "<!here|here>", "<@U024BE7LH>", "<@U024BE7LH|bob>",
    "<#C024BE7LR|general>", "<!subteam^SAZ94GDB8|@devs>", "<https://evil.example|click me>",
    "&lt;!channel&gt;",
]  # fmt: skip


async def test_nothing_a_model_or_user_writes_can_mention_anyone(
    settings: Settings, ollama: OllamaFake
):
    ollama.script(BASE, Script(tokens=[f" {m}" for m in MENTIONS], delay=0.01))
    ollama.script(INSTRUCT, Script(tokens=MENTIONS[::-1], delay=0.01))
    async with slack_bot(settings) as slack:
        # The user's own text arrives in Slack's escaped wire form and is shown inert too.
        await slack.command("say &lt;!channel&gt; and <!here> to <@U024BE7LH|bob>")
        await slack.settled()
        sent = slack.fake.calls_to("chat.postMessage") + slack.fake.calls_to("chat.update")
        assert len(sent) >= 3
        for call in sent:
            # Our own quote marker starts the parent's prompt lines; nothing else is live.
            text = "\n".join(line.removeprefix(">") for line in call.params["text"].split("\n"))
            assert "<" not in text and ">" not in text, text
            assert call.params["parse"] == "none" and call.params["link_names"] is False
        [parent] = slack.parents()
        assert side_output(slack.replies(parent), "Base")[0] == "".join(f" {m}" for m in MENTIONS)
        assert ">say &lt;!channel&gt; and @here to @bob" in parent.text
        [generate] = ollama.requests_to("/api/generate")
        assert generate["prompt"] == "say <!channel> and @here to @bob"


async def test_long_output_continues_in_further_replies(settings: Settings, ollama: OllamaFake):
    words = [f"w{n:04d} " + ("\n" if n % 12 == 11 else "") for n in range(1000)]  # 6,083 chars
    ollama.script(BASE, Script(tokens=words, delay=0.0005))
    async with slack_bot(settings) as slack:
        await slack.command("--max-tokens 1024 long one")
        await slack.settled(within=9)
        [parent] = slack.parents()
        replies = slack.replies(parent)
        text, footer, parts = side_output(replies, "Base")
        assert text == "".join(words) and len(parts) == 3
        assert footer is not None and footer.startswith(":white_check_mark:")
        assert all(len(r.text) <= MESSAGE_LIMIT for r in replies)
        assert all(len(t) <= MESSAGE_LIMIT for r in replies for t, _ in r.history)
        assert all(p.body.endswith("\n") for p in parts[:-1])  # cut at line ends
        store = slack.bot.runtime.store
        base_ts = [r.ts for r in replies if r.text.startswith("*Base*")]
        refs = [await store.message_ref("slack", slack.fake.channel_id, ts) for ts in base_ts]
        assert [(r.role, r.part) for r in refs if r] == [(Role.BASE, n) for n in range(3)]
        assert slack.fake.ratelimited_total == 0


async def test_bad_and_stale_signatures_are_rejected(settings: Settings, ollama: OllamaFake):
    async with slack_bot(settings) as slack:
        assert slack.http is not None
        body, headers = slack.fake.signed_slash_command("/compare", "hi", secret="wrong")
        assert (await slack.http.post("/slack/events", data=body, headers=headers)).status == 401
        body, headers = slack.fake.signed_slash_command(
            "/compare", "hi", timestamp=int(time.time()) - 6 * 60
        )
        assert (await slack.http.post("/slack/events", data=body, headers=headers)).status == 401
        body, headers = slack.fake.signed_slash_command("/compare", "hi")
        forged = body.replace("text=hi", "text=forged")
        assert (await slack.http.post("/slack/events", data=forged, headers=headers)).status == 401
        unsigned: dict[str, Any] = {"Content-Type": "application/x-www-form-urlencoded"}
        assert (await slack.http.post("/slack/events", data=body, headers=unsigned)).status == 401
        await slack.settled()
        assert slack.fake.calls == [] and ollama.requests == []
        assert await slack.bot.runtime.store.comparison(1) is None
        # The same body, correctly signed, is accepted.
        ok = sign(slack.fake.signing_secret, body)
        response = await slack.http.post("/slack/events", data=body, headers={**unsigned, **ok})
        assert response.status == 200
        await slack.settled()
