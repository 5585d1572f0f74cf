"""How votes read on Slack: the choices under a comparison, and the blind reveal."""

from __future__ import annotations

from adapters.slack_app.mrkdwn import escape
from adapters.slack_app.votes import SEEDED
from bot.chat.surface import Reveal
from bot.domain import CompareRequest
from bot.text.render import ROLE_LABELS
from bot.votes.mapping import Signal

_EMOJI = {signal: f":{name}:" for signal, name in SEEDED}


def vote_line(request: CompareRequest) -> str:
    """What each seeded reaction on the parent message means (see docs/votes.md)."""
    first, second = ("A", "B") if request.blind else ("base", "instruct")
    choices = (
        f"{_EMOJI[Signal.A]} {first} better · {_EMOJI[Signal.B]} {second} better · "
        f"{_EMOJI[Signal.TIE]} tie · {_EMOJI[Signal.DOWN]} both bad"
    )
    if request.blind:
        return (
            "*Blind:* the outputs are shown as A and B in random order. Vote with a reaction "
            f"on this message: {choices}. The names are revealed after the first vote."
        )
    return f"Vote with a reaction on this message: {choices}."


def reveal_text(reveal: Reveal) -> str:
    named = [
        f"{letter} was *{ROLE_LABELS[role]}* `{escape(tag)}`"
        for letter, (role, tag) in zip("AB", reveal.in_shown_order(), strict=True)
    ]
    return f":unlock: Names revealed ({reveal.why}): {'; '.join(named)}."
