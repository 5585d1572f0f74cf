"""The HTML report with the lens: `twinbot demo --report FILE --lens` measures each experiment's
next-token distributions, stores them with the comparison, and the page shows what is stored."""

from __future__ import annotations

import json
import math
import re
from pathlib import Path

from tests.bot.test_cli import rows, twinbot
from tests.conftest import SMALL_PAIR
from tests.fakes.ollama_fake import OllamaFake
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
