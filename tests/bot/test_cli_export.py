"""`twinbot export` as a user runs it (a real subprocess, a real SQLite file): a folder that
`datasets` loads, and one clear line, before any work, for what cannot be done."""

from __future__ import annotations

from pathlib import Path

from tests.bot.test_cli import seed_votes, twinbot


async def test_parquet_without_pyarrow_names_the_install(tmp_path: Path):
    db = tmp_path / "votes.sqlite3"
    await seed_votes(db)
    # A pyarrow that cannot be imported, first on the path: as on an install without the extra.
    hidden = tmp_path / "no-pyarrow" / "pyarrow"
    hidden.mkdir(parents=True)
    (hidden / "__init__.py").write_text("raise ImportError('No module named pyarrow')\n")
    out = tmp_path / "out"
    env = {"PYTHONPATH": str(hidden.parent)}

    result = await twinbot(
        "export", "--format", "parquet", "-o", str(out), host="x", db=db, env=env
    )

    assert result.code == 2 and result.err.count("\n") == 1
    assert result.err == (
        "twinbot: --format parquet needs pyarrow, which is not installed: "
        "pip install 'twinbot[parquet]'\n"
    )
    assert not out.exists()
    jsonl = await twinbot("export", "--format", "kto", "-o", str(out), host="x", db=db, env=env)
    assert jsonl.code == 0, jsonl.err  # the JSON lines need no pyarrow


async def test_a_folder_holding_other_files_is_not_overwritten(tmp_path: Path):
    db = tmp_path / "votes.sqlite3"
    await seed_votes(db)
    out = tmp_path / "mine"
    out.mkdir()
    (out / "notes.txt").write_text("keep me")

    result = await twinbot("export", "--format", "dpo", "-o", str(out), host="x", db=db)

    assert result.code == 2 and "holds no earlier twinbot export" in result.err
    assert sorted(p.name for p in out.iterdir()) == ["notes.txt"]


async def test_the_cap_and_seed_reach_the_export(tmp_path: Path):
    db = tmp_path / "votes.sqlite3"
    await seed_votes(db)
    out = tmp_path / "out"
    bad = await twinbot(
        "export", "--format", "kto", "-o", str(out), "--max-votes-per-prompt", "0",
        host="x", db=db,
    )  # fmt: skip
    assert bad.code == 2 and bad.err == "twinbot: --max-votes-per-prompt must be at least 1.\n"

    result = await twinbot(
        "export", "--format", "kto", "-o", str(out), "--max-votes-per-prompt", "1",
        "--seed", "9", host="x", db=db,
    )  # fmt: skip
    assert result.code == 0, result.err
    card = (out / "README.md").read_text()
    assert "At most 1 vote(s) of one user on one prompt count" in card
    assert "shuffled with seed 9" in card


async def test_no_votes_writes_nothing_and_says_so(tmp_path: Path):
    out = tmp_path / "out"
    result = await twinbot(
        "export", "--format", "dpo", "-o", str(out), host="x", db=tmp_path / "votes.sqlite3"
    )
    assert result.code == 0, result.err
    assert result.out == "nothing written: no row from the 0 votes selected\n"
    assert not out.exists()
