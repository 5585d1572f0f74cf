"""A withheld side stays out of the dataset: the gate's verdict on each side is stored as the
channel showed it, and the export reads it (end to end: the fake Ollama runs both models and
the guard, a real SQLite file, the real chat service)."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from typing import Any

from bot.config import Settings
from bot.store.sqlite import Store
from bot.votes.export import ExportFormat, ExportOptions, build_dataset
from tests.bot.chat.recording import PLATFORM, chat_service
from tests.bot.test_safety import GUARD, MARK, guard_reply
from tests.conftest import SMALL_PAIR
from tests.fakes.ollama_fake import OllamaFake, Script

BASE, INSTRUCT = SMALL_PAIR


async def test_a_withheld_side_is_recorded_and_left_out_of_the_export(
    make_settings: Callable[..., Settings], ollama: OllamaFake
):
    ollama.models.add(GUARD)
    ollama.script(GUARD, Script(reply=guard_reply))
    ollama.script(BASE, Script(tokens=["a harmless ", "continuation"]))
    ollama.script(INSTRUCT, Script(tokens=["here is the ", MARK]))
    values: dict[str, Any] = {"ollama_host": ollama.url, "safety_default": "withhold"}
    async with chat_service(make_settings(**values)) as chat:
        surface = await chat.compare("hi")
        await chat.settled()
        view = surface.view
        assert view is not None and view.final is not None
        assert view.final.instruct.text == ""  # nobody saw it
        store: Store = chat.runtime.store
        cid = view.final.comparison_id
        for message in view.message_ids:
            await store.record_reaction(
                platform=PLATFORM, channel_id="C1", message_id=message, user_id="U7",
                emoji="🅰️", added=True,
            )  # fmt: skip
        dataset = await build_dataset(store, ExportFormat.KTO, ExportOptions())
        asked = await build_dataset(store, ExportFormat.KTO, ExportOptions(include_withheld=True))
    with sqlite3.connect(chat.runtime.settings.database_path) as db:
        verdicts = db.execute(
            "SELECT role, mode, status, withheld FROM output_safety WHERE comparison_id = ?"
            " ORDER BY role",
            (cid,),
        ).fetchall()
    assert verdicts == [("base", "withhold", "clear", 0), ("instruct", "withhold", "unsafe", 1)]
    [row] = dataset.config("kto").rows  # the base side alone, flagged
    assert (row["role"], row["label"], row["flags"]) == ("base", True, ["withheld"])
    assert dataset.config("kto").withheld_left_out == 1
    texts = [r["completion"][0]["content"] for r in asked.config("kto").rows]
    assert sorted(texts) == ["a harmless continuation", f"here is the {MARK}"]
