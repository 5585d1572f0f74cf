"""`/compare demo`: the classic experiments, listed and run with their own settings and story."""

from __future__ import annotations

from adapters.slack_app.mrkdwn import escape
from bot.config import REPO_ROOT, Settings
from bot.engine.catalog import load_catalog
from bot.engine.demos import load_demos
from tests.adapters.slack_harness import slack_bot
from tests.fakes.ollama_fake import OllamaFake

DEMOS = load_demos(REPO_ROOT / "prompts", load_catalog(REPO_ROOT / "prompts"))


async def test_demo_alone_lists_them(settings: Settings):
    async with slack_bot(settings) as slack:
        body = await slack.ack_json("demo")
        assert body["response_type"] == "ephemeral"
        lines = body["text"].split("\n")
        assert lines[0] == "Demos (run one with `/compare demo NAME`):"
        assert lines[1:] == [f"• `{d.name}`: {escape(d.title)}" for d in DEMOS.values()]
        assert slack.fake.calls_to("chat.postMessage") == []


async def test_a_demo_runs_its_prompt_framing_and_settings_and_tells_its_story(
    settings: Settings, ollama: OllamaFake
):
    demo = DEMOS["self-qa"]
    async with slack_bot(settings) as slack:
        assert await (await slack.command("demo self-qa")).text() == ""
        await slack.settled()
        [parent] = slack.parents()
        story = f":bulb: *Demo: {escape(demo.title)}.* {escape(demo.explain)}"
        assert parent.text.split("\n")[1] == story
        assert f"framing {demo.framing} · max tokens {demo.max_tokens}" in parent.text
    [generate] = ollama.requests_to("/api/generate")
    assert generate["prompt"] == demo.prompt  # framing raw: as written
    assert generate["options"]["num_predict"] == demo.max_tokens
    assert generate["options"]["temperature"] == demo.temperature
    [chat] = ollama.requests_to("/api/chat")
    assert chat["messages"] == [{"role": "user", "content": demo.prompt}]


async def test_options_given_with_a_demo_override_its_own(settings: Settings, ollama: OllamaFake):
    async with slack_bot(settings) as slack:
        await slack.command("demo --max-tokens 30 --blind greeting")
        await slack.settled()
        comparison = await slack.bot.runtime.store.comparison(1)
        assert comparison is not None and comparison["blind"] == 1
    [generate] = ollama.requests_to("/api/generate")
    assert generate["options"]["num_predict"] == 30
    assert generate["prompt"] == DEMOS["greeting"].prompt


async def test_an_unknown_demo_names_the_known_ones_and_the_way_out(
    settings: Settings, ollama: OllamaFake
):
    async with slack_bot(settings) as slack:
        body = await slack.ack_json("demo day was fun")
        known = ", ".join(DEMOS)
        assert body["text"] == (
            f"Unknown demo `day was fun`. Known demos: {known}. To send a prompt that starts "
            "with that word, put `--` before it: `/compare -- demo day was fun`."
        )
        assert await (await slack.command("-- demo day was fun")).text() == ""
        await slack.settled()
    [generate] = ollama.requests_to("/api/generate")
    assert generate["prompt"] == "demo day was fun"
