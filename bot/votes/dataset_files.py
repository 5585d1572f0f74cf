"""A dataset as files: one folder per config (`dpo/train.jsonl`, `votes/train.csv`,
`kto/train.parquet`...) and the card, README.md, beside them. `datasets.load_dataset(folder)`
reads that layout as it is, and so does the Hub once the folder is uploaded.

Parquet needs pyarrow, an optional extra (`twinbot[parquet]`): the bot itself never writes
Parquet, so it is not a dependency of every install.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from bot.errors import InputError
from bot.votes.dataset_card import MARKER, card_text
from bot.votes.dataset_schema import arrow_schema
from bot.votes.export import Config, Dataset, ExportFormat

PARQUET_INSTALL = "pip install 'twinbot[parquet]'"
PARQUET_NEEDS_FOLDER = "--format parquet writes a folder: give -o DIR, not -"
CONFIG_NAMES = ("dpo", "dpo_framed", "kto", "kto_framed", "votes")
_EXTENSIONS = (".jsonl", ".csv", ".parquet")


def require_parquet() -> None:
    """Fail before any work when Parquet is asked for and pyarrow is missing."""
    try:
        import pyarrow.parquet  # noqa: F401
    except ImportError:
        raise InputError(
            f"--format parquet needs pyarrow, which is not installed: {PARQUET_INSTALL}"
        ) from None


def extension(fmt: ExportFormat, config: Config) -> str:
    if fmt is ExportFormat.PARQUET:
        return ".parquet"
    return ".csv" if config.name == "votes" else ".jsonl"


def data_path(fmt: ExportFormat, config: Config) -> str:
    """Where the config's rows go, relative to the folder (the card names it)."""
    return f"{config.name}/train{extension(fmt, config)}"


# json escapes C0 itself; DEL and C1 it writes raw, and a terminal that shows the file may act
# on them (U+009B is CSI). Inside a JSON string `\u009b` is the same value, so nothing changes.
_RAW_CONTROLS = re.compile(r"[\x7f-\x9f]")


def jsonl_text(rows: Iterable[dict[str, Any]]) -> str:
    text = "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows)
    return _RAW_CONTROLS.sub(lambda match: f"\\u{ord(match.group()):04x}", text)


def csv_text(config: Config) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    names = [name for name, _ in config.schema]
    writer.writerow(names)
    for row in config.rows:
        writer.writerow(["" if row[name] is None else row[name] for name in names])
    return out.getvalue()


def _write_parquet(config: Config, path: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.Table.from_pylist(config.rows, schema=arrow_schema(config.schema))
    pq.write_table(table, path)


def config_text(fmt: ExportFormat, config: Config) -> str:
    return csv_text(config) if extension(fmt, config) == ".csv" else jsonl_text(config.rows)


def stdout_text(dataset: Dataset) -> str:
    """The default config alone, for a pipe (no card: it describes a folder)."""
    if dataset.fmt is ExportFormat.PARQUET:
        raise InputError(PARQUET_NEEDS_FOLDER)
    return config_text(dataset.fmt, dataset.configs[0])


def check_folder(folder: Path) -> None:
    """The folder may be new, empty, or an earlier twinbot export (which is replaced); nothing
    else is overwritten."""
    if folder.suffix in _EXTENSIONS:
        raise InputError(
            f"-o {folder}: export writes a folder (data files and a README.md card), "
            "not one file; give a folder name, or - for standard output"
        )
    if not folder.exists():
        return
    if not folder.is_dir():
        raise InputError(f"-o {folder}: is a file; give a folder name")
    if any(folder.iterdir()) and not _earlier_export(folder):
        raise InputError(
            f"-o {folder}: the folder is not empty and holds no earlier twinbot export; "
            "give a new or empty folder"
        )


def _earlier_export(folder: Path) -> bool:
    card = folder / "README.md"
    try:
        return MARKER in card.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return False


def _clear_earlier(folder: Path) -> None:
    """An earlier export's data files go: a stale config must not load with the new card."""
    for name in CONFIG_NAMES:
        sub = folder / name
        for ext in _EXTENSIONS:
            (sub / f"train{ext}").unlink(missing_ok=True)
        if sub.is_dir() and not any(sub.iterdir()):
            sub.rmdir()


def write_folder(dataset: Dataset, folder: Path) -> list[Path]:
    """Write every config that has rows, and the card; the paths written, the card last.
    Without a row anywhere, nothing is written (an empty dataset does not load)."""
    check_folder(folder)
    if not dataset.written:
        return []
    if dataset.fmt is ExportFormat.PARQUET:
        require_parquet()
    folder.mkdir(exist_ok=True)
    _clear_earlier(folder)
    written = []
    for config in dataset.written:
        path = folder / data_path(dataset.fmt, config)
        path.parent.mkdir(exist_ok=True)
        if dataset.fmt is ExportFormat.PARQUET:
            _write_parquet(config, path)
        else:
            path.write_text(config_text(dataset.fmt, config), encoding="utf-8", newline="")
        written.append(path)
    card = folder / "README.md"
    card.write_text(card_text(dataset, [data_path(dataset.fmt, c) for c in dataset.written]))
    written.append(card)
    return written
