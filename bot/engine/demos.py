"""The classic experiments from the articles behind twinbot, as data in prompts/demos.toml."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from pydantic import Field, field_validator

from bot.engine.catalog import Catalog, _Named, _parse_all
from bot.engine.prompt_files import prompt_file
from bot.errors import PromptsError

DEMOS_FILE = "demos.toml"


class _DemoEntry(_Named):
    title: str = Field(min_length=1, max_length=100)
    prompt: str = Field(min_length=1)
    framing: str
    max_tokens: int = Field(ge=1, le=4096)
    temperature: float = Field(ge=0, le=2)
    explain: str = Field(min_length=1, max_length=400)

    @field_validator("explain")
    @classmethod
    def _one_line(cls, value: str) -> str:
        if "\n" in value:
            raise ValueError("must be one line: it is posted with the demo")
        return value


@dataclass(frozen=True, slots=True)
class Demo:
    name: str
    title: str
    prompt: str
    framing: str
    max_tokens: int
    temperature: float
    explain: str


def load_demos(directory: Path, catalog: Catalog) -> dict[str, Demo]:
    path = prompt_file(directory, DEMOS_FILE)
    demos: dict[str, Demo] = {}
    for index, entry in enumerate(_parse_all(path, "demo", _DemoEntry)):
        if entry.framing not in catalog.framings:
            known = ", ".join(sorted(catalog.framings))
            raise PromptsError(
                f"{path}: demo #{index + 1} ({entry.name!r}): framing: unknown framing "
                f"{entry.framing!r} (known: {known})"
            )
        demos[entry.name] = Demo(
            entry.name,
            entry.title,
            entry.prompt,
            entry.framing,
            entry.max_tokens,
            entry.temperature,
            entry.explain,
        )
    return demos


def find_demo(demos: dict[str, Demo], name: str) -> Demo:
    try:
        return demos[name]
    except KeyError:
        known = ", ".join(demos)
        raise PromptsError(f"Unknown demo `{name}`. Known demos: {known}.") from None
