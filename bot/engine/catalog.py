"""Load the model pairs and framings from prompts/, with errors that point at the broken line."""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, TypeVar
from urllib.parse import urlsplit

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
)

from bot.domain import BackendKind, Framing, ModelPair
from bot.engine.prompt_files import prompt_file
from bot.errors import PromptsError

PAIRS_FILE = "pairs.toml"
FRAMINGS_FILE = "framings.toml"
_NAME = re.compile(r"^[a-z0-9][a-z0-9._-]{0,39}$")
# An Ollama tag: model[:tag], optionally with a namespace or registry in front.
_TAG = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._/-]*(:[A-Za-z0-9][A-Za-z0-9._-]*)?$")
# An OpenAI-compatible server's model id is whatever it lists (a Hugging Face id, a path…).
_MODEL_ID = re.compile(r"^\S+$")
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


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
    # Field order matters: each validator sees the fields above it in `info.data`.
    backend: BackendKind = BackendKind.OLLAMA
    base: str
    instruct: str
    description: str = ""
    think: bool | None = False
    # CPU threads each side's runner may use (Ollama's `num_thread`); None: the setting.
    num_thread: Annotated[int, Field(ge=1, le=256)] | None = None
    base_endpoint: str | None = None
    instruct_endpoint: str | None = None
    endpoint: str | None = Field(default=None, validate_default=True)
    api_key_env: str | None = None

    @field_validator("base", "instruct")
    @classmethod
    def _tag(cls, value: str, info: ValidationInfo) -> str:
        if info.data.get("backend") is BackendKind.OPENAI:
            if not _MODEL_ID.match(value):
                raise ValueError("must be the model id the server lists at /v1/models")
        elif not _TAG.match(value):
            raise ValueError(f"{value!r} is not an Ollama model tag like 'llama3.2:1b-text-q4_K_M'")
        return value

    @field_validator("think")
    @classmethod
    def _think_is_ollamas(cls, value: bool | None, info: ValidationInfo) -> bool | None:
        if info.data.get("backend") is BackendKind.OPENAI:
            raise ValueError("applies to Ollama pairs only")
        return value

    @field_validator("num_thread")
    @classmethod
    def _threads_are_ollamas(cls, value: int | None, info: ValidationInfo) -> int | None:
        if value is not None and info.data.get("backend") is BackendKind.OPENAI:
            raise ValueError("applies to Ollama pairs only (the engine sets its own threads)")
        return value

    @field_validator("base_endpoint", "instruct_endpoint", "endpoint")
    @classmethod
    def _endpoint(cls, value: str | None, info: ValidationInfo) -> str | None:
        backend = info.data.get("backend")  # None: `backend` itself is wrong, reported already
        openai = backend is BackendKind.OPENAI
        if value is None:
            both_sides = info.data.get("base_endpoint") and info.data.get("instruct_endpoint")
            if openai and info.field_name == "endpoint" and not both_sides:
                raise ValueError(
                    'required for backend = "openai": the server\'s base URL, '
                    "e.g. http://127.0.0.1:8000/v1 (or base_endpoint and instruct_endpoint)"
                )
            return None
        if backend is BackendKind.OLLAMA:
            raise ValueError('only for backend = "openai"; Ollama pairs use TWINBOT_OLLAMA_HOST')
        parts = urlsplit(value.strip())
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"{value!r} is not an http(s) URL like http://127.0.0.1:8000/v1")
        return value.strip().rstrip("/")

    @field_validator("api_key_env")
    @classmethod
    def _key_variable(cls, value: str | None, info: ValidationInfo) -> str | None:
        if value is not None and info.data.get("backend") is BackendKind.OLLAMA:
            raise ValueError('only for backend = "openai"')
        if value is not None and not _ENV_NAME.match(value):
            # Keys never live in prompts/: this field names the variable that holds one.
            raise ValueError("must name an environment variable (like VLLM_API_KEY), not a key")
        return value

    def to_pair(self) -> ModelPair:
        return ModelPair(
            self.name,
            self.base,
            self.instruct,
            self.description,
            self.think,
            backend=self.backend,
            base_endpoint=self.base_endpoint or self.endpoint,
            instruct_endpoint=self.instruct_endpoint or self.endpoint,
            api_key_env=self.api_key_env,
            num_thread=self.num_thread,
        )


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
    pairs_path = prompt_file(directory, PAIRS_FILE)
    pairs = {e.name: e.to_pair() for e in _parse_all(pairs_path, "pair", _PairEntry)}
    framings = {
        e.name: Framing(e.name, e.template, tuple(e.stop), e.description)
        for e in _parse_all(prompt_file(directory, FRAMINGS_FILE), "framing", _FramingEntry)
    }
    return Catalog(pairs=pairs, framings=framings)
