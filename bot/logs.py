"""Logging, configured once at start-up."""

from __future__ import annotations

import logging
import sys

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


def configure_logging(level: str) -> None:
    logging.basicConfig(
        level=level,
        stream=sys.stderr,
        format="%(asctime)s %(levelname)-7s %(name)s: %(message)s",
        force=True,
    )
    for name in _CHATTY:
        logging.getLogger(name).setLevel(max(logging.WARNING, logging.getLogger().level))
