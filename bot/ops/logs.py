"""Logging, configured once at start-up."""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterable

from pydantic import SecretStr

from bot.config import Settings
from bot.ops.redact import install_redaction

# Libraries that narrate every HTTP call at INFO: the operator wants our lines, not theirs.
_CHATTY = (
    "httpx",
    "httpcore",
    "discord.http",
    "discord.gateway",
    "slack_bolt",
    "slack_sdk",
    "aiosqlite",
)


def configure_logging(level: str, secrets: Iterable[str | None] = ()) -> None:
    install_redaction(secrets)
    logging.basicConfig(
        level=level,
        stream=sys.stderr,
        format="%(asctime)s %(levelname)-7s %(name)s: %(message)s",
        force=True,
    )
    for name in _CHATTY:
        logging.getLogger(name).setLevel(max(logging.WARNING, logging.getLogger().level))


def secrets_of(settings: Settings) -> list[str]:
    """Every secret in the settings (each `SecretStr` field), for the log redactor."""
    values = (getattr(settings, name) for name in type(settings).model_fields)
    return [value.get_secret_value() for value in values if isinstance(value, SecretStr)]
