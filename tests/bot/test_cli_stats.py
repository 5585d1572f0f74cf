"""`twinbot stats` in an 80-column terminal: a real subprocess on a real SQLite file with votes."""

from __future__ import annotations

from pathlib import Path

from bot.config import REPO_ROOT, load_settings
from bot.domain import ModelPair
from bot.store.sqlite import Store
from bot.votes.leaderboard import grouped_records, interval_text, pair_names
from tests.board_votes import board_of, seed_five_by_five, seed_pair
from tests.bot.test_cli import twinbot
from tests.vocabularies import VOCABULARIES

LONG = ModelPair(
    "qwen2.5-0.5b-vllm-awq-int4",
    "hf.co/Qwen/Qwen2.5-0.5B-GGUF:Q4_K_M",
    "hf.co/bartowski/Qwen2.5-0.5B-Instruct-GGUF:Q4_K_M-imatrix-calibrated",
)
SAME = ModelPair("control", "gemma:2b-text", "gemma:2b-text")  # one tag on both sides


def column(lines: list[str], start: int, end: int) -> str:
    """One column of a table, its wrapped pieces joined back (rich folds a long cell)."""
    return "".join(line[start:end].strip() for line in lines)


async def test_stats_fits_eighty_columns_and_cuts_no_name(tmp_path: Path):
    db = tmp_path / "votes.sqlite3"
    settings = load_settings(database_path=db, prompts_dir=REPO_ROOT / "prompts")
    async with await Store.open(db, vocabularies=VOCABULARIES) as store:
        await seed_five_by_five(store, settings)
        ballots = [{"1": "🅰️", "2": "🅱️", "3": "🅱️"}, {"1": "🅰️", "2": "🤝"}]
        await seed_pair(store, settings, LONG, ballots)
        await seed_pair(store, settings, SAME, [{"1": "🅰️", "2": "🤝"}])
        board = await board_of(store)
    result = await twinbot(
        "stats", "--all-votes", host="http://127.0.0.1:1", db=db, env={"COLUMNS": "80"}
    )
    assert result.code == 0, result.err
    lines = result.out.splitlines()
    assert max(len(line) for line in lines) <= 80
    # The pair table: every pair's name whole in its column, however narrow.
    shares = lines[: next(i for i, line in enumerate(lines) if "Bradley-Terry" in line)]
    header = next(line for line in shares if line.split()[:2] == ["pair", "framing"])
    pairs = column(shares, 0, header.index(" framing "))
    for record in board.records:
        assert record.pair in pairs
    assert LONG.name in pairs
    # Every model of every group: its whole tag, rank, rating, interval and votes.
    for key, records in grouped_records(board).items():
        assert isinstance(key, int)
        name = f"Bradley-Terry ratings: {pair_names(records)}"
        title = next(i for i, line in enumerate(lines) if line.rstrip() == name)
        header, rows = lines[title + 2], lines[title + 4 :]
        rows = rows[: next(i for i, line in enumerate(rows) if not line.strip())]
        start, end = header.index("model"), header.index("rating") - 1
        models = column(rows, start, end)
        numbers = [line[end:].split() for line in rows if line[end:].strip()]
        ratings = board.groups[key].ratings
        assert models == "".join(r.model for r in ratings)
        assert numbers == [[f"{r.rating:.0f}", interval_text(r), str(r.battles)] for r in ratings]
        assert [line.split()[0] for line in rows if line[:start].strip()] == [
            str(r.rank) for r in ratings
        ]
    gemma = {r.model: r.battles for g in board.groups for r in g.ratings}["gemma:2b-text"]
    assert gemma == 15 + 2  # its pair's votes, and the control pair's once each
    assert "Bradley-Terry ratings: gemma-2b + control" in result.out
