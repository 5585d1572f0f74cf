"""The terminal shows model text and never obeys it: `twinbot compare`, `stats`, `export` and
the demo report run as a real subprocess against the fake Ollama with hostile output, and the
bytes they write are checked."""

from __future__ import annotations

import json
import re
import sqlite3
from pathlib import Path

from tests.bot.test_cli import seed_votes, twinbot
from tests.conftest import SMALL_PAIR
from tests.fakes.ollama_fake import OllamaFake, Script

BASE, INSTRUCT = SMALL_PAIR
# Window title, clear screen, clipboard write (OSC 52), hidden text, C1 CSI, overwrite, NUL, DEL.
HOSTILE = [
    "title\x1b]0;pwned\x07\n",
    "clear\x1b[2J\n",
    "clip\x1b]52;c;ZXZpbA==\x07\n",
    "hide\x1b[8mhidden\x1b[0m\n",
    "csi\x9b31m\n",
    "over\rwrite\x08\x00\x7f\n",
]
SHOWN = [
    r"title\x1b]0;pwned\x07",
    r"clear\x1b[2J",
    r"clip\x1b]52;c;ZXZpbA==\x07",
    r"hide\x1b[8mhidden\x1b[0m",
    r"csi\x9b31m",
    r"over\x0dwrite\x08\x00\x7f",
]
RAW_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")
# What rich itself may write to a terminal: colours (SGR) and Live's cursor moves, nothing else.
RICH_OWN = re.compile(r"\x1b\[[0-9;]*m|\x1b\[\d*[AK]|\x1b\[\?25[lh]|\r")


async def test_compare_in_a_pipe_writes_every_control_as_a_visible_escape(
    ollama: OllamaFake, tmp_path: Path
) -> None:
    ollama.script(BASE, Script(tokens=HOSTILE))
    ollama.script(INSTRUCT, Script(tokens=["fine"]))
    db = tmp_path / "cli.sqlite3"
    result = await twinbot("compare", "hi", host=ollama.url, db=db)

    assert result.code == 0, result.err
    assert not RAW_CONTROL.search(result.out) and not RAW_CONTROL.search(result.err)
    for line in SHOWN:
        assert line in result.out
    with sqlite3.connect(db) as connection:
        [(stored,)] = connection.execute("SELECT text FROM outputs WHERE role = 'base'").fetchall()
    assert stored == "".join(HOSTILE)  # stored as the model wrote it

    refused = await twinbot("compare", "hi\x1b]0;prompt\x07", host=ollama.url, db=db)
    assert refused.code == 2 and "U+001B" in refused.err and not RAW_CONTROL.search(refused.err)


async def test_compare_on_a_terminal_sends_only_richs_own_sequences(
    ollama: OllamaFake, tmp_path: Path
) -> None:
    ollama.script(BASE, Script(tokens=HOSTILE, delay=0.02))
    ollama.script(INSTRUCT, Script(tokens=["fine"], delay=0.02))
    env = {"FORCE_COLOR": "1", "TERM": "xterm-256color"}  # rich draws Live and styles as on a tty
    result = await twinbot("compare", "hi", host=ollama.url, db=tmp_path / "db", env=env)

    assert result.code == 0, result.err
    assert "\x1b[" in result.out, "rich did not think it was on a terminal"
    left = RICH_OWN.sub("", result.out)
    assert not RAW_CONTROL.search(left), repr(RAW_CONTROL.findall(left))
    assert "\x1b]" not in result.out and "\x07" not in result.out and "\x9b" not in result.out
    plain = re.sub(r"\x1b\[[0-9;]*m", "", result.out)
    for line in SHOWN:
        assert line in plain


async def test_stats_and_export_show_or_escape_controls(tmp_path: Path) -> None:
    db = tmp_path / "votes.sqlite3"
    await seed_votes(db)
    with sqlite3.connect(db) as connection:
        connection.execute("UPDATE comparisons SET prompt = prompt || ?", ("\x1b]0;t\x07\x9b2J",))
        connection.execute("UPDATE outputs SET text = text || ?", ("\x1b[2J\x85\x7f",))
        # a stored name from another catalog, or from a hand-edited database
        connection.execute("UPDATE comparisons SET pair = ?", ("p\x1b[2J",))
    stats = await twinbot("stats", "--all-votes", host="http://127.0.0.1:1", db=db)
    assert stats.code == 0, stats.err
    assert r"p\x1b[2J" in stats.out and not RAW_CONTROL.search(stats.out)

    out = tmp_path / "dataset"
    result = await twinbot("export", "--format", "dpo", "-o", str(out), host="x", db=db)
    assert result.code == 0, result.err
    data = (out / "dpo" / "train.jsonl").read_text(encoding="utf-8")
    assert not RAW_CONTROL.search(data)  # safe to cat
    rows = [json.loads(line) for line in data.splitlines()]
    assert rows and all(row["user_prompt"].endswith("\x1b]0;t\x07\x9b2J") for row in rows)
    assert all(row["chosen"][0]["content"].endswith("\x1b[2J\x85\x7f") for row in rows)


async def test_the_report_marks_controls_as_escapes(ollama: OllamaFake, tmp_path: Path) -> None:
    ollama.default_script = Script(tokens=HOSTILE)
    report = tmp_path / "report.html"
    result = await twinbot("demo", "--report", str(report), host=ollama.url, db=tmp_path / "db")
    assert result.code == 0, result.err
    page = report.read_text(encoding="utf-8")
    assert not RAW_CONTROL.search(page)
    assert '<span class="ctl">\\x1b</span>]0;pwned<span class="ctl">\\x07</span>' in page
    assert '<span class="ctl">\\x9b</span>31m' in page
