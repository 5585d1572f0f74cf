"""What the safety gate looks like on Discord: the line above a flagged side, and the prompt.

The core's `GatedView` decides what text may be shown; this module only words it:

- label: the text as written, under a content warning naming the guard's categories;
- spoiler: the concealed text inside `||...||` (every part of it), under a line saying why;
- withhold: a one-line notice instead of the text;
- unavailable (the guard is not pulled, or failed): spoiler and withhold fail closed, and the
  line says the check is unavailable and why; label shows the text and says it was unchecked.

The prompt is on the parent message, which is the acknowledgement and so goes out before the
guard has judged anything. In spoiler and withhold channels it goes out hidden (spoilered, or
not shown) and is shown plainly only once the guard clears it; flagged, it stays hidden with
the categories underneath. In label channels it is shown at once, and a flagged prompt gets a
content warning under it.
"""

from __future__ import annotations

from adapters.discord_bot.display import contain_bidi, disarm_links, spoiler
from bot.domain import SafetyMode, SafetyNote, SafetyStatus

BANNER_MAX = 300  # room kept above a gated side's text for its line
DETAIL_MAX = 180

MODE_HELP = {
    SafetyMode.OFF: "outputs are not checked",
    SafetyMode.LABEL: "everything is shown; flagged text gets a content warning",
    SafetyMode.SPOILER: "flagged text is hidden behind a spoiler you click to read",
    SafetyMode.WITHHOLD: "flagged text is replaced by a one-line notice",
}


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _unavailable(note: SafetyNote) -> str:
    detail = _clip(disarm_links(contain_bidi(" ".join(note.detail.split()))), DETAIL_MAX)
    detail = detail or "no answer"
    return f"the safety check is unavailable ({detail})"


def side_banner(note: SafetyNote | None) -> str | None:
    """The line above a side's text, or None when there is nothing to say."""
    if note is None or note.status in (SafetyStatus.PENDING, SafetyStatus.CLEAR):
        return None
    unsafe = note.status is SafetyStatus.UNSAFE
    flagged = f"the guard model flagged this output as {note.categories or 'unsafe'}"
    why = flagged if unsafe else _unavailable(note)
    if note.mode is SafetyMode.LABEL:
        line = f"⚠️ **Content warning**: {flagged}." if unsafe else f"⚠️ Shown unchecked: {why}."
    elif note.mode is SafetyMode.SPOILER:
        line = f"🙈 **Hidden**: {why}. Click the dark bar to read it."
    else:
        line = f"🚫 **Withheld**: {why}, so twinbot does not show this output."
    return _clip(line, BANNER_MAX - 1)


def waiting_placeholder(gated: bool) -> str:
    if gated:
        return "*waiting for text the safety check has cleared…*"
    return "*waiting for the first token…*"


def _prompt_verdict(note: SafetyNote | None) -> str:
    """Why the prompt is hidden or flagged, in words."""
    if note is None or note.status is SafetyStatus.PENDING:
        return "hidden until the safety check clears it"
    if note.status is SafetyStatus.UNSAFE:
        return f"the guard model flagged this prompt as {note.categories or 'unsafe'}"
    return _unavailable(note)


def prompt_display(
    prompt: str, mode: SafetyMode, note: SafetyNote | None, limit: int
) -> tuple[str, str | None]:
    """The prompt embed's description and footer for a channel in `mode`, given the prompt's
    verdict so far (None or pending: not judged yet)."""
    shown = _clip(disarm_links(contain_bidi(prompt)), limit)
    status = note.status if note is not None else SafetyStatus.PENDING
    plain = mode is SafetyMode.OFF or status is SafetyStatus.CLEAR
    if plain or (mode is SafetyMode.LABEL and status is SafetyStatus.PENDING):
        return shown, None
    why = _prompt_verdict(note)
    if mode is SafetyMode.LABEL:
        flagged = status is SafetyStatus.UNSAFE
        return shown, f"⚠️ Content warning: {why}." if flagged else f"⚠️ Shown unchecked: {why}."
    if mode is SafetyMode.WITHHOLD:
        return f"🚫 *The prompt is not shown: {why}.*", None
    # Escaped pipes can double a spoiler's length: keep it within the limit.
    hidden = _clip(disarm_links(contain_bidi(prompt)), (limit - 8) // 2)
    return spoiler(hidden), f"🙈 {why[0].upper()}{why[1:]}."
