"""Exports load with the real `datasets` the way TRL's docs say preference datasets look: a
folder with a card, the instruct view conversational, the base view framed, every column as
declared, rows flagged, KTO neighbours apart, and no raw user id anywhere."""

from __future__ import annotations

import csv
import dataclasses
import io
import json
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml

from bot.domain import (
    Requester,
    Role,
    SafetyMode,
    SafetyNote,
    SafetyStatus,
    SideSnapshot,
    SideStats,
    SideStatus,
)
from bot.store.sqlite import Store, VoteFilter
from bot.votes.dataset_files import stdout_text, write_folder
from bot.votes.dataset_order import neighbour_pairs
from bot.votes.dataset_schema import BOOL, FLOAT, INT, STRING, ListOf, Struct
from bot.votes.export import Dataset, ExportFormat, ExportOptions, build_dataset
from tests.vocabularies import VOCABULARIES

START = datetime(2026, 1, 1, tzinfo=UTC)
_clock = iter(range(1_000_000))


async def voted_comparison(
    store: Store,
    make_request,
    prompt: str,
    emojis: dict[str, str],
    *,
    complete: bool = True,
    blind: bool = False,
    texts: tuple[str, str] | None = None,
    done_reasons: tuple[str, str] = ("stop", "stop"),
    framing: str = "raw",
    shown_first: Role = Role.BASE,
    withheld: Role | None = None,
) -> int:
    """A comparison of `prompt` with both outputs stored, and each user's reaction on it."""
    request = dataclasses.replace(
        make_request(prompt, framing=framing),
        requester=Requester("discord", "owner"),
        blind=blind,
        shown_first=shown_first,
    )
    cid = await store.create_comparison(request)
    base_text, instruct_text = texts or (f"{prompt} base text", f"{prompt} instruct text")
    for role, text, reason in (
        (Role.BASE, base_text, done_reasons[0]),
        (Role.INSTRUCT, instruct_text, done_reasons[1]),
    ):
        status = SideStatus.DONE if complete or role is Role.BASE else SideStatus.FAILED
        stats = SideStats(done_reason=reason, eval_count=len(text.split()), prompt_eval_count=7)
        await store.save_output(
            cid, SideSnapshot(role, request.pair.tag(role), text, status, stats, None, None)
        )
    if withheld is not None:
        for role in Role:
            status = SafetyStatus.UNSAFE if role is withheld else SafetyStatus.CLEAR
            await store.save_safety(cid, role, SafetyNote(SafetyMode.WITHHOLD, status, "hate"))
    await store.add_message(cid, "discord", "thread", f"m{cid}")
    for user, emoji in emojis.items():
        await store.record_reaction(
            platform="discord", channel_id="thread", message_id=f"m{cid}", user_id=user,
            emoji=emoji, added=True, occurred_at=START + timedelta(seconds=next(_clock)),
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


def load(folder: Path, name: str | None = None, monkeypatch=None):
    """The dataset as `datasets` reads the folder: what TRL users do."""
    import datasets

    return datasets.load_dataset(
        str(folder), name, split="train", cache_dir=str(folder.parent / f"cache-{folder.name}")
    )


@pytest.fixture(autouse=True)
def offline(monkeypatch):
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")


async def export(
    store: Store, fmt: ExportFormat, folder: Path, **options: Any
) -> tuple[Dataset, Path]:
    dataset = await build_dataset(store, fmt, ExportOptions(**options))
    write_folder(dataset, folder)
    return dataset, folder


def _check_value(kind, value, where: str) -> None:
    """A loaded value has the declared type, nested the declared way."""
    if value is None:
        assert kind in (STRING, INT, FLOAT), f"{where}: null in a {kind} column"
        return
    if isinstance(kind, ListOf):
        assert isinstance(value, list), where
        for index, item in enumerate(value):
            _check_value(kind.item, item, f"{where}[{index}]")
    elif isinstance(kind, Struct):
        assert isinstance(value, dict) and list(value) == [n for n, _ in kind.fields], where
        for name, sub in kind.fields:
            _check_value(sub, value[name], f"{where}.{name}")
    else:
        expected = {STRING: str, INT: int, FLOAT: float, BOOL: bool}[kind]
        assert type(value) is expected, f"{where}: {value!r} is not {kind}"


def check_columns(loaded, config) -> None:
    assert loaded.column_names == [name for name, _ in config.schema]
    assert len(loaded) == len(config.rows)
    for index, row in enumerate(loaded):
        for name, kind in config.schema:
            _check_value(kind, row[name], f"row {index} {name}")
        # What was written is what loads, field for field.
        assert row == json.loads(json.dumps(config.rows[index]))


async def test_dpo_is_conversational_for_the_instruct_view(filled: Store, tmp_path: Path):
    dataset, folder = await export(filled, ExportFormat.DPO, tmp_path / "out")

    loaded = load(folder)  # the card makes `dpo` the default config
    check_columns(loaded, dataset.config("dpo"))
    assert len(loaded) == 2  # the tie, the both-bad and the incomplete comparison have no pair
    rows = {row["user_prompt"]: row for row in loaded}
    row = rows["instruct wins"]
    assert row["prompt"] == [{"role": "user", "content": "instruct wins"}]
    assert row["chosen"] == [{"role": "assistant", "content": "instruct wins instruct text"}]
    assert row["rejected"] == [{"role": "assistant", "content": "instruct wins base text"}]
    assert (row["chosen_role"], row["chosen_model"], row["rejected_model"]) == (
        "instruct",
        "llama3.2:1b-instruct-q4_K_M",
        "llama3.2:1b-text-q4_K_M",
    )
    assert (row["pair"], row["framing"], row["base_model"]) == (
        "llama3.2-1b",
        "raw",
        "llama3.2:1b-text-q4_K_M",
    )
    assert row["options"] == {"max_tokens": 256, "temperature": 0.7, "seed": None}
    assert row["vote_counts"] == {"base_better": 1, "instruct_better": 2, "tie": 0, "both_bad": 0}
    assert [vote["choice"] for vote in row["votes"]] == [
        "instruct_better",
        "instruct_better",
        "base_better",
    ]
    assert row["base_done_reason"] == row["instruct_done_reason"] == "stop"
    assert (row["instruct_tokens"], row["instruct_prompt_tokens"]) == (4, 7)
    assert row["base_safety"] is None  # no gate in that channel
    assert row["flags"] == []
    assert rows["base wins"]["chosen"][0]["content"] == "base wins base text"


async def test_dpo_framed_is_what_the_base_model_continued(
    store: Store, make_request, tmp_path: Path
):
    await voted_comparison(store, make_request, "What is tea?", {"1": "🅰️"}, framing="qa")
    dataset, folder = await export(store, ExportFormat.DPO, tmp_path / "out")

    loaded = load(folder, "dpo_framed")
    check_columns(loaded, dataset.config("dpo_framed"))
    [row] = loaded
    assert row["prompt"] == row["framed_prompt"] == "Q: What is tea?\nA:"
    assert row["chosen"] == "What is tea? base text"  # appended to the prompt as it is
    assert row["user_prompt"] == "What is tea?"
    assert row["stop"] == list(make_request("x", framing="qa").framing.stop)


async def test_votes_carry_blind_order_time_and_requester(
    store: Store, make_request, tmp_path: Path
):
    cid = await voted_comparison(
        store, make_request, "who", {"owner": "🅰️", "2": "🅰️"}, blind=True,
        shown_first=Role.INSTRUCT,
    )  # fmt: skip
    await store.mark_revealed(cid)
    await store.record_reaction(
        platform="discord", channel_id="thread", message_id=f"m{cid}", user_id="3", emoji="🅱️",
        added=True, occurred_at=START + timedelta(days=1),
    )  # fmt: skip
    _dataset, folder = await export(store, ExportFormat.DPO, tmp_path / "out")

    [row] = load(folder)
    assert row["shown_first"] == "instruct" and row["blind"] is True
    assert row["chosen_role"] == "instruct"  # A was the instruct side here
    votes = [(v["choice"], v["blind"], v["by_requester"]) for v in row["votes"]]
    assert votes == [
        ("instruct_better", True, True),
        ("instruct_better", True, False),
        ("base_better", False, False),  # cast after the reveal
    ]
    assert row["votes"][2]["voted_at"] == "2026-01-02T00:00:00.000+00:00"
    assert row["requester_voted"] is True


async def test_kto_rows_label_each_output_and_keep_prompts_apart(filled: Store, tmp_path: Path):
    dataset, folder = await export(filled, ExportFormat.KTO, tmp_path / "out")

    loaded = load(folder)
    check_columns(loaded, dataset.config("kto"))
    assert loaded[0]["prompt"][0]["role"] == "user"
    assert loaded[0]["completion"][0]["role"] == "assistant"
    labels = {(row["user_prompt"], row["role"]): row["label"] for row in loaded}
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
    assert neighbour_pairs([row["user_prompt"] for row in loaded]) == 0
    framed = load(folder, "kto_framed")
    check_columns(framed, dataset.config("kto_framed"))
    assert framed["comparison_id"] == loaded["comparison_id"]  # the same order in both views
    assert framed[0]["prompt"] == framed[0]["framed_prompt"]


async def test_kto_shuffle_is_seeded_and_leaves_no_prompt_beside_itself(
    store: Store, make_request, tmp_path: Path
):
    for n in range(34):
        await voted_comparison(store, make_request, f"prompt {n}", {"1": "🅰️"})
    options = ExportOptions()
    first = await build_dataset(store, ExportFormat.KTO, options)
    again = await build_dataset(store, ExportFormat.KTO, options)
    other = await build_dataset(store, ExportFormat.KTO, dataclasses.replace(options, seed=7))

    ids = [row["comparison_id"] for row in first.config("kto").rows]
    assert len(ids) == 68
    assert ids == [row["comparison_id"] for row in again.config("kto").rows]
    assert ids != [row["comparison_id"] for row in other.config("kto").rows]
    order = first.kto_order
    assert order is not None
    assert (order.neighbours_before, order.neighbours_after) == (34, 0)
    assert set(order.kl_matches_after.values()) == {0}


async def test_one_prompt_asked_often_still_gets_no_neighbours(
    store: Store, make_request, tmp_path: Path
):
    # Half the comparisons ask the same thing (in other spacing and case): still kept apart.
    for n in range(10):
        prompt = "  Same   QUESTION" if n % 2 else f"other {n}"
        await voted_comparison(store, make_request, prompt, {str(n): "🅰️"})
    dataset = await build_dataset(store, ExportFormat.KTO, ExportOptions())
    rows = dataset.config("kto").rows
    keys = [" ".join(row["user_prompt"].split()).casefold() for row in rows]
    assert Counter(keys)["same question"] == 10
    assert neighbour_pairs(keys) == 0


async def test_doubtful_rows_are_flagged_per_kind(store: Store, make_request, tmp_path: Path):
    vote = {"1": "🅱️"}
    await voted_comparison(store, make_request, "fine", vote)
    await voted_comparison(store, make_request, "fine", vote)  # the same texts again
    await voted_comparison(store, make_request, "blank", vote, texts=("   \n", "an answer"))
    await voted_comparison(
        store, make_request, "long", vote, done_reasons=("length", "stop")
    )  # fmt: skip
    await voted_comparison(store, make_request, "same", vote, texts=("Paris.", "Paris. "))
    dataset, folder = await export(store, ExportFormat.DPO, tmp_path / "out")

    flags = {(row["user_prompt"], tuple(row["flags"])) for row in load(folder)}
    assert flags == {
        ("fine", ()),
        ("fine", ("duplicate",)),
        ("blank", ("empty",)),
        ("long", ("truncated",)),
        ("same", ("identical",)),
    }
    assert dataset.config("dpo").flag_counts == {
        "duplicate": 1, "empty": 1, "truncated": 1, "identical": 1, "withheld": 0,
    }  # fmt: skip
    card = (folder / "README.md").read_text()
    assert "| `dpo` | 5 | 1 | 1 | 1 | 1 | 0 | 0 |" in card


async def test_withheld_text_is_never_written_unless_asked(
    store: Store, make_request, tmp_path: Path
):
    secret = "a text the gate withheld"
    await voted_comparison(
        store, make_request, "risky", {"1": "🅱️"}, texts=("fine base", secret),
        withheld=Role.INSTRUCT,
    )  # fmt: skip
    await voted_comparison(store, make_request, "calm", {"1": "🅱️"})
    for fmt in ExportFormat:
        _, folder = await export(store, fmt, tmp_path / f"plain-{fmt}")
        for path in folder.rglob("*"):
            if path.is_file():
                assert secret.encode() not in path.read_bytes(), path

    dataset, folder = await export(store, ExportFormat.KTO, tmp_path / "kto")
    kto = dataset.config("kto")
    assert kto.withheld_left_out == 1
    [left] = [row for row in kto.rows if row["user_prompt"] == "risky"]
    assert left["role"] == "base" and left["flags"] == ["withheld"]  # judged without the other
    assert left["instruct_safety"] == "unsafe" and left["base_safety"] == "clear"

    dataset, folder = await export(
        store, ExportFormat.DPO, tmp_path / "asked", include_withheld=True
    )
    [row] = [row for row in load(folder) if row["user_prompt"] == "risky"]
    assert row["chosen"][0]["content"] == secret and row["flags"] == ["withheld"]


async def test_one_users_votes_on_one_prompt_can_be_capped(
    store: Store, make_request, tmp_path: Path
):
    # User 9 asks the same prompt three times and votes base each time; two others vote once.
    for _ in range(3):
        await voted_comparison(store, make_request, "Same prompt", {"9": "🅰️"})
    await voted_comparison(store, make_request, "same  prompt", {"8": "🅱️", "7": "🅱️"})
    capped = await build_dataset(store, ExportFormat.DPO, ExportOptions(cap=1))
    assert capped.source.capped == 2
    counted = [row["vote_counts"] for row in capped.config("dpo").rows]
    assert len(counted) == 2  # the first of user 9's comparisons, and the other one
    everyone = await build_dataset(store, ExportFormat.DPO, ExportOptions())
    assert len(everyone.config("dpo").rows) == 4 and everyone.source.capped == 0


async def test_parquet_holds_every_config_as_the_json_lines_do(filled: Store, tmp_path: Path):
    dataset, folder = await export(filled, ExportFormat.PARQUET, tmp_path / "pq")
    assert sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*.parquet")) == [
        "dpo/train.parquet",
        "dpo_framed/train.parquet",
        "kto/train.parquet",
        "kto_framed/train.parquet",
        "votes/train.parquet",
    ]
    for config in dataset.configs:
        check_columns(load(folder, config.name), config)
    _jsonl, json_folder = await export(filled, ExportFormat.KTO, tmp_path / "js")
    assert list(load(folder, "kto")) == list(load(json_folder, "kto"))


async def test_the_card_names_the_configs_files_and_counts(filled: Store, tmp_path: Path):
    _dataset, folder = await export(filled, ExportFormat.PARQUET, tmp_path / "out")
    text = (folder / "README.md").read_text()
    assert text.startswith("---\n")
    meta = yaml.safe_load(text.split("---\n")[1])
    assert [c["config_name"] for c in meta["configs"]] == [
        "dpo", "dpo_framed", "kto", "kto_framed", "votes",
    ]  # fmt: skip
    assert meta["configs"][0]["default"] is True
    assert meta["configs"][2]["data_files"] == [{"split": "train", "path": "kto/train.parquet"}]
    info = {entry["config_name"]: entry for entry in meta["dataset_info"]}
    assert "| `kto` | 8 | unpaired preference, conversational |" in text
    prompt = next(f for f in info["dpo"]["features"] if f["name"] == "prompt")
    assert prompt == {
        "name": "prompt",
        "list": [{"name": "role", "dtype": "string"}, {"name": "content", "dtype": "string"}],
    }
    assert "Votes selected: 8; comparisons with both outputs complete and a vote: 4" in text
    assert "neighbouring rows of the same prompt went from 4 to 0" in text
    for field in ("shown_first", "requester_voted", "flags", "framed_prompt"):
        assert f"| {field} |" in text


async def test_a_later_export_replaces_an_earlier_one(filled: Store, tmp_path: Path):
    folder = tmp_path / "out"
    await export(filled, ExportFormat.PARQUET, folder)
    await export(filled, ExportFormat.DPO, folder)
    assert sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*.*")) == [
        "README.md",
        "dpo/train.jsonl",
        "dpo_framed/train.jsonl",
    ]
    assert len(load(folder)) == 2


async def test_the_votes_table_has_every_vote_and_no_raw_user_id(filled: Store, tmp_path: Path):
    dataset, folder = await export(filled, ExportFormat.CSV, tmp_path / "out")
    text = (folder / "votes" / "train.csv").read_bytes().decode()
    rows = list(csv.DictReader(io.StringIO(text)))
    assert len(rows) == 8
    assert {row["choice"] for row in rows} == {"base_better", "instruct_better", "tie", "both_bad"}
    assert {row["shown_first"] for row in rows} == {"base"}
    assert {row["by_requester"] for row in rows} == {"0"}
    for raw_id in ("1001", "1002", "1003", "owner"):
        assert raw_id not in text
    check_columns(load(folder), dataset.config("votes"))
    assert stdout_text(dataset) == text


async def test_votes_hash_ids_even_when_the_store_keeps_them(tmp_path: Path, make_request):
    async with await Store.open(
        tmp_path / "raw.sqlite3", store_user_ids=True, vocabularies=VOCABULARIES
    ) as store:
        await voted_comparison(store, make_request, "p", {"123456789": "🅰️"})
        dataset = await build_dataset(store, ExportFormat.CSV, ExportOptions())
    assert "123456789" not in stdout_text(dataset)


async def test_blind_only_filter(filled: Store):
    dataset = await build_dataset(
        filled, ExportFormat.DPO, ExportOptions(where=VoteFilter(blind_only=True))
    )
    [row] = dataset.config("dpo").rows
    assert row["user_prompt"] == "base wins"
    assert json.loads(stdout_text(dataset))["comparison_id"] == row["comparison_id"]


async def test_a_config_without_rows_is_left_out_so_the_rest_still_loads(
    store: Store, make_request, tmp_path: Path
):
    await voted_comparison(store, make_request, "a tie", {"1": "🤝"})  # no DPO pair, two KTO rows
    dataset, folder = await export(store, ExportFormat.PARQUET, tmp_path / "out")

    assert [c.name for c in dataset.written] == ["kto", "kto_framed", "votes"]
    assert not (folder / "dpo").exists()
    assert len(load(folder)) == 2  # the default is the first config written: kto
    assert "| `dpo` | none: not written |" in (folder / "README.md").read_text()
    empty = await build_dataset(store, ExportFormat.DPO, ExportOptions())
    assert write_folder(empty, tmp_path / "none") == [] and not (tmp_path / "none").exists()
    assert stdout_text(empty) == ""


async def test_a_stored_lens_view_travels_with_its_rows(store: Store, make_request, tmp_path: Path):
    looked = await voted_comparison(store, make_request, "Pick a number", {"1": "🅰️"})
    await voted_comparison(store, make_request, "No lens here", {"1": "🅰️"})
    payload = {"version": 1, "top_k": 2, "sides": {"base": [["7", 0.4], ["3", 0.2]]}}
    await store.add_lens_view(looked, "next_token", payload, requests=2, seconds=0.1)
    dataset, folder = await export(store, ExportFormat.DPO, tmp_path / "out")

    loaded = load(folder)
    check_columns(loaded, dataset.config("dpo"))
    rows = {row["user_prompt"]: row for row in loaded}
    [view] = rows["Pick a number"]["lens"]
    assert view["kind"] == "next_token" and json.loads(view["payload"]) == payload
    assert rows["No lens here"]["lens"] == []
