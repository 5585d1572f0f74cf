"""One settings class for all of twinbot, read from TWINBOT_* variables and `.env`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import platformdirs
from pydantic import AliasChoices, Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from bot.domain import SafetyMode
from bot.engine.prompt_files import BUILTIN_PROMPTS_DIR

REPO_ROOT = Path(__file__).resolve().parent.parent


def default_database_path() -> Path:
    """The platform's user data folder (~/.local/share/twinbot on Linux, honouring XDG_DATA_HOME;
    ~/Library/Application Support/twinbot on macOS; %LOCALAPPDATA%\\twinbot on Windows)."""
    return platformdirs.user_data_path("twinbot", appauthor=False) / "twinbot.sqlite3"


class ConfigError(Exception):
    """A setting has a value twinbot cannot use; the message names the variable."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="TWINBOT_",
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
        populate_by_name=True,
    )

    # Ollama. OLLAMA_HOST is honoured too, so an existing Ollama setup needs no new variable.
    ollama_host: str = Field(
        default="http://127.0.0.1:11434",
        validation_alias=AliasChoices("TWINBOT_OLLAMA_HOST", "OLLAMA_HOST"),
    )
    connect_timeout: Annotated[float, Field(gt=0, le=120)] = 5.0
    first_token_timeout: Annotated[float, Field(gt=0, le=3600)] = 120.0
    total_timeout: Annotated[float, Field(gt=0, le=7200)] = 300.0

    # What a comparison uses when the user names nothing.
    default_pair: str = "llama3.2-1b"
    default_framing: str = "raw"
    # The built-in prompts ship with the package; a folder of your own overrides them file by file.
    prompts_dir: Path = BUILTIN_PROMPTS_DIR

    # Generation defaults, the same on both sides.
    max_tokens: Annotated[int, Field(ge=1, le=4096)] = 256
    max_tokens_limit: Annotated[int, Field(ge=1, le=32768)] = 1024
    temperature: Annotated[float, Field(ge=0, le=2)] = 0.7
    seed: int | None = None
    # Ollama's `num_thread` for each side (unset: Ollama's default, every core). On a CPU host
    # set about cores/2 (`twinbot doctor --measure` recommends a value); a pair's `num_thread`
    # in prompts/pairs.toml overrides it.
    num_thread: Annotated[int, Field(ge=1, le=256)] | None = None

    # Input limits.
    max_prompt_chars: Annotated[int, Field(ge=1, le=100_000)] = 4000

    # Storage.
    # The default folder is created on first use; a folder named in TWINBOT_DATABASE_PATH must
    # exist already (a typo never creates a stray tree).
    database_path: Path = Field(default_factory=default_database_path)
    # Off: user ids are stored as salted hashes (the salt is per install, in the database).
    store_user_ids: bool = False

    # The safety gate for raw base output: a guard model on the same Ollama judges prompts
    # and outputs. The mode is per channel (admins change it); these are the defaults.
    safety_default: SafetyMode = SafetyMode.OFF
    safety_nsfw_default: SafetyMode = SafetyMode.LABEL  # Discord channels marked NSFW
    guard_model: str = "llama-guard3:1b"
    guard_chunk_chars: Annotated[int, Field(ge=20, le=4000)] = 240

    # Votes: blind comparisons hide which side is which until a vote or the close time.
    blind_default: bool = False
    blind_channels: Annotated[list[str], NoDecode] = []
    blind_reveal_after: Annotated[float, Field(gt=0, le=7 * 24 * 3600)] = 3600.0

    # Terminal rendering: how often the live view redraws (seconds).
    terminal_refresh_interval: Annotated[float, Field(gt=0, le=10)] = 0.1

    # Rate limits for chat commands: a token bucket per user and per channel.
    user_comparisons_per_minute: Annotated[float, Field(gt=0, le=600)] = 2.0
    user_burst: Annotated[int, Field(ge=1, le=100)] = 3
    channel_comparisons_per_minute: Annotated[float, Field(gt=0, le=600)] = 6.0
    channel_burst: Annotated[int, Field(ge=1, le=100)] = 6

    # A workspace or server as a whole (all its channels together).
    workspace_comparisons_per_minute: Annotated[float, Field(gt=0, le=6000)] = 30.0
    workspace_burst: Annotated[int, Field(ge=1, le=1000)] = 20

    # Load: comparisons running against the model server at once (Ollama serves each model
    # OLLAMA_NUM_PARALLEL requests at a time, so that is the default), and how many may wait.
    max_running: Annotated[int, Field(ge=1, le=256)] = Field(
        default=2, validation_alias=AliasChoices("TWINBOT_MAX_RUNNING", "OLLAMA_NUM_PARALLEL")
    )
    max_waiting: Annotated[int, Field(ge=0, le=10_000)] = 50

    # Operations: /healthz and /metrics for the chat bots; seconds running comparisons get
    # to finish after SIGTERM before they are marked interrupted.
    ops_host: str = "127.0.0.1"
    ops_port: Annotated[int, Field(ge=0, le=65535)] = 9464
    shutdown_grace: Annotated[float, Field(ge=0, le=600)] = 20.0

    # Discord. Secrets have no default: a missing token stops `twinbot run discord`.
    discord_token: SecretStr | None = None
    discord_guild_id: int | None = None
    discord_channels: Annotated[list[str], NoDecode] = []
    discord_edit_interval: Annotated[float, Field(ge=0.2, le=30)] = 1.0
    # Members with one of these roles (ids or names) skip the rate limits and the queue's
    # refusal, and may change a channel's safety mode. Server administrators always may.
    discord_admin_roles: Annotated[list[str], NoDecode] = []

    # Slack: Socket Mode when the app token is set, HTTP mode (signed requests) otherwise.
    slack_bot_token: SecretStr | None = None
    slack_app_token: SecretStr | None = None
    slack_signing_secret: SecretStr | None = None
    slack_host: str = "0.0.0.0"
    slack_port: Annotated[int, Field(ge=1, le=65535)] = 3000
    slack_channels: Annotated[list[str], NoDecode] = []
    # Slack user ids (U…) who skip the rate limits and may change a channel's safety mode.
    slack_admin_users: Annotated[list[str], NoDecode] = []
    slack_updates_per_minute: Annotated[int, Field(ge=1, le=50)] = 45
    # Live text by chat.startStream/appendStream/stopStream where that gives a side more calls
    # than chat.update (safety mode off), chat.update otherwise: see docs/slack.md.
    slack_streams: bool = True
    # Web API base; GovSlack uses https://slack-gov.com/api/ (tests point it at a fake).
    slack_api_url: str = "https://slack.com/api/"

    log_level: str = "INFO"

    @field_validator(
        "discord_channels",
        "slack_channels",
        "blind_channels",
        "discord_admin_roles",
        "slack_admin_users",
        mode="before",
    )
    @classmethod
    def _comma_separated(cls, value: object) -> object:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @field_validator("ollama_host")
    @classmethod
    def _host_has_scheme_or_port(cls, value: str) -> str:
        value = value.strip()
        if not value:
            raise ValueError("must not be empty, e.g. http://127.0.0.1:11434")
        return value

    @field_validator("log_level")
    @classmethod
    def _known_level(cls, value: str) -> str:
        level = value.upper()
        if level not in {"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"}:
            raise ValueError("must be one of DEBUG, INFO, WARNING, ERROR, CRITICAL")
        return level


def _variable_name(loc: tuple[int | str, ...]) -> str:
    field = str(loc[0]) if loc else "?"
    for name, info in Settings.model_fields.items():
        alias = info.validation_alias
        choices = [str(c) for c in alias.choices] if isinstance(alias, AliasChoices) else []
        if field == name or field in choices:
            # e.g. "TWINBOT_MAX_RUNNING or OLLAMA_NUM_PARALLEL": either may hold the bad value
            return " or ".join(choices) if choices else f"TWINBOT_{name.upper()}"
    return f"TWINBOT_{field.upper()}"


def load_settings(**overrides: Any) -> Settings:
    """Build the settings, turning pydantic's report into one line per bad variable."""
    try:
        settings = Settings(**overrides)
    except ValidationError as exc:
        problems = []
        for error in exc.errors():
            given = error.get("input")
            shown = "" if isinstance(given, dict) else f" (got {given!r})"
            problems.append(f"{_variable_name(error['loc'])}: {error['msg']}{shown}")
        raise ConfigError("; ".join(problems)) from None
    if settings.max_tokens > settings.max_tokens_limit:
        raise ConfigError(
            f"TWINBOT_MAX_TOKENS: must be at most TWINBOT_MAX_TOKENS_LIMIT "
            f"({settings.max_tokens_limit}) (got {settings.max_tokens})"
        )
    if settings.first_token_timeout > settings.total_timeout:
        raise ConfigError(
            "TWINBOT_FIRST_TOKEN_TIMEOUT: must not exceed TWINBOT_TOTAL_TIMEOUT "
            f"({settings.total_timeout}) (got {settings.first_token_timeout})"
        )
    return settings
