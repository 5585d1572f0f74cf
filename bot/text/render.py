"""Platform-neutral text for a comparison: labels, stat footers, and splitting long output."""

from __future__ import annotations

import re
from collections.abc import Callable

from bot.domain import CompareRequest, Role, SideSnapshot, SideStatus

ROLE_LABELS = {Role.BASE: "Base", Role.INSTRUCT: "Instruct"}
ROLE_BLURBS = {
    Role.BASE: "pre-trained only: it continues text",
    Role.INSTRUCT: "post-trained: it answers",
}
_FENCE = re.compile(r"^[ \t]*(```+|~~~+)(.*)$", re.MULTILINE)


def redact(text: str, request: CompareRequest) -> str:
    """Blind comparisons name no model before the reveal, not even in an error message."""
    if not request.blind:
        return text
    for tag in (request.pair.base, request.pair.instruct):
        text = text.replace(tag, "(hidden)")
    return text


_SHOWN_NEWLINE = "\\n"  # a newline, shown as the two characters backslash and n
PREVIEW_LIMIT = 160
_MIN_PREVIEW = 40


def _shown_length(text: str) -> int:
    return len(text) + text.count("\n") * (len(_SHOWN_NEWLINE) - 1)


def _fit(text: str, budget: int, *, from_end: bool) -> str:
    """As much of `text` (from its start, or its end) as shows within `budget` characters."""
    taken, used = 0, 0
    chars = reversed(text) if from_end else iter(text)
    for char in chars:
        cost = len(_SHOWN_NEWLINE) if char == "\n" else 1
        if used + cost > budget:
            break
        taken, used = taken + 1, used + cost
    return text[len(text) - taken :] if from_end else text[:taken]


def framed_preview(request: CompareRequest, limit: int = PREVIEW_LIMIT) -> str:
    r"""What the base model saw, compactly on one line: newlines shown as `\n`, and a long text
    cut in the middle. The end always shows, since the base model continues from it (with the
    `qa` framing: `Q: What is tea?\nA:`). Callers may leave it out when the framing passes the
    prompt as typed (`request.framed_prompt == request.prompt`)."""
    if limit < _MIN_PREVIEW:
        raise ValueError(f"limit must be at least {_MIN_PREVIEW}")
    text = request.framed_prompt.replace("\r\n", "\n").replace("\r", "\n")
    if _shown_length(text) > limit:
        marker = f" …({len(text)} characters in all)… "
        room = limit - len(marker)
        head = _fit(text, room * 2 // 5, from_end=False)
        tail = _fit(text[len(head) :], room - _shown_length(head), from_end=True)
        text = f"{head}{marker}{tail}"
    return text.replace("\n", _SHOWN_NEWLINE)


def side_title(side: SideSnapshot) -> str:
    return f"{ROLE_LABELS[side.role]} · {side.model}"


def counted(count: int, noun: str) -> str:
    """`1 token`, `2 tokens`."""
    return f"{count} {noun}{'' if count == 1 else 's'}"


def stats_line(side: SideSnapshot) -> str:
    """The footer: tokens, speed, time to first token and why it stopped, from Ollama's figures."""
    if side.status is SideStatus.FAILED:
        return f"failed: {side.error}"
    if side.status is SideStatus.CANCELLED:
        return "stopped before the model finished"
    if side.status is not SideStatus.DONE:
        return "writing…" if side.text else "waiting for the first token…"
    stats = side.stats
    # A side that ended without a word says so, not the same "…" as one still waiting.
    parts = [] if side.text else ["no text"]
    if stats.eval_count is not None:
        parts.append(counted(stats.eval_count, "token"))
    if stats.tokens_per_s is not None:
        parts.append(f"{stats.tokens_per_s:.1f} tok/s")
    if stats.first_token_s is not None:
        parts.append(f"first token {stats.first_token_s:.2f} s")
    if stats.done_reason:
        reason = {
            "length": "hit the token limit",
            "stop": "stopped",
            "load": "only loaded the model",
        }.get(stats.done_reason, stats.done_reason)
        parts.append(reason)
    if stats.unshown_chars:
        n = stats.unshown_chars
        parts.append(f"{n} character{'s' if n > 1 else ''} could not be shown (�)")
    return " · ".join(parts) or "done"


def split_text(
    text: str, limit: int, safe_cut: Callable[[str, int], int] | None = None
) -> list[str]:
    """Cut `text` into pieces of at most `limit` characters whose concatenation is `text`.

    Cuts after the last newline in the window, else after the last space, else hard; a hard
    cut at index `i` moves back to `safe_cut(text, i)` when given (e.g. not inside `&amp;`).
    """
    if limit < 1:
        raise ValueError("limit must be at least 1")
    pieces: list[str] = []
    start = 0
    while len(text) - start > limit:
        window = text[start : start + limit]
        cut = window.rfind("\n") + 1
        if cut <= limit // 4:
            # A newline near the start would leave a tiny piece: prefer a word boundary.
            cut = max(cut, max(window.rfind(" "), window.rfind("\t")) + 1)
        if cut <= 0:
            hard = start + limit
            cut = (safe_cut(text, hard) if safe_cut else hard) - start
            if cut <= 0:
                raise ValueError("safe_cut must leave at least one character in a piece")
        pieces.append(text[start : start + cut])
        start += cut
    pieces.append(text[start:])
    return pieces


FENCE_RESERVE = 32  # room for a reopened fence line at the start and a closing one at the end


def open_fence_after(text: str, fence: str | None = None) -> str | None:
    """The opening fence line still open at the end of `text`, given the one open at its start."""
    for match in _FENCE.finditer(text):
        marker = match.group(1)
        if fence is None:
            # Keep the language tag (short) so the reopened block highlights the same way.
            fence = marker[:8] + match.group(2).strip()[:12]
        elif marker.startswith(fence[:3]) and not match.group(2).strip():
            fence = None
    return fence


def _marker(fence: str) -> str:
    return fence[: len(fence) - len(fence.lstrip(fence[0]))]


def split_markdown(text: str, limit: int) -> list[str]:
    """Split like `split_text`, then close a code block cut by a split and reopen it after.

    Each piece stays within `limit`; stripping the added fence lines gives back `text`.
    """
    if limit <= FENCE_RESERVE:
        raise ValueError(f"limit must be more than {FENCE_RESERVE}")
    room = limit - FENCE_RESERVE
    pieces = split_text(text, room) if len(text) > room else [text]
    out: list[str] = []
    fence: str | None = None
    for piece in pieces:
        prefix = f"{fence}\n" if fence else ""
        fence = open_fence_after(piece, fence)
        suffix = f"\n{_marker(fence)}" if fence else ""
        out.append(prefix + piece + suffix)
    return out


def option_parts(request: CompareRequest, name: Callable[[str], str] = str) -> list[str]:
    """What shaped both outputs, a part each; `name` marks up the pair's and framing's names."""
    options = request.options
    parts = [
        f"pair {name(request.pair.name)}",
        f"framing {name(request.framing.name)}",
        f"max tokens {options.max_tokens}",
        f"temperature {options.temperature:g}",
    ]
    if options.seed is not None:
        parts.append(f"seed {options.seed}")
    return parts


def options_summary(request: CompareRequest) -> str:
    """One line naming everything that shaped both outputs (plain text, no markup)."""
    return " · ".join(option_parts(request))
