"""Pairs and framings are data; a broken file names the file, the entry and the problem."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from bot.config import REPO_ROOT
from bot.engine.catalog import load_catalog
from bot.errors import PromptsError


def test_shipped_prompts_have_the_required_pairs_and_framings():
    catalog = load_catalog(REPO_ROOT / "prompts")
    pairs = catalog.pairs
    assert (pairs["mistral-7b-v0.2"].base, pairs["mistral-7b-v0.2"].instruct) == (
        "mistral:7b-text-v0.2-q4_0",
        "mistral:7b-instruct-v0.2-q4_0",
    )
    assert pairs["llama3.2-1b"].base == "llama3.2:1b-text-q4_K_M"
    assert pairs["qwen2.5-0.5b"].instruct == "qwen2.5:0.5b-instruct"
    assert {"raw", "qa", "transcript", "in-context"} <= catalog.framings.keys()
    for framing in catalog.framings.values():
        assert framing.stop, f"{framing.name} has no stop sequence"
    in_context = catalog.framings["in-context"]
    assert in_context.template.count("# Query:") == 4  # three examples and the user's turn
    assert in_context.frame("Why?").endswith("# Query:\nWhy?\n\n# Answer:\n")


@pytest.fixture
def prompts(tmp_path: Path) -> Path:
    target = tmp_path / "prompts"
    shutil.copytree(REPO_ROOT / "prompts", target)
    return target


def test_missing_field_names_file_entry_and_field(prompts: Path):
    pairs = prompts / "pairs.toml"
    pairs.write_text(pairs.read_text() + '\n[[pair]]\nname = "broken"\nbase = "a:b"\n')
    with pytest.raises(PromptsError) as caught:
        load_catalog(prompts)
    message = str(caught.value)
    assert str(pairs) in message
    assert "pair #7 ('broken')" in message
    assert "instruct: Field required" in message


def test_template_without_placeholder_is_refused(prompts: Path):
    (prompts / "framings.toml").write_text(
        '[[framing]]\nname = "x"\ntemplate = "no slot"\nstop = ["\\n"]\n'
    )
    with pytest.raises(
        PromptsError, match=r"framing #1 \('x'\): template: .*\{prompt\} exactly once"
    ):
        load_catalog(prompts)


def test_framing_without_stop_is_refused(prompts: Path):
    (prompts / "framings.toml").write_text(
        '[[framing]]\nname = "x"\ntemplate = "{prompt}"\nstop = []\n'
    )
    with pytest.raises(PromptsError, match=r"stop: List should have at least 1 item"):
        load_catalog(prompts)


def test_duplicate_names_are_refused(prompts: Path):
    pairs = prompts / "pairs.toml"
    pairs.write_text(
        pairs.read_text() + '\n[[pair]]\nname = "llama3.2-1b"\nbase = "a"\ninstruct = "b"\n'
    )
    with pytest.raises(PromptsError, match=r"duplicate name 'llama3\.2-1b'"):
        load_catalog(prompts)


def test_invalid_toml_is_reported_with_the_file(prompts: Path):
    (prompts / "pairs.toml").write_text("[[pair]\nname=")
    with pytest.raises(PromptsError, match=r"pairs\.toml: not valid TOML"):
        load_catalog(prompts)


def test_unknown_key_is_refused(prompts: Path):
    pairs = prompts / "pairs.toml"
    pairs.write_text('[[pair]]\nname = "a"\nbase = "a:b"\ninstruct = "a:c"\ncolour = "red"\n')
    with pytest.raises(PromptsError, match="colour: Extra inputs are not permitted"):
        load_catalog(prompts)


def test_a_pair_may_set_num_thread_for_ollama_only(prompts: Path):
    pairs = prompts / "pairs.toml"
    entry = '\n[[pair]]\nname = "cpu"\nbase = "a:b"\ninstruct = "a:c"\nnum_thread = 1\n'
    pairs.write_text(pairs.read_text() + entry)
    assert load_catalog(prompts).pair("cpu").num_thread == 1
    pairs.write_text(pairs.read_text().replace("num_thread = 1", "num_thread = 0"))
    with pytest.raises(PromptsError, match="num_thread"):
        load_catalog(prompts)
    engine = '\nbackend = "openai"\nendpoint = "http://127.0.0.1:8000/v1"\nnum_thread = 2\n'
    pairs.write_text(
        pairs.read_text().replace("num_thread = 0", "")
        + '\n[[pair]]\nname = "engine"\nbase = "a"\ninstruct = "b"'
        + engine
    )
    with pytest.raises(PromptsError, match=r"num_thread: .*Ollama pairs only"):
        load_catalog(prompts)
