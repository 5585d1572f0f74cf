"""The fake Ollama scripted for the lens: each twin's alternatives for the first token of its
answer, as the seed article's random number shows them (the base spreads its mass over digits,
the instruct twin answers in words). Tokens a test needs disarmed are added to the base side."""

from __future__ import annotations

import math

from tests.conftest import SMALL_PAIR
from tests.fakes.ollama_fake import OllamaFake, Script

BASE, INSTRUCT = SMALL_PAIR
HOSTILE_SHARE = 0.05  # each hostile token's probability on the base side


def script_digits(fake: OllamaFake, *hostile: str) -> None:
    """Base: "7" 30%, "3" 20%, "\\n" 10%, then each of `hostile` at 5%. Instruct: "Sure" 90%,
    "7" 6%, ESC 1%."""
    ln = math.log
    base = [("7", ln(0.30)), ("3", ln(0.20)), ("\n", ln(0.10))]
    base += [(token, ln(HOSTILE_SHARE)) for token in hostile]
    instruct = [("Sure", ln(0.90)), ("7", ln(0.06)), ("\x1b", ln(0.01))]
    fake.script(BASE, Script(tokens=["7", " and"], alternatives=[base]))
    fake.script(INSTRUCT, Script(tokens=["Sure", "!"], alternatives=[instruct]))
