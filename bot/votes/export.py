"""Turn votes into a dataset a trainer can load as it is: TRL's DPO and KTO rows (JSON lines),
every vote (CSV), or all of them as Parquet; each in a folder with a dataset card (README.md)
that `datasets.load_dataset(folder)` and the Hub read.

Rows never carry a raw user id: the DPO and KTO rows carry no user at all, the votes table
only the stored user key (a salted hash by default, hashed again if the store keeps raw ids).
"""

from __future__ import annotations

import enum
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from bot.store.sqlite import Store, VoteFilter
from bot.votes.dataset_order import kl_matches, neighbour_pairs, spread
from bot.votes.dataset_rows import FLAGS, View, dpo_rows, kto_rows
from bot.votes.dataset_schema import VOTES, Schema, dpo_schema, kto_schema
from bot.votes.dataset_source import Source, prompt_key, read_source


class ExportFormat(enum.StrEnum):
    DPO = "dpo"
    KTO = "kto"
    CSV = "csv"
    PARQUET = "parquet"  # every config below, as Parquet


@dataclass(frozen=True, slots=True)
class ExportOptions:
    where: VoteFilter = field(default_factory=VoteFilter)
    cap: int | None = None  # votes of one user on one prompt that count
    seed: int = 0  # the KTO rows' shuffle
    include_withheld: bool = False


@dataclass(frozen=True, slots=True)
class Config:
    """One table of the dataset, as `load_dataset(folder, name)` gives it."""

    name: str
    schema: Schema
    rows: list[dict[str, Any]]
    withheld_left_out: int = 0

    @property
    def flag_counts(self) -> dict[str, int]:
        counted = Counter(flag for row in self.rows for flag in row.get("flags", ()))
        return {flag.value: counted[flag.value] for flag in FLAGS}


@dataclass(frozen=True, slots=True)
class KtoOrder:
    neighbours_before: int  # adjacent rows of one prompt, in comparison order
    neighbours_after: int
    kl_matches_after: dict[int, int]  # per batch size: rows whose KL completion is their own


@dataclass(frozen=True, slots=True)
class Dataset:
    fmt: ExportFormat
    configs: list[Config]  # the first one written is the default
    options: ExportOptions
    source: Source
    kto_order: KtoOrder | None

    def config(self, name: str) -> Config:
        return next(config for config in self.configs if config.name == name)

    @property
    def written(self) -> list[Config]:
        """The configs with rows: `datasets` cannot load a config without any."""
        return [config for config in self.configs if config.rows]


def vote_rows(store: Store, votes: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [
        {
            "comparison_id": vote["comparison_id"],
            "voted_at": vote["voted_at"],
            "platform": vote["platform"],
            "channel_id": vote["channel_id"],
            "pair": vote["pair"],
            "base_model": vote["base_model"],
            "instruct_model": vote["instruct_model"],
            "framing": vote["framing"],
            "options": vote["options_json"],
            "choice": vote["choice"],
            "blind": int(vote["blind"]),
            "user_key": store.anonymous_key(vote["user_key"]),
            "shown_first": vote["shown_first"],
            "by_requester": int(vote["by_requester"]),
        }
        for vote in votes
    ]


def _kto_configs(source: Source, options: ExportOptions) -> tuple[list[Config], KtoOrder]:
    configs, order = [], None
    for view, name in ((View.CHAT, "kto"), (View.FRAMED, "kto_framed")):
        made = kto_rows(source.items, view, include_withheld=options.include_withheld)
        keys = [prompt_key(row["user_prompt"]) for row in made.rows]
        rows = spread(made.rows, keys, options.seed)
        if order is None:  # both views hold the same rows in the same order
            after = [prompt_key(row["user_prompt"]) for row in rows]
            order = KtoOrder(
                neighbours_before=neighbour_pairs(keys),
                neighbours_after=neighbour_pairs(after),
                kl_matches_after={size: kl_matches(after, size) for size in (2, 4, 8, 16, 32)},
            )
        schema = kto_schema(view is View.CHAT)
        configs.append(Config(name, schema, rows, made.withheld_left_out))
    assert order is not None
    return configs, order


def _dpo_configs(source: Source, options: ExportOptions) -> list[Config]:
    configs = []
    for view, name in ((View.CHAT, "dpo"), (View.FRAMED, "dpo_framed")):
        made = dpo_rows(source.items, view, include_withheld=options.include_withheld)
        configs.append(
            Config(name, dpo_schema(view is View.CHAT), made.rows, made.withheld_left_out)
        )
    return configs


async def build_dataset(store: Store, fmt: ExportFormat, options: ExportOptions) -> Dataset:
    source = await read_source(store, options.where, options.cap)
    configs: list[Config] = []
    kto_order = None
    if fmt in (ExportFormat.DPO, ExportFormat.PARQUET):
        configs.extend(_dpo_configs(source, options))
    if fmt in (ExportFormat.KTO, ExportFormat.PARQUET):
        kto, kto_order = _kto_configs(source, options)
        configs.extend(kto)
    if fmt in (ExportFormat.CSV, ExportFormat.PARQUET):
        votes = await store.dataset_votes(options.where)
        configs.append(Config("votes", VOTES, vote_rows(store, votes)))
    return Dataset(fmt, configs, options, source, kto_order)
