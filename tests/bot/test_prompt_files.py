"""Which prompts file is read: the user's own folder first, file by file, then the built-in one."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.engine.catalog import load_catalog
from bot.engine.demos import load_demos
from bot.engine.prompt_files import BUILTIN_PROMPTS_DIR, describe_sources, prompt_file
from bot.errors import PromptsError

NAMES = ("pairs.toml", "framings.toml", "demos.toml")


def test_the_built_in_folder_is_the_packaged_one():
    assert {path.name for path in BUILTIN_PROMPTS_DIR.glob("*.toml")} == set(NAMES)
    assert describe_sources(BUILTIN_PROMPTS_DIR, NAMES) == "built in"


def test_a_file_of_the_users_own_replaces_only_that_file(tmp_path: Path):
    framings = (BUILTIN_PROMPTS_DIR / "framings.toml").read_text()
    (tmp_path / "framings.toml").write_text(
        framings + '\n[[framing]]\nname = "poem"\ntemplate = "A poem about {prompt}:\\n"\n'
        'stop = ["\\n\\n"]\n'
    )
    catalog = load_catalog(tmp_path)

    assert "poem" in catalog.framings
    assert "llama3.2-1b" in catalog.pairs  # pairs.toml: the built-in one
    assert load_demos(tmp_path, catalog)  # demos.toml too
    assert prompt_file(tmp_path, "pairs.toml") == BUILTIN_PROMPTS_DIR / "pairs.toml"
    assert describe_sources(tmp_path, NAMES) == f"framings.toml from {tmp_path}, the rest built in"


def test_a_folder_that_is_not_there_is_named_not_silently_skipped(tmp_path: Path):
    missing = tmp_path / "typo"
    with pytest.raises(PromptsError) as caught:
        load_catalog(missing)
    assert str(caught.value) == (
        f"TWINBOT_PROMPTS_DIR: {missing} is not a folder; point it at your own prompts folder, "
        "or unset it to use the built-in prompts"
    )
