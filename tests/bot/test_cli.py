"""The `twinbot` command end to end: a real subprocess, the fake Ollama, a real SQLite file."""

from __future__ import annotations

import asyncio
import signal
import socket
import sqlite3
import sys
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from bot.config import REPO_ROOT, load_settings
from bot.domain import CompareRequest, Requester
from bot.engine.catalog import load_catalog
from bot.engine.requests import build_request
from bot.store.sqlite import Store
from tests.bot.test_export import voted_comparison
from tests.conftest import SMALL_PAIR
from tests.ctrl_c import as_from_a_terminal
from tests.fakes.ollama_fake import OllamaFake, Script
from tests.vocabularies import VOCABULARIES
from tests.waiting import wait_until

BASE, INSTRUCT = SMALL_PAIR


@dataclass
class Result:
    code: int
    out: str
    err: str


async def twinbot(
    *args: str,
    host: str,
    db: Path,
    env: dict[str, str] | None = None,
    interrupt_when: Callable[[], bool] | None = None,
) -> Result:
    environment = {
        "PATH": "/usr/bin:/bin",
        "TWINBOT_OLLAMA_HOST": host,
        "TWINBOT_DATABASE_PATH": str(db),
        "TWINBOT_TERMINAL_REFRESH_INTERVAL": "0.05",
        "COLUMNS": "160",
        **(env or {}),
    }
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "adapters.cli", *args,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE, env=environment,
        preexec_fn=as_from_a_terminal if interrupt_when is not None else None,
    )  # fmt: skip
    if interrupt_when is not None:
        # Waits for what the test names (not a fixed time: a loaded machine can still be
        # importing after seconds), then the Ctrl-C.
        await wait_until(interrupt_when, within=30)
        process.send_signal(signal.SIGINT)
    out, err = await asyncio.wait_for(process.communicate(), timeout=30)
    assert process.returncode is not None
    return Result(process.returncode, out.decode(), err.decode())


def rows(db: Path, sql: str) -> list[tuple]:
    with sqlite3.connect(db) as connection:
        return connection.execute(sql).fetchall()


def closed_port_url() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{sock.getsockname()[1]}"


async def test_compare_prints_both_sides_with_stats_and_stores_them(
    ollama: OllamaFake, tmp_path: Path
):
    ollama.script(BASE, Script(tokens=["アニメ", "のレビュー", "[bold]x[/bold]"], delay=0.02))
    ollama.script(INSTRUCT, Script(tokens=["こんにちは！", " How can I help?"], delay=0.02))
    db = tmp_path / "cli.sqlite3"

    result = await twinbot(
        "compare", "こんにちは", "--framing", "qa", "--max-tokens", "40", "--seed", "3",
        host=ollama.url, db=db,
    )  # fmt: skip

    assert result.code == 0, result.err
    assert f"Base · {BASE}" in result.out
    assert f"Instruct · {INSTRUCT}" in result.out
    assert "アニメのレビュー[bold]x[/bold]" in result.out  # model text is never rich markup
    assert "こんにちは！ How can I help?" in result.out
    assert "4 tokens" in result.out and "3 tokens" in result.out and "tok/s" in result.out
    assert r"base sees: Q: こんにちは\nA:" in result.out  # what the base model continued
    assert "Traceback" not in result.err
    [(prompt, framing, options, status)] = rows(
        db, "SELECT prompt, framing, options_json, status FROM comparisons"
    )
    assert (prompt, framing, status) == ("こんにちは", "qa", "done")
    assert '"seed": 3' in options and '"max_tokens": 40' in options
    outputs = dict(rows(db, "SELECT role, text FROM outputs"))
    assert outputs == {
        "base": "アニメのレビュー[bold]x[/bold]",
        "instruct": "こんにちは！ How can I help?",
    }
    [body] = ollama.requests_to("/api/generate")
    assert body["prompt"] == "Q: こんにちは\nA:" and body["options"]["seed"] == 3


async def test_compare_with_ollama_down_says_so_in_one_line(tmp_path: Path):
    db = tmp_path / "cli.sqlite3"
    url = closed_port_url()
    result = await twinbot("compare", "hi", host=url, db=db)

    assert result.code == 1
    assert result.err.strip() == (
        f"twinbot: Cannot reach Ollama at {url}. Is it running (`ollama serve`)? "
        "Set TWINBOT_OLLAMA_HOST if it listens elsewhere."
    )
    statuses = rows(db, "SELECT role, status, error_kind FROM outputs ORDER BY role")
    assert statuses == [("base", "failed", "unreachable"), ("instruct", "failed", "unreachable")]


async def test_model_not_pulled_prints_the_pull_line(ollama: OllamaFake, tmp_path: Path):
    ollama.models.discard(INSTRUCT)
    result = await twinbot("compare", "hi", host=ollama.url, db=tmp_path / "db")
    assert result.code == 1
    assert f"run `ollama pull {INSTRUCT}`" in result.err
    assert "Hello, world." in result.out  # the base side still finished


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["compare", "   "], "twinbot: The prompt is empty"),
        (["compare", "hi", "--pair", "nope"], "twinbot: Unknown pair `nope`"),
        (["compare", "hi", "--max-tokens", "0"], "twinbot: max tokens must be between 1 and"),
        (["compare", "hi\x01"], "twinbot: The prompt contains a control character (U+0001)"),
    ],
)
async def test_bad_input_is_one_line_and_writes_nothing(
    ollama: OllamaFake, tmp_path: Path, args, message
):
    db = tmp_path / "cli.sqlite3"
    result = await twinbot(*args, host=ollama.url, db=db)
    assert result.code == 2
    assert result.err.startswith(message)
    assert result.err.count("\n") == 1 and "Traceback" not in result.err
    assert rows(db, "SELECT count(*) FROM comparisons") == [(0,)]
    assert ollama.requests == []


async def test_a_bad_setting_stops_start_up_naming_the_variable(ollama: OllamaFake, tmp_path: Path):
    result = await twinbot(
        "compare", "hi", host=ollama.url, db=tmp_path / "db", env={"TWINBOT_TEMPERATURE": "hot"}
    )
    assert result.code == 2
    assert result.err.startswith(
        "twinbot: configuration: TWINBOT_TEMPERATURE: Input should be a valid number"
    )
    assert result.err.count("\n") == 1


async def test_ctrl_c_stops_both_streams_and_keeps_partial_text(ollama: OllamaFake, tmp_path: Path):
    for tag in SMALL_PAIR:
        ollama.script(tag, Script(tokens=["word "] * 400, delay=0.02))
    db = tmp_path / "cli.sqlite3"
    ollama.chunk_log = []  # what the fake has sent, per model

    def both_streaming() -> bool:
        sent = Counter(model for _, model, _ in ollama.chunk_log or [])
        return all(sent[tag] >= 20 for tag in SMALL_PAIR)  # both clearly under way

    result = await twinbot(
        "compare", "go on", host=ollama.url, db=db, interrupt_when=both_streaming
    )

    assert result.code == 130, (result.err, result.out[-300:])
    assert "interrupted" in result.err and "Traceback" not in result.err
    assert rows(db, "SELECT status FROM comparisons") == [("interrupted",)]
    stored = rows(db, "SELECT role, status, length(text) FROM outputs ORDER BY role")
    assert [(role, status) for role, status, _ in stored] == [
        ("base", "cancelled"),
        ("instruct", "cancelled"),
    ]
    assert all(0 < length < len("word ") * 400 for _, _, length in stored)


async def test_pairs_lists_every_pair_and_what_is_pulled(ollama: OllamaFake, tmp_path: Path):
    result = await twinbot("pairs", host=ollama.url, db=tmp_path / "db")
    assert result.code == 0
    lines = result.out.splitlines()
    assert any(BASE in line and line.rstrip().endswith(" pulled") for line in lines)
    assert any(
        "mistral:7b-text-v0.2-q4_0" in line and line.rstrip().endswith("not pulled")
        for line in lines
    )


async def test_pairs_without_ollama_still_lists_says_why_and_fails(tmp_path: Path):
    result = await twinbot("pairs", host=closed_port_url(), db=tmp_path / "db")
    assert result.code == 1  # a script can tell "listed, but Ollama is down" from a clean list
    assert "qwen2.5:0.5b-base" in result.out
    assert result.err.startswith("twinbot: Cannot reach Ollama") and result.err.count("\n") == 1


async def test_doctor_passes_on_a_healthy_install(ollama: OllamaFake, tmp_path: Path):
    result = await twinbot("doctor", host=ollama.url, db=tmp_path / "db")
    assert result.code == 0, result.out
    assert f"ok   ollama: version {ollama.version}" in result.out
    assert f"ok   model {BASE}: pulled" in result.out
    assert "ok   database:" in result.out


async def test_doctor_names_each_fix(ollama: OllamaFake, tmp_path: Path):
    ollama.models.discard(BASE)
    result = await twinbot("doctor", host=ollama.url, db=tmp_path / "db")
    assert result.code == 1
    assert f"FAIL model {BASE}: not pulled" in result.out
    assert f"fix: ollama pull {BASE}" in result.out

    down = await twinbot("doctor", host=closed_port_url(), db=tmp_path / "db")
    assert down.code == 1
    assert "FAIL ollama: Cannot reach Ollama" in down.out
    assert "fix: start Ollama or point TWINBOT_OLLAMA_HOST at it" in down.out


async def seed_votes(db: Path) -> None:
    settings = load_settings(database_path=db)
    catalog = load_catalog(REPO_ROOT / "prompts")

    def make_request(prompt: str, **options: str) -> CompareRequest:
        return build_request(settings, catalog, Requester("t", "u"), prompt, **options)

    async with await Store.open(db, vocabularies=VOCABULARIES) as store:
        await voted_comparison(store, make_request, "instruct wins", {"1": "🅱️", "2": "🅱️"})
        await voted_comparison(store, make_request, "base wins", {"1": "🅰️"})


async def test_stats_prints_the_leaderboard_and_writes_a_chart(tmp_path: Path):
    db = tmp_path / "votes.sqlite3"
    await seed_votes(db)
    chart = tmp_path / "chart.png"
    result = await twinbot(
        "stats", "--all-votes", "--chart", str(chart), host="http://127.0.0.1:1", db=db
    )
    assert result.code == 0, result.err
    assert "llama3.2-1b" in result.out and "raw" in result.out
    assert "All votes counted, blind or not." in result.out
    assert chart.read_bytes().startswith(b"\x89PNG\r\n\x1a\n")
    blind = await twinbot("stats", host="http://127.0.0.1:1", db=db)
    assert blind.out.startswith(
        "No blind votes yet (3 cast with the names shown are left out; all votes: --all-votes)."
    )
    both = await twinbot("stats", "--all-votes", "--blind-only", host="x", db=db)
    assert both.code != 0 and "not allowed with argument" in both.err


async def test_export_writes_the_chosen_format(tmp_path: Path):
    db = tmp_path / "votes.sqlite3"
    await seed_votes(db)
    out = tmp_path / "dataset"
    result = await twinbot(
        "export",
        "--format",
        "dpo",
        "-o",
        str(out),
        "--since",
        "1d",
        host="http://127.0.0.1:1",
        db=db,
    )
    assert result.code == 0, result.err
    assert result.out.splitlines() == [
        "dpo: 2 rows",
        "dpo_framed: 2 rows",
        f"dataset written to {out} (README.md describes it)",
    ]
    assert len((out / "dpo" / "train.jsonl").read_text().splitlines()) == 2
    card = (out / "README.md").read_text()
    assert card.startswith("---\n") and "- config_name: dpo\n" in card

    bad = await twinbot(
        "export", "--format", "dpo", "-o", str(out), "--since", "yesterday", host="x", db=db
    )
    assert bad.code == 2 and bad.err.startswith("twinbot: `yesterday` is not a time")


async def test_recompute_votes_rebuilds_from_the_log(tmp_path: Path):
    db = tmp_path / "votes.sqlite3"
    await seed_votes(db)
    with sqlite3.connect(db) as connection:
        connection.execute("DELETE FROM votes")
    result = await twinbot("recompute-votes", host="http://127.0.0.1:1", db=db)
    assert result.code == 0 and result.out.strip() == "3 votes derived from the reaction log"
    assert rows(db, "SELECT count(*) FROM votes") == [(3,)]
