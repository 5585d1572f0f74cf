"""What the command line writes: bad paths are one line and exit 2 before any work; `-o -`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bot.engine.catalog import load_catalog
from bot.engine.prompt_files import BUILTIN_PROMPTS_DIR
from tests.bot.test_cli import seed_votes, twinbot
from tests.fakes.ollama_fake import OllamaFake


@pytest.mark.parametrize(
    ("args", "problem"),
    [
        (["stats", "--chart", "{missing}/chart.png"], "the folder {missing} does not exist"),
        (["stats", "--chart", "{tmp}"], "is a folder; give a file name inside it"),
        (["export", "--format", "dpo", "-o", "{missing}/out"], "the folder {missing} does"),
        (["export", "--format", "dpo", "-o", "{tmp}/x.jsonl"], "export writes a folder (data"),
        (["export", "--format", "parquet", "-o", "-"], "--format parquet writes a folder"),
        (["demo", "--report", "{missing}/report.html"], "the folder {missing} does not exist"),
        (["demo", "--report", "-"], "needs a file name; `-` (standard output) is not offered"),
    ],
)
async def test_a_bad_output_path_is_one_line_before_any_work(
    ollama: OllamaFake, tmp_path: Path, args: list[str], problem: str
):
    missing = tmp_path / "nonexistent"
    db = tmp_path / "votes.sqlite3"
    given = [arg.format(missing=missing, tmp=tmp_path) for arg in args]

    result = await twinbot(*given, host=ollama.url, db=db)

    assert result.code == 2
    assert result.err.count("\n") == 1 and "Traceback" not in result.err
    assert result.err.startswith("twinbot: ") and problem.format(missing=missing) in result.err
    assert ollama.requests == []  # no demo ran
    assert not db.exists()  # not even the database was opened
    assert not missing.exists()


async def test_export_to_dash_writes_the_data_to_standard_output(tmp_path: Path):
    db = tmp_path / "votes.sqlite3"
    await seed_votes(db)

    result = await twinbot("export", "--format", "dpo", "-o", "-", host="http://x", db=db)

    assert result.code == 0, result.err
    records = [json.loads(line) for line in result.out.splitlines()]
    assert len(records) == 2 and {"prompt", "chosen", "rejected"} <= set(records[0])
    assert records[0]["prompt"][0]["role"] == "user"  # the conversational (`dpo`) config
    assert result.err.strip() == "2 dpo rows written to standard output"
    assert not (tmp_path / "-").exists()


async def test_version_and_help_name_what_is_installed(tmp_path: Path):
    version = await twinbot("--version", host="http://x", db=tmp_path / "db")
    assert version.code == 0 and version.out.strip() == "twinbot 0.1.0"

    helped = await twinbot("compare", "--help", host="http://x", db=tmp_path / "db")
    every = ", ".join(load_catalog(BUILTIN_PROMPTS_DIR).framings)
    assert "primed" in every
    assert f"base-model framing: {every}" in " ".join(helped.out.split())  # argparse wraps


async def test_help_lists_the_framings_of_the_users_own_folder(tmp_path: Path):
    own = tmp_path / "prompts"
    own.mkdir()
    (own / "framings.toml").write_text(
        '[[framing]]\nname = "poem"\ntemplate = "A poem: {prompt}"\nstop = ["\\n\\n"]\n'
    )
    env = {"TWINBOT_PROMPTS_DIR": str(own)}
    helped = await twinbot("compare", "--help", host="http://x", db=tmp_path / "db", env=env)
    assert "base-model framing: poem" in " ".join(helped.out.split())


@pytest.mark.parametrize("command", [["stats"], ["export", "--format", "kto", "-o", "-"]])
async def test_a_pair_filter_that_names_no_pair_says_so(tmp_path: Path, command: list[str]):
    db = tmp_path / "votes.sqlite3"
    await seed_votes(db)

    typo = await twinbot(*command, "--pair", "llama3.2-1bb", host="http://x", db=db)

    assert typo.code == 2 and typo.out == ""
    assert typo.err.startswith("twinbot: Unknown pair `llama3.2-1bb`. Known pairs: ")
    assert "llama3.2-1b," in typo.err and typo.err.count("\n") == 1
    known = await twinbot(*command, "--pair", "llama3.2-1b", host="http://x", db=db)
    assert known.code == 0, known.err


async def test_a_pair_gone_from_pairs_toml_still_filters_its_stored_votes(tmp_path: Path):
    db = tmp_path / "votes.sqlite3"
    await seed_votes(db)  # votes on llama3.2-1b
    own = tmp_path / "prompts"
    own.mkdir()
    (own / "pairs.toml").write_text('[[pair]]\nname = "other"\nbase = "a:text"\ninstruct = "a:i"\n')
    env = {"TWINBOT_PROMPTS_DIR": str(own), "TWINBOT_DEFAULT_PAIR": "other"}

    result = await twinbot(
        "stats", "--all-votes", "--pair", "llama3.2-1b", host="http://x", db=db, env=env
    )

    assert result.code == 0, result.err
    assert "llama3.2-1b" in result.out
