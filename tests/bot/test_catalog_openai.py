"""Pairs on an OpenAI-compatible server: the new fields, and errors naming file, entry and field."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from bot.config import REPO_ROOT
from bot.domain import BackendKind, Role
from bot.engine.catalog import load_catalog
from bot.errors import PromptsError


@pytest.fixture
def prompts(tmp_path: Path) -> Path:
    target = tmp_path / "prompts"
    shutil.copytree(REPO_ROOT / "prompts", target)
    return target


def add_pair(prompts: Path, entry: str) -> Path:
    pairs = prompts / "pairs.toml"
    pairs.write_text(pairs.read_text() + "\n[[pair]]\n" + entry)
    return pairs


def refusal(prompts: Path, entry: str) -> str:
    pairs = add_pair(prompts, entry)
    with pytest.raises(PromptsError) as caught:
        load_catalog(prompts)
    message = str(caught.value)
    assert message.startswith(f"{pairs}: pair #7 ('x'): ")
    return message


def test_shipped_pairs_stay_on_ollama():
    for pair in load_catalog(REPO_ROOT / "prompts").pairs.values():
        assert pair.backend is BackendKind.OLLAMA
        assert pair.endpoint(Role.BASE) is None and pair.api_key_env is None


def test_the_commented_example_in_pairs_toml_loads_when_uncommented(prompts: Path):
    text = (REPO_ROOT / "prompts" / "pairs.toml").read_text()
    block = re.search(r"^# \[\[pair\]\]\n((?:# \w.*\n)+)", text, flags=re.MULTILINE)
    assert block is not None, "pairs.toml lost its commented OpenAI-compatible example"
    add_pair(prompts, re.sub(r"^# ", "", block.group(1), flags=re.MULTILINE))

    pair = load_catalog(prompts).pairs["qwen2.5-0.5b-vllm"]
    assert pair.backend is BackendKind.OPENAI
    assert pair.endpoint(Role.BASE) == "http://gpu-1.internal:8000/v1"
    assert pair.endpoint(Role.INSTRUCT) == "http://gpu-1.internal:8001/v1"
    assert pair.api_key_env == "VLLM_API_KEY"


def test_one_endpoint_serves_both_sides(prompts: Path):
    add_pair(
        prompts,
        'name = "x"\nbackend = "openai"\nbase = "/models/base.gguf"\n'
        'instruct = "meta-llama/Llama-3.2-1B-Instruct"\nendpoint = "http://litellm:4000/v1/"\n',
    )
    pair = load_catalog(prompts).pairs["x"]
    assert pair.base == "/models/base.gguf"  # engines list whatever they were started with
    assert pair.endpoint(Role.BASE) == pair.endpoint(Role.INSTRUCT) == "http://litellm:4000/v1"


def test_a_side_endpoint_overrides_the_shared_one(prompts: Path):
    add_pair(
        prompts,
        'name = "x"\nbackend = "openai"\nbase = "a"\ninstruct = "b"\n'
        'endpoint = "http://one:8000/v1"\ninstruct_endpoint = "http://two:8000/v1"\n',
    )
    pair = load_catalog(prompts).pairs["x"]
    assert pair.endpoint(Role.BASE) == "http://one:8000/v1"
    assert pair.endpoint(Role.INSTRUCT) == "http://two:8000/v1"


def test_openai_pair_without_endpoint_is_refused(prompts: Path):
    message = refusal(prompts, 'name = "x"\nbackend = "openai"\nbase = "a"\ninstruct = "b"\n')
    assert 'endpoint: Value error, required for backend = "openai"' in message


def test_one_side_endpoint_alone_is_not_enough(prompts: Path):
    message = refusal(
        prompts,
        'name = "x"\nbackend = "openai"\nbase = "a"\ninstruct = "b"\n'
        'base_endpoint = "http://one:8000/v1"\n',
    )
    assert "endpoint: Value error, required" in message


def test_endpoint_on_an_ollama_pair_is_refused(prompts: Path):
    message = refusal(
        prompts, 'name = "x"\nbase = "a:b"\ninstruct = "c:d"\nendpoint = "http://h:1/v1"\n'
    )
    assert "endpoint: Value error, only for backend" in message
    assert "TWINBOT_OLLAMA_HOST" in message


def test_endpoint_must_be_an_http_url(prompts: Path):
    message = refusal(
        prompts,
        'name = "x"\nbackend = "openai"\nbase = "a"\ninstruct = "b"\nendpoint = "gpu-1:8000"\n',
    )
    assert "endpoint: Value error, 'gpu-1:8000' is not an http(s) URL" in message


def test_a_key_in_place_of_its_variable_name_is_refused(prompts: Path):
    message = refusal(
        prompts,
        'name = "x"\nbackend = "openai"\nbase = "a"\ninstruct = "b"\n'
        'endpoint = "http://h:1/v1"\napi_key_env = "sk-abc123"\n',
    )
    assert "api_key_env: Value error, must name an environment variable" in message
    assert "sk-abc123" not in message  # a pasted key is not echoed into logs


def test_think_is_refused_on_an_openai_pair(prompts: Path):
    message = refusal(
        prompts,
        'name = "x"\nbackend = "openai"\nbase = "a"\ninstruct = "b"\n'
        'endpoint = "http://h:1/v1"\nthink = false\n',
    )
    assert "think: Value error, applies to Ollama pairs only" in message


def test_unknown_backend_is_the_only_error_reported(prompts: Path):
    message = refusal(
        prompts,
        'name = "x"\nbackend = "vllm"\nbase = "a"\ninstruct = "b"\nendpoint = "http://h:1/v1"\n',
    )
    assert "backend: Input should be 'ollama' or 'openai'" in message
    assert "endpoint" not in message


def test_model_ids_with_spaces_are_refused(prompts: Path):
    message = refusal(
        prompts,
        'name = "x"\nbackend = "openai"\nbase = "a b"\ninstruct = "b"\nendpoint = "http://h:1/v1"\n',
    )
    assert "base: Value error, must be the model id the server lists" in message
