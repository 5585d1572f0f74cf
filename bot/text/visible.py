"""Control characters in text from a model (or a model server) shown, never obeyed.

A terminal obeys what it is sent: ESC starts a sequence that can set the window title, clear
the screen or write the clipboard (OSC 52); CR and BS overwrite what was shown; C1 codes such
as U+009B (CSI) act like ESC [ on some terminals. rich drops a handful of them (BEL, BS, VT,
FF, CR) without a trace and passes ESC through.

The form chosen: each control character becomes its Python-style escape, `\\x1b`, `\\r`
included, so the text that follows (`[2J`, `]0;title`) stays readable beside it and nothing
is dropped. Newline and tab are layout and stay. The terminal styles the escapes so that they
stand out from a model that writes the four characters `\\x1b` itself; plain-text outputs
carry them as they are.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

# C0 without tab (0x09) and newline (0x0a), DEL, and C1.
CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def escape_control(char: str) -> str:
    return f"\\x{ord(char):02x}"


def show_controls(text: str) -> str:
    """`text` with each control character written as its visible escape."""
    return CONTROL.sub(lambda match: escape_control(match.group()), text)


def control_pieces(text: str) -> Iterator[tuple[str, bool]]:
    """`text` cut into (piece, is_escape) in order, each control already escaped, for a
    renderer that styles the escapes."""
    at = 0
    for match in CONTROL.finditer(text):
        if match.start() > at:
            yield text[at : match.start()], False
        yield escape_control(match.group()), True
        at = match.end()
    if at < len(text):
        yield text[at:], False


def show_token(token: str) -> str:
    """One model token, quoted, every control visible: in a token newline and tab are not
    layout but the very thing the model chose, so they are escaped too."""
    text = show_controls(token).replace("\n", "\\n").replace("\t", "\\t")
    return f'"{text}"'
