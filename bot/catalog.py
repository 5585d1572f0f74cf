"""Load the model pairs and framings from prompts/, with errors that point at the broken line."""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from bot.domain import Framing, ModelPair
from bot.errors import PromptsError

PAIRS_FILE = "pairs.toml"
FRAMINGS_FILE = "framings.toml"
_NAME = re.compile(r"^[a-z0-9][a-z0-9._-]{0,39}$")
# An Ollama tag: model[:tag], optionally with a namespace or registry in front.
_TAG = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._/-]*(:[A-Za-z0-9][A-Za-z0-9._-]*)?$")


class _Named(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        if not _NAME.match(value):
            raise ValueError("lower-case letters, digits, '.', '_' or '-', at most 40 characters")
        return value


_Entry = TypeVar("_Entry", bound="_Named")


class _PairEntry(_Named):
    base: str
    instruct: str
    description: str = ""
    think: bool | None = False

    @field_validator("base", "instruct")
    @classmethod
    def _tag(cls, value: str) -> str:
        if not _TAG.match(value):
            raise ValueError(f"{value!r} is not an Ollama model tag like 'llama3.2:1b-text-q4_K_M'")
        return value


class _FramingEntry(_Named):
    template: str
    stop: list[str] = Field(min_length=1)
    description: str = ""

    @field_validator("template")
    @classmethod
    def _one_placeholder(cls, value: str) -> str:
        if value.count("{prompt}") != 1:
            raise ValueError("must contain {prompt} exactly once")
        return value

    @field_validator("stop")
    @classmethod
    def _no_empty_stop(cls, value: list[str]) -> list[str]:
        if any(not s for s in value):
            raise ValueError("stop sequences must not be empty strings")
        return value


@dataclass(frozen=True, slots=True)
class Catalog:
    pairs: dict[str, ModelPair]
    framings: dict[str, Framing]

    def pair(self, name: str) -> ModelPair:
        try:
            return self.pairs[name]
        except KeyError:
            known = ", ".join(sorted(self.pairs))
            raise PromptsError(f"Unknown pair `{name}`. Known pairs: {known}.") from None

    def framing(self, name: str) -> Framing:
        try:
            return self.framings[name]
        except KeyError:
            known = ", ".join(sorted(self.framings))
            raise PromptsError(f"Unknown framing `{name}`. Known framings: {known}.") from None


def _read_entries(path: Path, table: str) -> list[Any]:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise PromptsError(f"{path}: file is missing") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise PromptsError(f"{path}: not valid TOML: {exc}") from None
    unknown = set(data) - {table}
    if unknown:
        raise PromptsError(
            f"{path}: unknown top-level key(s) {sorted(unknown)}; expected [[{table}]]"
        )
    entries = data.get(table)
    if not isinstance(entries, list) or not entries:
        raise PromptsError(f"{path}: needs at least one [[{table}]] entry")
    return entries


def _entry_label(table: str, index: int, raw: Any) -> str:
    name = raw.get("name") if isinstance(raw, dict) else None
    return f"{table} #{index + 1}" + (f" ({name!r})" if name else "")


def _describe(exc: ValidationError) -> str:
    parts = []
    for error in exc.errors():
        where = ".".join(str(p) for p in error["loc"]) or "entry"
        parts.append(f"{where}: {error['msg']}")
    return "; ".join(parts)


def _parse_all(path: Path, table: str, model: type[_Entry]) -> list[_Entry]:
    parsed: list[_Entry] = []
    seen: set[str] = set()
    for index, raw in enumerate(_read_entries(path, table)):
        label = _entry_label(table, index, raw)
        try:
            entry = model.model_validate(raw)
        except ValidationError as exc:
            raise PromptsError(f"{path}: {label}: {_describe(exc)}") from None
        name = entry.name
        if name in seen:
            raise PromptsError(f"{path}: {label}: duplicate name {name!r}")
        seen.add(name)
        parsed.append(entry)
    return parsed


def load_catalog(directory: Path) -> Catalog:
    pairs = {
        e.name: ModelPair(e.name, e.base, e.instruct, e.description, e.think)
        for e in _parse_all(directory / PAIRS_FILE, "pair", _PairEntry)
    }
    framings = {
        e.name: Framing(e.name, e.template, tuple(e.stop), e.description)
        for e in _parse_all(directory / FRAMINGS_FILE, "framing", _FramingEntry)
    }
    return Catalog(pairs=pairs, framings=framings)
