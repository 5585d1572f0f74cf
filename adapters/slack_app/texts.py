"""What twinbot's Slack messages say: the parent, each side's labelled parts, and notices.

Everything that came from a user or a model is escaped here (see mrkdwn.py); only our own
markup (`*bold*`, `_italic_`, code spans, quote markers, emoji codes) is left live.
"""

from __future__ import annotations

from adapters.slack_app.mrkdwn import clip, escape, split_escaped
from bot.chat_flow import options_summary
from bot.domain import CompareSnapshot, SideSnapshot, SideStatus
from bot.render import ROLE_BLURBS, ROLE_LABELS, stats_line

# Slack advises at most 4,000 characters for a readable message (`text` is cut at 40,000);
# a reply is a title line, up to BODY_LIMIT characters of output and a footer line.
MESSAGE_LIMIT = 3_900
BODY_LIMIT = 3_000
TITLE_LIMIT = 300
FOOTER_LIMIT = 500
PROMPT_LIMIT = 2_500
assert TITLE_LIMIT + 1 + BODY_LIMIT + 2 + FOOTER_LIMIT <= MESSAGE_LIMIT

_MARKS = {
    SideStatus.WAITING: ":hourglass_flowing_sand:",
    SideStatus.STREAMING: ":hourglass_flowing_sand:",
    SideStatus.DONE: ":white_check_mark:",
    SideStatus.FAILED: ":warning:",
    SideStatus.CANCELLED: ":octagonal_sign:",
}


def parent_text(snapshot: CompareSnapshot, asked_by: str) -> str:
    """The channel message that opens the thread: what was asked, with which settings."""
    request = snapshot.request
    prompt = clip(escape(request.prompt), PROMPT_LIMIT)
    quoted = "\n".join(f">{line}" for line in prompt.split("\n"))
    shortened = (
        f"\n_(prompt shortened here; {len(request.prompt):,} characters in all)_"
        if prompt != escape(request.prompt)
        else ""
    )
    who = f" · asked by {clip(escape(asked_by), 80)}" if asked_by else ""
    return (
        f"*twinbot #{snapshot.comparison_id}*: a base model and its instruct twin, same prompt\n"
        f"{escape(options_summary(request))}{who}\n"
        f"{quoted}{shortened}\n"
        "Both answers stream into this thread."
    )


def _title(side: SideSnapshot, part: int) -> str:
    title = f"*{ROLE_LABELS[side.role]}* · `{escape(side.model)}`"
    title += f" _{ROLE_BLURBS[side.role]}_" if part == 0 else f" · part {part + 1}"
    return clip(title, TITLE_LIMIT)


def footer(side: SideSnapshot) -> str:
    line = " ".join(stats_line(side).split())  # one line: errors may carry newlines
    return clip(f"{_MARKS[side.status]} {escape(line)}", FOOTER_LIMIT)


def side_messages(side: SideSnapshot) -> list[str]:
    """One side as thread replies: the escaped output cut at line or word boundaries into
    parts of at most BODY_LIMIT characters, each under a title; the footer ends the last."""
    body = escape(side.text)
    if not body:
        return [f"{_title(side, 0)}\n{footer(side)}"]
    pieces = split_escaped(body, BODY_LIMIT)
    last = len(pieces) - 1
    return [
        f"{_title(side, i)}\n{piece}" + (f"\n\n{footer(side)}" if i == last else "")
        for i, piece in enumerate(pieces)
    ]


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
