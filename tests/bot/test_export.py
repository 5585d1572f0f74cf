"""Exports load the way TRL's docs say preference datasets look, and carry no raw user id."""

from __future__ import annotations

import csv
import dataclasses
import io
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.domain import Requester, Role, SideSnapshot, SideStats, SideStatus
from bot.store.sqlite import Store, VoteFilter
from bot.votes.export import ExportFormat, export_text
from tests.vocabularies import VOCABULARIES


async def voted_comparison(
    store: Store, make_request, prompt: str, emojis: dict[str, str], *, complete=True, blind=False
) -> int:
    request = dataclasses.replace(
        make_request(prompt), requester=Requester("discord", "owner"), blind=blind
    )
    cid = await store.create_comparison(request)
    for role, text in (
        (Role.BASE, f"{prompt} base text"),
        (Role.INSTRUCT, f"{prompt} instruct text"),
    ):
        status = SideStatus.DONE if complete or role is Role.BASE else SideStatus.FAILED
        await store.save_output(
            cid, SideSnapshot(role, request.pair.tag(role), text, status, SideStats(), None, None)
        )
    await store.add_message(cid, "discord", "thread", f"m{cid}")
    for user, emoji in emojis.items():
        await store.record_reaction(
            platform="discord", channel_id="thread", message_id=f"m{cid}", user_id=user,
            emoji=emoji, added=True, occurred_at=datetime(2026, 1, 1, tzinfo=UTC),
        )  # fmt: skip
    return cid


@pytest.fixture
async def filled(store: Store, make_request) -> Store:
    await voted_comparison(
        store, make_request, "instruct wins", {"1001": "🅱️", "1002": "🅱️", "1003": "🅰️"}
    )
    await voted_comparison(store, make_request, "base wins", {"1001": "🅰️"}, blind=True)
    await voted_comparison(store, make_request, "a tie", {"1001": "🤝", "1002": "🤝"})
    await voted_comparison(store, make_request, "both bad", {"1001": "👎"})
    await voted_comparison(store, make_request, "half done", {"1001": "🅱️"}, complete=False)
    return store


def load_with_datasets(text: str, tmp_path: Path):
    """How TRL's docs load a preference dataset from local JSON lines."""
    import datasets  # a dev dependency: the way TRL users load data

    path = tmp_path / "data.jsonl"
    path.write_text(text)
    return datasets.load_dataset(
        "json", data_files=str(path), split="train", cache_dir=str(tmp_path / "cache")
    )


async def test_dpo_rows_have_prompt_chosen_rejected_and_metadata(
    filled: Store, tmp_path: Path, monkeypatch
):
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    text, count = await export_text(filled, ExportFormat.DPO, VoteFilter())
    assert count == 2  # the tie, the both-bad and the incomplete comparison are left out
    dataset = load_with_datasets(text, tmp_path)
    assert {"prompt", "chosen", "rejected"} <= set(dataset.column_names)
    rows = {row["prompt"]: row for row in dataset}
    assert rows["instruct wins"]["chosen"] == "instruct wins instruct text"
    assert rows["instruct wins"]["rejected"] == "instruct wins base text"
    assert rows["base wins"]["chosen"] == "base wins base text"
    meta = rows["instruct wins"]
    assert (meta["pair"], meta["framing"], meta["base_model"]) == (
        "llama3.2-1b",
        "raw",
        "llama3.2:1b-text-q4_K_M",
    )
    assert meta["options"]["max_tokens"] == 256
    assert meta["votes"] == {"base_better": 1, "instruct_better": 2, "tie": 0, "both_bad": 0}
    assert all(
        isinstance(row[col], str) for row in dataset for col in ("prompt", "chosen", "rejected")
    )


async def test_kto_rows_label_each_output(filled: Store, tmp_path: Path, monkeypatch):
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    text, count = await export_text(filled, ExportFormat.KTO, VoteFilter())
    dataset = load_with_datasets(text, tmp_path)
    assert {"prompt", "completion", "label"} <= set(dataset.column_names)
    labels = {(row["prompt"], row["role"]): row["label"] for row in dataset}
    assert labels == {
        ("instruct wins", "instruct"): True,
        ("instruct wins", "base"): False,
        ("base wins", "base"): True,
        ("base wins", "instruct"): False,
        ("a tie", "base"): True,
        ("a tie", "instruct"): True,
        ("both bad", "base"): False,
        ("both bad", "instruct"): False,
    }
    assert count == 8


async def test_blind_only_filter(filled: Store):
    text, count = await export_text(filled, ExportFormat.DPO, VoteFilter(blind_only=True))
    assert count == 1 and json.loads(text)["prompt"] == "base wins"


async def test_csv_has_every_vote_and_no_raw_user_id(filled: Store):
    text, count = await export_text(filled, ExportFormat.CSV, VoteFilter())
    rows = list(csv.DictReader(io.StringIO(text)))
    assert count == len(rows) == 8
    assert {row["choice"] for row in rows} == {"base_better", "instruct_better", "tie", "both_bad"}
    for raw_id in ("1001", "1002", "1003", "owner"):
        assert raw_id not in text


async def test_csv_hashes_ids_even_when_the_store_keeps_them(tmp_path: Path, make_request):
    async with await Store.open(
        tmp_path / "raw.sqlite3", store_user_ids=True, vocabularies=VOCABULARIES
    ) as store:
        await voted_comparison(store, make_request, "p", {"123456789": "🅰️"})
        text, _ = await export_text(store, ExportFormat.CSV, VoteFilter())
    assert "123456789" not in text
