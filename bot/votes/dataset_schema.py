"""The columns of each dataset config, declared once: the card's `dataset_info.features` (which
`datasets.load_dataset` applies, so an all-empty list column is still a list of strings) and
the Parquet schema both come from here."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pyarrow as pa

# Scalars in the Hub's names (`datasets.Value` dtypes).
STRING, INT, FLOAT, BOOL = "string", "int64", "float64", "bool"


@dataclass(frozen=True, slots=True)
class ListOf:
    item: Kind


@dataclass(frozen=True, slots=True)
class Struct:
    fields: tuple[tuple[str, Kind], ...]


Kind = str | ListOf | Struct
Schema = tuple[tuple[str, Kind], ...]

MESSAGES = ListOf(Struct((("role", STRING), ("content", STRING))))  # TRL's conversational form

OPTIONS = Struct((("max_tokens", INT), ("temperature", FLOAT), ("seed", INT)))
VOTE = Struct((("choice", STRING), ("blind", BOOL), ("voted_at", STRING), ("by_requester", BOOL)))
# The comparison's stored lens views (issue 17), each payload as the JSON the store keeps.
LENS = ListOf(Struct((("kind", STRING), ("payload", STRING))))
VOTE_COUNTS = Struct(
    (("base_better", INT), ("instruct_better", INT), ("tie", INT), ("both_bad", INT))
)

# Every DPO and KTO row carries these after its training columns.
METADATA: Schema = (
    ("comparison_id", INT),
    ("created_at", STRING),
    ("platform", STRING),
    ("pair", STRING),
    ("base_model", STRING),
    ("instruct_model", STRING),
    ("framing", STRING),
    ("user_prompt", STRING),
    ("framed_prompt", STRING),
    ("stop", ListOf(STRING)),
    ("options", OPTIONS),
    ("blind", BOOL),
    ("shown_first", STRING),
    ("base_done_reason", STRING),
    ("base_tokens", INT),
    ("base_prompt_tokens", INT),
    ("base_safety", STRING),
    ("instruct_done_reason", STRING),
    ("instruct_tokens", INT),
    ("instruct_prompt_tokens", INT),
    ("instruct_safety", STRING),
    ("votes", ListOf(VOTE)),
    ("vote_counts", VOTE_COUNTS),
    ("requester_voted", BOOL),
    ("lens", LENS),
    ("flags", ListOf(STRING)),
)


def dpo_schema(chat: bool) -> Schema:
    text: Kind = MESSAGES if chat else STRING
    return (
        ("prompt", MESSAGES if chat else STRING),
        ("chosen", text),
        ("rejected", text),
        ("chosen_role", STRING),
        ("chosen_model", STRING),
        ("rejected_model", STRING),
        *METADATA,
    )


def kto_schema(chat: bool) -> Schema:
    return (
        ("prompt", MESSAGES if chat else STRING),
        ("completion", MESSAGES if chat else STRING),
        ("label", BOOL),
        ("role", STRING),
        ("model", STRING),
        *METADATA,
    )


# One row per vote; flat, so that it also fits a CSV file.
VOTES: Schema = (
    ("comparison_id", INT),
    ("voted_at", STRING),
    ("platform", STRING),
    ("channel_id", STRING),
    ("pair", STRING),
    ("base_model", STRING),
    ("instruct_model", STRING),
    ("framing", STRING),
    ("options", STRING),  # the comparison's options as JSON
    ("choice", STRING),
    ("blind", INT),  # 0 or 1, as the CSV has always written it
    ("user_key", STRING),
    ("shown_first", STRING),
    ("by_requester", INT),
)


def _kind_yaml(name: str, kind: Kind) -> dict[str, Any]:
    """One feature the way the Hub's YAML writes it (`datasets.Features._to_yaml_list`)."""
    if isinstance(kind, str):
        return {"name": name, "dtype": kind}
    if isinstance(kind, Struct):
        return {"name": name, "struct": [_kind_yaml(n, k) for n, k in kind.fields]}
    item = kind.item
    if isinstance(item, str):
        return {"name": name, "list": item}
    if isinstance(item, Struct):
        return {"name": name, "list": [_kind_yaml(n, k) for n, k in item.fields]}
    raise ValueError(f"{name}: a list of lists is not used here")


def features_yaml(schema: Schema) -> list[dict[str, Any]]:
    return [_kind_yaml(name, kind) for name, kind in schema]


def _arrow_type(kind: Kind) -> pa.DataType:
    import pyarrow as pa

    if isinstance(kind, ListOf):
        return pa.list_(_arrow_type(kind.item))
    if isinstance(kind, Struct):
        return pa.struct([pa.field(n, _arrow_type(k)) for n, k in kind.fields])
    scalars = {STRING: pa.string(), INT: pa.int64(), FLOAT: pa.float64(), BOOL: pa.bool_()}
    return scalars[kind]


def arrow_schema(schema: Schema) -> pa.Schema:
    import pyarrow as pa

    return pa.schema([pa.field(name, _arrow_type(kind)) for name, kind in schema])
