"""Slack's text format: escaping what twinbot sends, reading what a user typed, splitting.

Slack gives `<` `>` `&` their meaning (`<!channel>`, `<@U123>`, `<https://x|label>`), so text
from a model or a user is escaped before it is sent: with no `<` left, no mention or link
written by a model can be live. See https://api.slack.com/reference/surfaces/formatting.
"""

from __future__ import annotations

import re

from bot.text.render import split_text

_ENTITY_MAX = len("&amp;")
_SPECIAL = re.compile(r"<([^<>]*)>")


def escape(text: str) -> str:
    """Make `text` show as written: every `&`, `<` and `>` becomes an entity."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def unescape(text: str) -> str:
    """The inverse of `escape` (`&amp;` last, so `&amp;lt;` stays `&lt;`)."""
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def _plain(match: re.Match[str]) -> str:
    target, _, label = match.group(1).partition("|")
    if target[:1] in ("@", "#"):  # <@U123|ann> -> @ann, <#C123|general> -> #general
        return target[0] + (label or target[1:])
    if target.startswith("!"):
        command, _, argument = target[1:].partition("^")
        if command in ("here", "channel", "everyone", "group"):
            return f"@{command}"
        if command == "subteam":  # <!subteam^S1|@devs> -> @devs
            name = label or argument
            return name if name.startswith("@") else f"@{name}"
        return label or command  # <!date^…|Feb 18> -> its fallback text
    return label or target  # a link: what the user saw


def command_text(text: str) -> str:
    """What the user typed, from the form Slack sends a slash command's text in: mentions and
    links back to their visible text, then `&amp;` `&lt;` `&gt;` decoded."""
    return unescape(_SPECIAL.sub(_plain, text))


def clip(text: str, limit: int) -> str:
    """At most `limit` characters of escaped `text`, never cutting an entity in half."""
    if len(text) <= limit:
        return text
    cut = _entity_safe(text, limit - 1)
    return text[:cut] + "…"


def _entity_safe(text: str, cut: int) -> int:
    """Move a cut point back to before an entity it would split (`&am|p;`)."""
    amp = text.rfind("&", max(0, cut - _ENTITY_MAX + 1), cut)
    if amp != -1 and ";" not in text[amp:cut]:
        return amp
    return cut


def split_escaped(text: str, limit: int) -> list[str]:
    """`bot.text.render.split_text` for escaped text: a hard cut never lands inside an `&amp;`,
    `&lt;` or `&gt;`."""
    if limit < _ENTITY_MAX:
        raise ValueError(f"limit must be at least {_ENTITY_MAX}")
    return split_text(text, limit, safe_cut=_entity_safe)
