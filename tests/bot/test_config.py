"""Settings: env with the TWINBOT_ prefix, OLLAMA_HOST honoured, bad values named in one line."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.config import ConfigError, load_settings


def test_defaults_load_without_any_environment():
    settings = load_settings()
    assert settings.ollama_host == "http://127.0.0.1:11434"
    assert settings.default_pair == "llama3.2-1b"


def test_environment_overrides(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("TWINBOT_MAX_TOKENS", "64")
    monkeypatch.setenv("TWINBOT_DEFAULT_FRAMING", "qa")
    settings = load_settings()
    assert (settings.max_tokens, settings.default_framing) == (64, "qa")


def test_ollama_host_is_honoured_and_twinbot_wins(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("OLLAMA_HOST", "http://gpu-box:11434")
    assert load_settings().ollama_host == "http://gpu-box:11434"
    monkeypatch.setenv("TWINBOT_OLLAMA_HOST", "http://other:11434")
    assert load_settings().ollama_host == "http://other:11434"


def test_dotenv_file_is_read(tmp_path: Path):
    (tmp_path / ".env").write_text("TWINBOT_TEMPERATURE=0.2\n")
    assert load_settings().temperature == 0.2


@pytest.mark.parametrize(
    ("variable", "value", "expected"),
    [
        ("TWINBOT_MAX_TOKENS", "lots", "TWINBOT_MAX_TOKENS: Input should be a valid integer"),
        (
            "TWINBOT_TEMPERATURE",
            "3",
            "TWINBOT_TEMPERATURE: Input should be less than or equal to 2",
        ),
        ("TWINBOT_LOG_LEVEL", "LOUD", "TWINBOT_LOG_LEVEL: Value error, must be one of DEBUG"),
        (
            "TWINBOT_MAX_TOKENS",
            "2000",
            "TWINBOT_MAX_TOKENS: must be at most TWINBOT_MAX_TOKENS_LIMIT",
        ),
    ],
)
def test_a_wrong_value_names_the_variable(
    monkeypatch: pytest.MonkeyPatch, variable, value, expected
):
    monkeypatch.setenv(variable, value)
    with pytest.raises(ConfigError) as caught:
        load_settings()
    assert str(caught.value).startswith(expected)
    assert "\n" not in str(caught.value)


def test_env_example_lists_every_setting_and_loads():
    import re

    from bot.config import REPO_ROOT, Settings

    text = (REPO_ROOT / ".env.example").read_text()
    named = set(re.findall(r"^#? ?(TWINBOT_[A-Z0-9_]+)=", text, flags=re.MULTILINE))
    expected = {f"TWINBOT_{name.upper()}" for name in Settings.model_fields}
    assert named == expected
    Path(".env").write_text(text)  # the cwd is the test's tmp_path
    load_settings()


def test_an_aliased_variable_is_named_by_both_spellings(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("OLLAMA_NUM_PARALLEL", "many")
    with pytest.raises(ConfigError, match=r"^TWINBOT_MAX_RUNNING or OLLAMA_NUM_PARALLEL: "):
        load_settings()
    monkeypatch.setenv("OLLAMA_NUM_PARALLEL", "4")
    assert load_settings().max_running == 4
