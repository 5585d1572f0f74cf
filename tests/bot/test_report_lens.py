"""The HTML report with the lens: `twinbot demo --report FILE --lens` measures each experiment's
next-token distributions, stores them with the comparison, and the page shows what is stored."""

from __future__ import annotations

import json
import math
import re
from pathlib import Path

from tests.bot.test_cli import rows, twinbot
from tests.conftest import SMALL_PAIR
from tests.fakes.ollama_fake import CHATML_TEMPLATE, OllamaFake, Script
from tests.lens_scripts import script_digits

BASE, INSTRUCT = SMALL_PAIR


async def test_the_report_shows_each_experiments_stored_lens(ollama: OllamaFake, tmp_path: Path):
    script_digits(ollama, "<script>", "\x1b")
    report, db = tmp_path / "report.html", tmp_path / "db.sqlite3"
    result = await twinbot("demo", "--report", str(report), "--lens", host=ollama.url, db=db)
    assert result.code == 0, result.err

    stored = rows(db, "SELECT comparison_id, kind, payload_json, requests FROM lens_views")
    comparisons = rows(db, "SELECT id FROM comparisons ORDER BY id")
    assert [row[0] for row in stored] == [row[0] for row in comparisons]  # one per experiment
    assert {row[1] for row in stored} == {"next_token"} and {row[3] for row in stored} == {2}
    payload = json.loads(stored[0][2])
    token, probability = payload["sides"][0]["chances"][3]
    assert token == "<script>" and math.isclose(probability, 0.05)

    page = report.read_text()
    sections = page.split("<section")[1:]
    assert len(sections) == len(comparisons)
    for section in sections:
        assert "The lens: where each twin puts its probability" in section
        assert f"Base · {BASE}: top 5 hold 70.0%" in section
        assert f"Instruct · {INSTRUCT}: top 3 hold 97.0%" in section
    first = sections[0]
    assert "&quot;&lt;script&gt;&quot;" in first and "<script>" not in page  # escaped
    assert "&quot;\\x1b&quot;" in first and "\x1b" not in page
    widths = re.findall(r"width:([0-9.]+)%", first)
    assert widths == ["30.0", "20.0", "10.0", "5.0", "5.0", "90.0", "6.0", "1.0"]


async def test_a_server_without_logprobs_leaves_a_note_on_the_page(
    ollama: OllamaFake, tmp_path: Path
):
    ollama.serves_logprobs = False
    report, db = tmp_path / "report.html", tmp_path / "db.sqlite3"
    result = await twinbot("demo", "--report", str(report), "--lens", host=ollama.url, db=db)
    assert result.code == 0, result.err
    page = report.read_text()
    assert page.count(f"Lens not shown: Ollama at {ollama.url} returned no logprobs") == len(
        rows(db, "SELECT id FROM comparisons")
    )
    assert rows(db, "SELECT count(*) FROM lens_views") == [(0,)]


async def test_lens_without_report_is_refused(ollama: OllamaFake, tmp_path: Path):
    result = await twinbot("demo", "greeting", "--lens", host=ollama.url, db=tmp_path / "db")
    assert result.code == 2 and ollama.requests == []
    assert (
        result.err.strip() == "twinbot: --lens goes with --report: the page shows each twin's bars."
    )


async def test_the_report_shows_each_experiments_stored_token_shift(
    ollama: OllamaFake, tmp_path: Path
):
    # The instruct twin answers "<b>", ESC, " ok"; the base twin's likeliest token is "<b>"
    # wherever it reads, so the first is unshifted and the other two beyond its 20.
    ollama.templates[INSTRUCT] = CHATML_TEMPLATE
    ollama.script(INSTRUCT, Script(tokens=["<b>", "\x1b", " ok"]))
    ollama.script(BASE, Script(tokens=["<b>"]))
    report, db = tmp_path / "report.html", tmp_path / "db.sqlite3"
    result = await twinbot("demo", "--report", str(report), "--lens", "shift", host=ollama.url,
                           db=db)  # fmt: skip
    assert result.code == 0, result.err

    stored = rows(db, "SELECT kind, payload_json, requests FROM lens_views")
    assert len(stored) == len(rows(db, "SELECT id FROM comparisons"))
    kind, payload, requests = stored[0]
    assert kind == "token_shift" and requests == 4  # the template, one base request a token
    assert json.loads(payload)["tokens"] == [
        ["<b>", 1, math.exp(-0.1), None], ["\x1b", None, None, None], [" ok", None, None, None],
    ]  # fmt: skip

    page = report.read_text()
    sections = page.split("<section")[1:]
    for section in sections:
        assert "Token shift: each token of " in section
        assert "unshifted 33.3% · marginal 0.0% · shifted 66.7% of 3 tokens" in section
    first = sections[0]
    assert '<div class="shift">&lt;b&gt;<span class="shifted" title="base rank &gt;20">' in first
    assert '<span class="ctl">\\x1b</span>' in first and "\x1b" not in page
    assert "<b>" not in page


async def test_the_report_shows_each_experiments_stored_samples(ollama: OllamaFake, tmp_path: Path):
    answers = ["<script>", "<script>", "4"]
    ollama.script(
        BASE, Script(reply=lambda body: [answers[(body["options"].get("seed") or 0) % 3]])
    )
    report, db = tmp_path / "report.html", tmp_path / "db.sqlite3"
    result = await twinbot("demo", "--report", str(report), "--lens", "samples", host=ollama.url,
                           db=db)  # fmt: skip
    assert result.code == 0, result.err

    stored = rows(db, "SELECT kind, payload_json, requests FROM lens_views")
    assert {(kind, requests) for kind, _, requests in stored} == {("samples", 20)}
    payload = json.loads(stored[0][1])
    seeds = payload["seeds"]
    assert len(seeds) == 10 and seeds == list(range(seeds[0], seeds[0] + 10))
    base = payload["sides"][0]
    assert base["role"] == "base" and len(base["texts"]) == 10

    page = report.read_text()
    sections = page.split("<section")[1:]
    for section in sections:
        assert "Samples: 10 answers a twin, counted by their first line" in section
        assert "(the same on both sides)" in section
        assert "entropy" in section
    assert "<script>" not in page and "&quot;script&quot;" in page  # normalised and escaped
