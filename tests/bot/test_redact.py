"""The log redactor: secrets by value and by shape, in message, args, traceback and stack."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator

import pytest

from bot.ops.logs import configure_logging
from bot.ops.redact import MASK, Redactor, install_redaction, remove_redaction

SECRET = "s3cr3t-signing-value-0123456789"
DISCORD = "MTIzNDU2Nzg5MDEyMzQ1Njc4OQ.GaBcDe.abcdefghijklmnopqrstuvwxyz0123456789AB"


@pytest.fixture
def captured() -> Iterator[io.StringIO]:
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    logger = logging.getLogger("test.redact")
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    try:
        yield out
    finally:
        logger.removeHandler(handler)
        remove_redaction()


@pytest.mark.parametrize(
    ("line", "kept"),
    [
        ("POST /api/v10/interactions/123/aW50ZXJhY3Rpb246abc_-x/callback", "/interactions/123/"),
        (
            "PATCH /api/v10/webhooks/42/aW50ZXJhY3Rpb246abc/messages/@original",
            "/messages/@original",
        ),
        ("{'t': 'INTERACTION_CREATE', 'd': {'token': 'aW50ZXJhY3Rpb246abc'}}", "'token': '"),
        ('{"token": "aW50ZXJhY3Rpb246abc", "x": 1}', '"x": 1'),
        ("token=fakeverificationtoken&team_id=T1", "&team_id=T1"),
        ("auth with xoxb-1111-2222-abcdef and xapp-1-A0-3333-abc", "auth with"),
        (f"login {DISCORD} ok", "login"),
        ("Authorization: Bot abcdefghijklmnopqrstuvwxyz", "Authorization: Bot "),
        ("response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT0A%2F123%2FabcXYZ", "hooks"),
        ("posting to https://hooks.slack.com/commands/T0A/123/abcXYZ", "/commands/T0A/123/"),
    ],
)
def test_token_shapes_are_masked_and_context_kept(line: str, kept: str) -> None:
    shown = Redactor()(line)
    assert MASK in shown and kept in shown
    for secret in ("aW50ZXJhY3Rpb246abc", "fakeverificationtoken", "xoxb-", "xapp-", "abcXYZ"):
        assert secret not in shown
    assert DISCORD not in shown and "abcdefghijklmnopqrstuvwxyz" not in shown


def test_ordinary_text_is_left_alone() -> None:
    line = "comparison #3 done pair=llama3.2-1b base=done(13 chars) tokens=12 at 1.5 tok/s"
    assert Redactor([SECRET, "short"])(line) == line


def test_configured_secrets_are_masked_in_message_args_traceback_and_stack(
    captured: io.StringIO,
) -> None:
    install_redaction([SECRET, None, ""])
    log = logging.getLogger("test.redact")
    log.debug("signing with %s", SECRET)
    log.info("%(x)s", {"x": SECRET})
    try:
        raise ValueError(f"bad secret {SECRET}")
    except ValueError:
        log.exception("failed for %r", SECRET, stack_info=True)
    log.warning("a bad format %d", SECRET)  # logging's own error path still sees no secret
    out = captured.getvalue()
    assert SECRET not in out
    assert out.count(MASK) >= 5 and "ValueError: bad secret [redacted]" in out


def test_configure_logging_installs_it_for_handlers_added_later(captured: io.StringIO) -> None:
    root = logging.getLogger()
    saved = root.handlers[:], root.level
    try:
        configure_logging("DEBUG", [SECRET])
        logging.getLogger("test.redact").info("the secret is %s", SECRET)
    finally:
        root.handlers[:] = saved[0]
        root.setLevel(saved[1])
    assert captured.getvalue() == f"the secret is {MASK}\n"
