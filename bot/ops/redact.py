"""No secret in any log line, at any level, on any handler.

discord.py at DEBUG writes every gateway event (an INTERACTION_CREATE carries the interaction
token) and every webhook URL (`/webhooks/{app_id}/{token}`); an exception text can quote a URL or
a header. Rather than trust each library, every log record is redacted once, when it is made:
a log record factory (not a handler filter) also covers handlers that a library or a test adds
after start-up, and `caplog`.

Two nets: the configured secrets by value, and the shapes secrets have (interaction and webhook
tokens in URLs, `token` fields, Slack `xox*-`/`xapp-` tokens, Discord bot tokens, `Bot`/`Bearer`
headers, Slack `response_url` paths).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterable
from typing import Any

MASK = "[redacted]"
# Shorter strings would redact ordinary words; every real secret is far longer.
_MIN_SECRET = 8

# (pattern, replacement): each keeps what tells the operator where it was, drops the secret.
_SHAPES: tuple[tuple[re.Pattern[str], str], ...] = (
    # Discord: /webhooks/{application_id}/{interaction_token}, /interactions/{id}/{token}/callback
    (re.compile(r"(/(?:webhooks|interactions)/\d+/)[^/\s?#'\"]+"), rf"\1{MASK}"),
    # a "token" field in a dict repr, JSON, or a form body (a gateway event, Slack's legacy token)
    (re.compile(r"""(['"]token['"]\s*:\s*['"])[^'"]+"""), rf"\1{MASK}"),
    (re.compile(r"(\btoken=)[^&\s'\"]+"), rf"\1{MASK}"),
    # Slack bot/user/app tokens and Discord bot tokens by their shape
    (re.compile(r"\bx(?:ox[a-z]|app)-[A-Za-z0-9-]+"), MASK),
    (re.compile(r"\b[A-Za-z0-9_-]{23,28}\.[A-Za-z0-9_-]{6,7}\.[A-Za-z0-9_-]{27,}"), MASK),
    (re.compile(r"(\b(?:Bot|Bearer)\s+)[A-Za-z0-9._~+/=-]{16,}"), rf"\1{MASK}"),
    # a Slack response_url (hooks.slack.com/commands/{team}/{id}/{secret}, also URL-encoded in
    # a form body) lets anyone post into the channel for 30 minutes
    (
        re.compile(r"((?:/|%2F)(?:commands|actions)(?:/|%2F)T\w+(?:/|%2F)\d+(?:/|%2F))\w+"),
        rf"\1{MASK}",
    ),
)


class Redactor:
    """Removes the given secrets (by value) and anything shaped like a token from text."""

    def __init__(self, secrets: Iterable[str | None] = ()) -> None:
        values = {s for s in secrets if s and len(s) >= _MIN_SECRET}
        # Longest first, so a secret that contains another is removed whole.
        self._values = sorted(values, key=len, reverse=True)

    def __call__(self, text: str) -> str:
        for value in self._values:
            text = text.replace(value, MASK)
        for pattern, replacement in _SHAPES:
            text = pattern.sub(replacement, text)
        return text

    def record(self, record: logging.LogRecord) -> None:
        """Redacts a record in place: message and args become one finished message."""
        try:
            message = record.getMessage()
        except Exception:  # a bad format string: logging reports it later, without args
            message = f"{record.msg} {record.args!r}"
        record.msg = self(message)
        record.args = None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self(record.exc_text)
        if record.stack_info:
            record.stack_info = self(record.stack_info)


class _Installed:
    redactor: Redactor | None = None
    previous: Callable[..., logging.LogRecord] | None = None


def install_redaction(secrets: Iterable[str | None]) -> Redactor:
    """Redacts every log record made from now on. Calling it again replaces the secrets."""
    redactor = Redactor(secrets)
    if _Installed.redactor is None:
        previous = logging.getLogRecordFactory()
        _Installed.previous = previous

        def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
            record = previous(*args, **kwargs)
            if _Installed.redactor is not None:
                _Installed.redactor.record(record)
            return record

        logging.setLogRecordFactory(factory)
    _Installed.redactor = redactor
    return redactor


def remove_redaction() -> None:
    """Back to the record factory from before `install_redaction` (for tests)."""
    if _Installed.previous is not None:
        logging.setLogRecordFactory(_Installed.previous)
    _Installed.redactor = _Installed.previous = None
