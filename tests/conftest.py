"""Shared fixtures: a clean environment, the fake Ollama, settings and a real SQLite store."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from bot.config import REPO_ROOT, Settings, load_settings
from bot.domain import Requester
from bot.engine.catalog import Catalog, load_catalog
from bot.engine.requests import build_request
from bot.store.sqlite import Store
from tests.fakes.ollama_fake import OllamaFake
from tests.vocabularies import VOCABULARIES

SMALL_PAIR = ("llama3.2:1b-text-q4_K_M", "llama3.2:1b-instruct-q4_K_M")
# Read before `clean_environment` clears every TWINBOT_* variable for the tests.
REAL_OLLAMA = os.environ.get("TWINBOT_REAL_OLLAMA", "")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Tests marked `real_ollama` run only against a real server, and say why they skip."""
    if REAL_OLLAMA:
        return
    skip = pytest.mark.skip(
        reason="real_ollama: set TWINBOT_REAL_OLLAMA to an Ollama server's URL with the "
        "smollm2 tags (scripts/real-ollama-tags creates them)"
    )
    for item in items:
        if "real_ollama" in item.keywords:
            item.add_marker(skip)


@pytest.fixture
def real_ollama_url() -> str:
    return REAL_OLLAMA


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    """No TWINBOT_*, OLLAMA_* or token from the developer's shell or `.env` leaks into a test."""
    for name in list(os.environ):
        if name.startswith(("TWINBOT_", "OLLAMA_", "SLACK_", "DISCORD_")):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)  # so a developer's ./.env is not read
    # The default database folder (platformdirs' user data folder) inside the test's own tmp.
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg-data"))
    yield


@pytest.fixture
async def ollama() -> AsyncIterator[OllamaFake]:
    async with OllamaFake(models=set(SMALL_PAIR)) as fake:
        yield fake


@pytest.fixture
def make_settings(tmp_path: Path) -> Callable[..., Settings]:
    def make(**overrides: Any) -> Settings:
        values: dict[str, Any] = {
            "database_path": tmp_path / "twinbot.sqlite3",
            "prompts_dir": REPO_ROOT / "prompts",
            "terminal_refresh_interval": 0.02,
            # Slack's streams are on in production; tests of them (test_slack_streams.py) ask
            # for them, the others read the replies chat.update leaves.
            "slack_streams": False,
        }
        values.update(overrides)
        return load_settings(**values)

    return make


@pytest.fixture
def settings(make_settings: Callable[..., Settings], ollama: OllamaFake) -> Settings:
    return make_settings(ollama_host=ollama.url, first_token_timeout=5.0, total_timeout=10.0)


@pytest.fixture
def catalog() -> Catalog:
    return load_catalog(REPO_ROOT / "prompts")


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[Store]:
    opened = await Store.open(tmp_path / "store.sqlite3", vocabularies=VOCABULARIES)
    yield opened
    await opened.close()


@pytest.fixture
def make_request(settings: Settings, catalog: Catalog) -> Callable[..., Any]:
    def make(prompt: str = "こんにちは", **options: Any) -> Any:
        return build_request(
            settings, catalog, Requester(platform="test", user_id="u1"), prompt, **options
        )

    return make
