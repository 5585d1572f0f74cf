"""How the safety gate's verdicts read on Slack, and the spoiler button.

Slack has no spoiler markup, so in `spoiler` mode a concealed side becomes a notice with a
button; clicking it sends the text to the clicker alone (see spoilers.py). The button's value
names the comparison and the side, never the text. In `withhold` mode there is no button.
"""

from __future__ import annotations

from typing import Any

from adapters.slack_app.mrkdwn import clip, escape
from bot.domain import Role, SafetyMode, SafetyNote, SafetyStatus

NOTE_LIMIT = 250  # one safety line in a reply
_DETAIL_LIMIT = 160  # why the guard was unavailable, inside that line
REVEAL_ACTION = "twinbot_reveal"
REVEAL_LABEL = "Show this output (only to you)"
_HIDING = (SafetyMode.SPOILER, SafetyMode.WITHHOLD)

MODE_MEANINGS = {
    SafetyMode.OFF: "outputs are shown as written, without a check",
    SafetyMode.LABEL: "outputs the guard model flags are shown with a content warning",
    SafetyMode.SPOILER: (
        "outputs the guard model flags are hidden behind a button that shows them only to "
        "whoever clicks it"
    ),
    SafetyMode.WITHHOLD: "outputs the guard model flags are replaced by a one-line notice",
}


def _why(note: SafetyNote, what: str) -> str:
    if note.status is SafetyStatus.UNSAFE:
        return f"the guard model flagged {what} ({escape(note.categories or 'unspecified')})"
    detail = clip(escape(" ".join(note.detail.split()) or "no answer"), _DETAIL_LIMIT)
    return f"the guard model is not available ({detail}), so {what} could not be checked"


def warning_line(note: SafetyNote | None) -> str | None:
    """Label mode: the line shown above a flagged (or unchecked) output."""
    if note is None or note.mode is not SafetyMode.LABEL:
        return None
    if note.status is SafetyStatus.UNSAFE:
        return clip(f":warning: *Content warning:* {_why(note, 'this output')}.", NOTE_LIMIT)
    if note.status is SafetyStatus.UNAVAILABLE:
        return clip(f":grey_question: *Not checked:* {_why(note, 'this output')}.", NOTE_LIMIT)
    return None


def checking_line(note: SafetyNote | None, finished: bool) -> str | None:
    """Spoiler and withhold modes show only text already judged: say why it lags."""
    if note is None or note.mode not in _HIDING or finished:
        return None
    if note.status is not SafetyStatus.PENDING:
        return None
    return "_checking this output before showing it…_"


def concealed_notice(note: SafetyNote, finished: bool) -> str:
    """What a concealed side shows instead of its text."""
    why = _why(note, "this output")
    if note.mode is SafetyMode.WITHHOLD:
        text = f":no_entry_sign: *Output withheld:* {why}. This channel does not show it."
    elif finished:
        text = f":see_no_evil: *Output hidden:* {why}. The button shows it to you alone."
    else:
        text = (
            f":see_no_evil: *Output hidden:* {why}. A button to see it (only you) comes "
            "when the model finishes."
        )
    return clip(text, NOTE_LIMIT)


def prompt_hidden(note: SafetyNote | None) -> str | None:
    """In spoiler and withhold modes a flagged prompt is taken out of the parent message."""
    if note is None or note.mode not in _HIDING or note.status is not SafetyStatus.UNSAFE:
        return None
    return clip(f">_(prompt hidden: {_why(note, 'it')})_", NOTE_LIMIT)


def prompt_note(note: SafetyNote | None) -> str | None:
    if note is None or note.mode is not SafetyMode.LABEL or note.status is not SafetyStatus.UNSAFE:
        return None
    return clip(f":warning: *Content warning:* {_why(note, 'this prompt')}.", NOTE_LIMIT)


def reveal_value(comparison_id: int, role: Role) -> str:
    return f"{comparison_id}:{role.value}"


def parse_reveal_value(value: str) -> tuple[int, Role] | None:
    number, _, role = value.partition(":")
    if not number.isdigit() or role not in {r.value for r in Role}:
        return None
    return int(number), Role(role)


def reveal_blocks(text: str, note: SafetyNote, value: str) -> list[dict[str, Any]] | None:
    """The notice as a section and the reveal button; None unless the mode is spoiler."""
    if note.mode is not SafetyMode.SPOILER:
        return None
    button = {
        "type": "button",
        "action_id": REVEAL_ACTION,
        "text": {"type": "plain_text", "text": REVEAL_LABEL},
        "value": value,
    }
    return [
        {"type": "section", "text": {"type": "mrkdwn", "text": text}},
        {"type": "actions", "elements": [button]},
    ]
