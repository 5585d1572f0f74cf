"""Dataset export figures on a made-up test set, through the real store and export code.

Builds a SQLite file with comparisons of every kind an export must handle (clear winners,
ties, both-bad, split votes, re-asked prompts with the same texts, an empty side, a side cut at
the token limit, both sides the same, a side the safety gate withheld, one user voting again
and again on one prompt), exports it, and prints: rows per config, rows flagged per kind, rows
left out (withheld, capped votes), and the KTO rows' neighbours of the same prompt before and
after the shuffle, with the rows whose KL completion (as KTOTrainer rotates it) is their own,
per batch size. `--scale N` also times an export of N comparisons.

Run: .venv/bin/python -m bench.dataset_bench [--out DIR] [--scale 5000]
With --out the Parquet export stays in DIR for `bench/trl_check.py`.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import random
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bot.config import REPO_ROOT, load_settings
from bot.domain import CompareRequest, Requester, Role
from bot.engine.catalog import load_catalog
from bot.engine.requests import build_request
from bot.store.sqlite import Store
from bot.votes.dataset_files import write_folder
from bot.votes.dataset_order import kl_matches, neighbour_pairs
from bot.votes.dataset_source import prompt_key
from bot.votes.export import ExportFormat, ExportOptions, build_dataset
from tests.bot.test_export import voted_comparison
from tests.vocabularies import VOCABULARIES

A, B, TIE, DOWN = "🅰️", "🅱️", "🤝", "👎"


@dataclasses.dataclass
class Filler:
    """Adds comparisons the way the export tests do (`tests/bot/test_export.py`)."""

    store: Store
    make: Callable[..., CompareRequest]

    async def add(self, prompt: str, votes: dict[str, str], **kind: Any) -> None:
        await voted_comparison(self.store, self.make, prompt, votes, **{"framing": "qa", **kind})


async def fill(filler: Filler) -> None:
    """The test set: 50 comparisons, each kind named in the module's docstring."""
    rng = random.Random(5)
    for n in range(24):  # clear winners, blind or not, either order
        first = Role.INSTRUCT if n % 3 == 0 else Role.BASE
        await filler.add(
            f"question {n}", {f"u{n}": rng.choice((A, B)), f"v{n}": rng.choice((A, B))},
            blind=n % 2 == 0, shown_first=first,
        )  # fmt: skip
    for _ in range(3):  # the same prompt again, the same texts (temperature 0, one seed)
        await filler.add("What is tea?", {"w1": B}, texts=(" A leaf.", "Tea is a drink."))
    await filler.add("blank", {"e1": B}, texts=("\n\n", "Something."))
    for n in range(2):
        await filler.add(f"long {n}", {"t1": A}, done_reasons=("length", "stop"))
    await filler.add("long both", {"t1": B}, done_reasons=("length", "length"))
    for n in range(2):
        await filler.add(f"same {n}", {"i1": A}, texts=("Paris.", "Paris."))
    for n in range(2):
        await filler.add(f"risky {n}", {"r1": A}, withheld=Role.INSTRUCT)
    for n in range(4):
        await filler.add(f"tie {n}", {"x1": TIE, "x2": TIE})
    for n in range(3):
        await filler.add(f"bad {n}", {"y1": DOWN})
    for n in range(2):
        await filler.add(f"split {n}", {"z1": A, "z2": B})
    for _ in range(5):  # one user asks the same thing five times and votes base each time
        await filler.add("Is my idea good?", {"stuffer": A})
    await filler.add("is my idea  GOOD?", {"s2": B, "s3": B})


def filler_for(store: Store) -> Filler:
    settings = load_settings(database_path=store.path)
    catalog = load_catalog(REPO_ROOT / "prompts")

    def make(prompt: str, **options: Any) -> CompareRequest:
        return build_request(settings, catalog, Requester("discord", "asker"), prompt, **options)

    return Filler(store, make)


def report(dataset_rows: dict[str, list[dict]], title: str) -> None:
    print(title)
    for name, rows in dataset_rows.items():
        kinds: dict[str, int] = {}
        for row in rows:
            for flag in row.get("flags", ()):
                kinds[flag] = kinds.get(flag, 0) + 1
        print(f"  {name:<11} {len(rows):>3} rows, flagged: {kinds or 'none'}")


async def run(out: Path | None, scale: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "bench.sqlite3"
        async with await Store.open(db, vocabularies=VOCABULARIES) as store:
            await fill(filler_for(store))
            full = await build_dataset(store, ExportFormat.PARQUET, ExportOptions())
            capped = await build_dataset(store, ExportFormat.PARQUET, ExportOptions(cap=1))
            withheld = await build_dataset(
                store, ExportFormat.PARQUET, ExportOptions(include_withheld=True)
            )
            folder = out or Path(tmp) / "export"
            write_folder(full, folder)
        src = full.source
        print(f"test set: {len(src.items)} comparisons, {src.votes} votes")
        report({c.name: c.rows for c in full.configs if c.name != "votes"}, "default export:")
        for config in full.configs:
            if config.withheld_left_out:
                print(f"  {config.name}: {config.withheld_left_out} row(s) left out (withheld)")
        print(
            f"--include-withheld: dpo {len(withheld.config('dpo').rows)} rows, "
            f"kto {len(withheld.config('kto').rows)} rows"
        )
        print(
            f"--max-votes-per-prompt 1: {capped.source.capped} vote(s) left out; dpo "
            f"{len(full.config('dpo').rows)} -> {len(capped.config('dpo').rows)} rows"
        )
        order = full.kto_order
        assert order is not None
        keys = [prompt_key(r["user_prompt"]) for r in full.config("kto").rows]
        print(
            f"KTO neighbours of the same prompt: {order.neighbours_before} pairs of "
            f"{len(keys)} rows in comparison order, {neighbour_pairs(keys)} after the shuffle"
        )
        # Comparison order, as the rows were made (base before instruct), against the shuffle.
        made = sorted(full.config("kto").rows, key=lambda r: (r["comparison_id"], r["role"]))
        before = [prompt_key(r["user_prompt"]) for r in made]
        sizes = (2, 4, 8, 16, 32)
        print(
            "KTO rows whose KL completion is their own prompt, by batch size "
            "(comparison order -> shuffled): "
            + ", ".join(f"{b}: {kl_matches(before, b)} -> {kl_matches(keys, b)}" for b in sizes)
        )
        if out is not None:
            print(f"export written to {out}")
        if scale:
            await timed(Path(tmp) / "scale.sqlite3", scale)


async def timed(db: Path, count: int) -> None:
    async with await Store.open(db, vocabularies=VOCABULARIES) as store:
        filler = filler_for(store)
        for n in range(count):
            await filler.add(f"prompt {n}", {f"u{n}": A if n % 2 else B, f"v{n}": B})
        began = time.perf_counter()
        dataset = await build_dataset(store, ExportFormat.PARQUET, ExportOptions())
        built = time.perf_counter() - began
        write_folder(dataset, db.parent / "scale")
        total = time.perf_counter() - began
    kto = dataset.config("kto").rows
    keys = [prompt_key(row["user_prompt"]) for row in kto]
    print(
        f"scale: {count} comparisons -> {len(kto)} KTO rows; built in {built:.2f} s, "
        f"with Parquet files in {total:.2f} s; neighbours after shuffle: {neighbour_pairs(keys)}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, help="keep the Parquet export in this folder")
    parser.add_argument("--scale", type=int, default=0, help="also time N comparisons")
    args = parser.parse_args()
    asyncio.run(run(args.out, args.scale))


if __name__ == "__main__":
    main()
