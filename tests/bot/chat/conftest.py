"""Settings for the conversation core's tests: the fake Ollama, a first token within 5 s."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from bot.config import Settings
from tests.fakes.ollama_fake import OllamaFake


@pytest.fixture
def chat_settings(
    make_settings: Callable[..., Settings], ollama: OllamaFake
) -> Callable[..., Settings]:
    def make(**overrides: Any) -> Settings:
        values: dict[str, Any] = {"ollama_host": ollama.url, "first_token_timeout": 5.0}
        return make_settings(**{**values, **overrides})

    return make
