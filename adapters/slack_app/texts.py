"""What a comparison's Slack messages say: the parent, and each side's labelled parts.

Everything that came from a user or a model is escaped here (see mrkdwn.py); only our own
markup (`*bold*`, `_italic_`, code spans, quote markers, emoji codes) is left live. What the
safety gate changes (warnings, hidden sides) is worded in safety_texts.py.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from adapters.slack_app.mrkdwn import clip, escape, split_escaped
from adapters.slack_app.safety_texts import (
    NOTE_LIMIT,
    checking_line,
    concealed_notice,
    prompt_hidden,
    prompt_note,
    reveal_blocks,
    warning_line,
)
from adapters.slack_app.vote_texts import vote_line
from bot.domain import CompareRequest, CompareSnapshot, Role, SideSnapshot, SideStatus
from bot.text.render import (
    ROLE_BLURBS,
    ROLE_LABELS,
    framed_preview,
    options_summary,
    stats_line,
)
from bot.votes.mapping import other

# Slack advises at most 4,000 characters for a readable message (`text` is cut at 40,000);
# a reply is a title line, a safety line, up to BODY_LIMIT characters of output and a footer.
MESSAGE_LIMIT = 3_900
BODY_LIMIT = 3_000
TITLE_LIMIT = 200
FOOTER_LIMIT = 440
PROMPT_LIMIT = 2_500
INTRO_LIMIT = 500
assert TITLE_LIMIT + 1 + NOTE_LIMIT + 1 + BODY_LIMIT + 2 + FOOTER_LIMIT <= MESSAGE_LIMIT

_MARKS = {
    SideStatus.WAITING: ":hourglass_flowing_sand:",
    SideStatus.STREAMING: ":hourglass_flowing_sand:",
    SideStatus.DONE: ":white_check_mark:",
    SideStatus.FAILED: ":warning:",
    SideStatus.CANCELLED: ":octagonal_sign:",
}

Blocks = list[dict[str, Any]]


@dataclass(frozen=True, slots=True)
class Reply:
    """One thread message: its text (the fallback, when there are blocks) and blocks."""

    text: str
    blocks: Blocks | None = None


def shown_order(request: CompareRequest) -> tuple[Role, Role]:
    """The sides in the order they are shown: A first. Outside blind mode A is the base."""
    first = request.shown_first if request.blind else Role.BASE
    return first, other(first)


def letter(request: CompareRequest, role: Role) -> str | None:
    """A side's blind label, or None when the names are shown."""
    if not request.blind:
        return None
    return "A" if role is shown_order(request)[0] else "B"


def parent_text(snapshot: CompareSnapshot, asked_by: str, intro: str | None = None) -> str:
    """The channel message that opens the thread: what was asked, with which settings."""
    request = snapshot.request
    prompt = clip(escape(request.prompt), PROMPT_LIMIT)
    quoted = "\n".join(f">{line}" for line in prompt.split("\n"))
    shortened = (
        f"\n_(prompt shortened here; {len(request.prompt):,} characters in all)_"
        if prompt != escape(request.prompt)
        else ""
    )
    if request.framed_prompt != request.prompt:  # what the base model saw, on one line
        shortened += f"\n_base sees:_ {escape(framed_preview(request))}"
    hidden = prompt_hidden(snapshot.prompt_safety)
    if hidden is not None:
        quoted, shortened = hidden, ""
    who = f" · asked by {clip(escape(asked_by), 80)}" if asked_by else ""
    number = snapshot.comparison_id
    lines = [f"*twinbot #{number}*: a base model and its instruct twin, same prompt"]
    if intro:
        lines.append(clip(intro, INTRO_LIMIT))
    lines += [f"{escape(options_summary(request))}{who}", f"{quoted}{shortened}"]
    for extra in (prompt_note(snapshot.prompt_safety), notice_line(snapshot.notice)):
        if extra:
            lines.append(extra)
    lines += ["Both answers stream into this thread.", vote_line(request)]
    return "\n".join(lines)


def notice_line(notice: str | None) -> str | None:
    return clip(f":warning: {escape(notice)}", NOTE_LIMIT) if notice else None


def _title(side: SideSnapshot, part: int, blind_letter: str | None) -> str:
    if blind_letter is not None:
        title = f"*{blind_letter}*"
        title += " _names revealed after the first vote_" if part == 0 else f" · part {part + 1}"
        return title
    title = f"*{ROLE_LABELS[side.role]}* · `{escape(side.model)}`"
    title += f" _{ROLE_BLURBS[side.role]}_" if part == 0 else f" · part {part + 1}"
    return clip(title, TITLE_LIMIT)


def footer(side: SideSnapshot) -> str:
    line = " ".join(stats_line(side).split())  # one line: errors may carry newlines
    return clip(f"{_MARKS[side.status]} {escape(line)}", FOOTER_LIMIT)


def side_replies(
    side: SideSnapshot, *, blind_letter: str | None = None, reveal_value: str | None = None
) -> list[Reply]:
    """One side as thread replies: the escaped output cut at line or word boundaries into
    parts of at most BODY_LIMIT characters, each under a title; the footer ends the last.

    A side the safety gate conceals is one reply with a notice instead of its text (never the
    text itself); once finished in spoiler mode it carries a button whose value is
    `reveal_value` (which comparison and side, never the text)."""
    title = _title(side, 0, blind_letter)
    note = side.safety
    if note is not None and note.concealed:
        text = f"{title}\n{concealed_notice(note, side.finished)}\n{footer(side)}"
        if side.finished and reveal_value is not None:
            blocks = reveal_blocks(text, note, reveal_value)
            if blocks is not None:
                return [Reply(text, blocks)]
        return [Reply(text)]
    extra = warning_line(note) or checking_line(note, side.finished)
    head = f"{title}\n{extra}" if extra else title
    body = escape(side.text)
    if not body:
        return [Reply(f"{head}\n{footer(side)}")]
    pieces = split_escaped(body, BODY_LIMIT)
    last = len(pieces) - 1
    return [
        Reply(
            f"{head if i == 0 else _title(side, i, blind_letter)}\n{piece}"
            + (f"\n\n{footer(side)}" if i == last else "")
        )
        for i, piece in enumerate(pieces)
    ]


def side_messages(side: SideSnapshot) -> list[str]:
    """The texts of `side_replies` for a side shown by name."""
    return [reply.text for reply in side_replies(side)]


def hidden_part_text(side: SideSnapshot, part: int, blind_letter: str | None) -> str:
    """What a further part of a side shows once the side is concealed."""
    return f"{_title(side, part, blind_letter)}\n_(hidden with the first part)_"


def invite_message(bot_name: str, channel_id: str) -> str:
    if channel_id.startswith("D"):
        return (
            "I can only run comparisons in channels I am a member of: invite me to one "
            f"(`/invite @{bot_name}`) and use `/compare` there."
        )
    return (
        "I am not a member of this channel, so I cannot post the comparison here. "
        f"Invite me with `/invite @{bot_name}`, then run `/compare` again."
    )


def slack_refused_message(error: str) -> str:
    return f"Slack refused to post the comparison (`{error}`); nothing ran. Try again later."


INTERNAL_ERROR = "twinbot hit an internal error; the operator log has the details."
