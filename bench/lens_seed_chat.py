"""The lens's three chat views for two seed experiments (the random number, the Japanese
greeting), through the real Slack path: slack-bolt and AsyncWebClient against the fake Slack,
the real conversation core, a real SQLite file, and the fake Ollama's toy twins (the same as
`bench.lens_bench`). The picture upload is refused, so each view comes as the text a channel
without `files:write` gets; that text is printed, with what the view cost.

FAKE model numbers and timings: the toy twins' probabilities are scripted, not a real model's.

Run: .venv/bin/python -m bench.lens_seed_chat
"""

from __future__ import annotations

import asyncio
import tempfile
from pathlib import Path

from bench.lens_bench import BASE_TOY, GREETING, INSTRUCT_TOY, NUMBER, PACE
from bot.config import load_settings
from tests.adapters.slack_harness import slack_bot
from tests.conftest import SMALL_PAIR
from tests.fakes.ollama_fake import CHATML_TEMPLATE, OllamaFake, Script

BASE, INSTRUCT = SMALL_PAIR
VIEWS = {"odds": "--lens", "shift": "--lens=shift", "samples 10": "--lens=samples --samples 10"}


async def one(prompt: str, view: str, option: str) -> None:
    async with OllamaFake(models=set(SMALL_PAIR), version="0.24.0") as ollama:
        ollama.templates[INSTRUCT] = CHATML_TEMPLATE
        ollama.script(BASE, Script(next_token=BASE_TOY, **PACE))
        ollama.script(INSTRUCT, Script(next_token=INSTRUCT_TOY, **PACE))
        with tempfile.TemporaryDirectory() as folder:
            settings = load_settings(
                ollama_host=ollama.url,
                database_path=Path(folder) / "seed.sqlite3",
            )
            async with slack_bot(settings) as slack:
                slack.fake.fail_next("files.getUploadURLExternal", error="missing_scope")
                await slack.command(f"{option} {prompt}")
                await slack.settled(60)
                [parent] = slack.parents()
                lens = [m for m in slack.replies(parent) if m.text.startswith(":mag:")]
                store = slack.bot.runtime.store
                ref = await store.message_ref("slack", parent.channel, parent.ts)
                assert ref is not None
                stored = await store.lens_views(ref.comparison_id)
        print(f"\n=== {prompt!r}, {view}: {len(ollama.requests)} model requests in all")
        for row in stored:
            cost = f"{row['requests']} requests, {row['seconds']:.3f} s"
            print(f"    stored view {row['kind']}: {cost}")
        for message in lens:
            print(message.text)


async def main() -> None:
    for prompt in (NUMBER, GREETING):
        for view, option in VIEWS.items():
            await one(prompt, view, option)


if __name__ == "__main__":
    asyncio.run(main())
