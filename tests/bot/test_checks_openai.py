"""`twinbot doctor` checks the default pair's own servers when they speak the OpenAI API."""

from __future__ import annotations

import shutil
import socket
from pathlib import Path

import pytest

from bot.config import REPO_ROOT
from bot.ops.doctor import Check, run_checks
from tests.conftest import SMALL_PAIR
from tests.fakes.ollama_fake import CHATML_TEMPLATE, OllamaFake
from tests.fakes.openai_fake import OpenAIFake

BASE, INSTRUCT = SMALL_PAIR


def prompts_with_pair(tmp_path: Path, endpoint: str, extra: str = "") -> Path:
    target = tmp_path / "prompts"
    shutil.copytree(REPO_ROOT / "prompts", target)
    pairs = target / "pairs.toml"
    pairs.write_text(
        pairs.read_text()
        + f'\n[[pair]]\nname = "engine"\nbackend = "openai"\nbase = "{BASE}"\n'
        + f'instruct = "{INSTRUCT}"\nendpoint = "{endpoint}"\n{extra}'
    )
    return target


def by_name(checks: list[Check]) -> dict[str, Check]:
    return {check.name: check for check in checks}


async def doctor(make_settings, tmp_path: Path, endpoint: str, extra: str = "") -> dict[str, Check]:
    settings = make_settings(
        prompts_dir=prompts_with_pair(tmp_path, endpoint, extra), default_pair="engine"
    )
    return by_name(await run_checks(settings))


async def test_a_healthy_engine_passes_without_asking_ollama(
    make_settings, tmp_path: Path, openai_fake: OpenAIFake
):
    checks = await doctor(make_settings, tmp_path, openai_fake.url)

    assert all(check.ok for check in checks.values()), checks
    assert "ollama" not in checks
    assert checks[f"server {openai_fake.url}"].detail == "OpenAI-compatible, serves 2 models"
    assert checks[f"model {BASE}"].detail == f"served at {openai_fake.url}"
    assert checks[f"model {INSTRUCT}"].ok


async def test_a_model_the_engine_does_not_serve_is_named_with_its_fix(
    make_settings, tmp_path: Path, openai_fake: OpenAIFake
):
    openai_fake.models.discard(INSTRUCT)
    checks = await doctor(make_settings, tmp_path, openai_fake.url)

    check = checks[f"model {INSTRUCT}"]
    assert not check.ok
    assert check.fix == f"start the engine at {openai_fake.url} with {INSTRUCT}, " + (
        "or fix the pair's instruct tag"
    )


async def test_a_server_that_is_down_fails_once(make_settings, tmp_path: Path):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{sock.getsockname()[1]}/v1"
    checks = await doctor(make_settings, tmp_path, url)

    server = checks[f"server {url}"]
    assert not server.ok and "Cannot reach the OpenAI-compatible server" in server.detail
    assert f"model {BASE}" not in checks  # nothing to say about models on a server that is down


async def test_a_missing_key_variable_is_reported(
    make_settings, tmp_path: Path, openai_fake: OpenAIFake, monkeypatch: pytest.MonkeyPatch
):
    openai_fake.api_key = "sekrit"
    checks = await doctor(make_settings, tmp_path, openai_fake.url, 'api_key_env = "ENGINE_KEY"\n')
    assert not checks["api key ENGINE_KEY"].ok
    assert "401" in checks[f"server {openai_fake.url}"].detail

    monkeypatch.setenv("ENGINE_KEY", "sekrit")
    checks = await doctor(
        make_settings, tmp_path / "again", openai_fake.url, 'api_key_env = "ENGINE_KEY"\n'
    )
    assert all(check.ok for check in checks.values()), checks


async def test_ollamas_v1_with_a_chat_template_on_the_base_tag_is_not_raw(
    make_settings, tmp_path: Path
):
    async with OllamaFake(models=set(SMALL_PAIR)) as ollama:
        ollama.templates[BASE] = CHATML_TEMPLATE
        checks = await doctor(make_settings, tmp_path, ollama.url + "/v1")
    check = checks[f"raw base {BASE}"]
    assert not check.ok
    assert "Ollama's /v1/completions applies this tag's template" in check.detail
    assert "TEMPLATE {{ .Prompt }}" in check.fix and 'drop backend = "openai"' in check.fix


async def test_ollamas_v1_with_a_prompt_only_template_is_raw(make_settings, tmp_path: Path):
    async with OllamaFake(models=set(SMALL_PAIR)) as ollama:
        checks = await doctor(make_settings, tmp_path, ollama.url + "/v1")
    assert all(check.ok for check in checks.values()), checks
    assert checks[f"raw base {BASE}"].detail.endswith("template {{ .Prompt }}: raw")


async def test_an_engine_that_is_not_ollama_gets_no_template_check(
    make_settings, tmp_path: Path, openai_fake: OpenAIFake
):
    checks = await doctor(make_settings, tmp_path, openai_fake.url)
    assert not any(name.startswith("raw base") for name in checks)
