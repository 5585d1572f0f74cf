"""The classic experiments: data, the terminal command, and the HTML report in real Chromium."""

from __future__ import annotations

import asyncio
import shutil
import subprocess
from pathlib import Path

import pytest

from bot.config import REPO_ROOT
from bot.engine.catalog import load_catalog
from bot.engine.demos import load_demos
from bot.errors import PromptsError
from tests.bot.test_cli import twinbot
from tests.conftest import SMALL_PAIR
from tests.fakes.ollama_fake import OllamaFake, Script

BASE, INSTRUCT = SMALL_PAIR
EXPECTED = {"greeting", "self-qa", "terminal", "surgeon", "digits"}


def test_the_shipped_demos_cover_the_articles():
    demos = load_demos(REPO_ROOT / "prompts", load_catalog(REPO_ROOT / "prompts"))
    assert set(demos) == EXPECTED
    assert demos["greeting"].prompt == "こんにちは"
    assert demos["self-qa"].prompt.startswith("Q: ") and demos["self-qa"].framing == "raw"
    assert all(demo.explain for demo in demos.values())


def test_a_demo_with_an_unknown_framing_is_refused(tmp_path: Path):
    prompts = tmp_path / "prompts"
    shutil.copytree(REPO_ROOT / "prompts", prompts)
    demos = prompts / "demos.toml"
    demos.write_text(demos.read_text().replace('framing = "qa"', 'framing = "sonnet"'))
    with pytest.raises(
        PromptsError, match=r"demo #4 \('surgeon'\): framing: unknown framing 'sonnet'"
    ):
        load_demos(prompts, load_catalog(prompts))


async def test_demo_lists_and_runs_one_experiment(ollama: OllamaFake, tmp_path: Path):
    listing = await twinbot("demo", host=ollama.url, db=tmp_path / "db")
    assert listing.code == 0
    for name in EXPECTED:
        assert name in listing.out

    ollama.script(BASE, Script(tokens=["hi everyone and welcome back to another anime review!"]))
    result = await twinbot("demo", "greeting", host=ollama.url, db=tmp_path / "db")
    assert result.code == 0, result.err
    assert "The Japanese greeting" in result.out and "anime review" in result.out
    [body] = ollama.requests_to("/api/generate")
    assert body["prompt"] == "こんにちは" and body["options"]["num_predict"] == 120


def chromium_pdf_text(page: Path, tmp_path: Path) -> str:
    """Print the page with headless Chromium and read back the text a reader would see."""
    from pypdf import PdfReader

    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        pytest.skip(
            "Debian's chromium package is not installed (scripts/setup installs it as root)"
        )
    pdf = tmp_path / "report.pdf"
    subprocess.run(
        [
            chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
            "--no-first-run", "--disable-background-networking", "--disable-component-update",
            "--disable-sync", f"--user-data-dir={tmp_path / 'chromium-profile'}",
            "--no-pdf-header-footer", f"--print-to-pdf={pdf}", page.as_uri(),
        ],
        check=True, capture_output=True, timeout=60,
    )  # fmt: skip
    return " ".join(" ".join(p.extract_text().split()) for p in PdfReader(pdf).pages)


async def test_the_report_shows_every_experiment_and_both_outputs_in_chromium(
    ollama: OllamaFake, tmp_path: Path
):
    ollama.script(BASE, Script(tokens=["BASE-", "OUTPUT ", "continues"]))
    ollama.script(INSTRUCT, Script(tokens=["INSTRUCT-", "OUTPUT ", "answers"]))
    report = tmp_path / "report.html"

    result = await twinbot("demo", "--report", str(report), host=ollama.url, db=tmp_path / "db")

    assert result.code == 0, result.err
    page = report.read_text()
    assert "<script" not in page and "http" not in page.split("<body>")[1]  # self-contained
    text = await asyncio.to_thread(chromium_pdf_text, report, tmp_path)
    for title in (
        "The Japanese greeting",
        "The Q&A that never ends",
        "The terminal session",
        "The surgeon riddle, inverted",
        "A hundred random digits",
    ):
        assert title in text
    assert text.count("BASE-OUTPUT continues") == 5
    assert text.count("INSTRUCT-OUTPUT answers") == 5
    assert text.count(f"Base · {BASE}") == 5 and text.count("No votes yet.") == 5
