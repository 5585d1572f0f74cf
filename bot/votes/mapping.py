"""Reactions become preference votes by one documented mapping (see docs/votes.md).

The reaction log is the truth; a vote is derived from one user's reactions on one comparison.
The live path and a full recompute both call `derive_vote`, so they cannot disagree.
"""

from __future__ import annotations

import enum
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from bot.domain import Role


class Choice(enum.StrEnum):
    """Chatbot Arena's four outcomes."""

    BASE_BETTER = "base_better"
    INSTRUCT_BETTER = "instruct_better"
    TIE = "tie"
    BOTH_BAD = "both_bad"


class Signal(enum.StrEnum):
    """What a reaction means, whatever the platform calls its emoji."""

    A = "A"  # the side shown first is better
    B = "B"  # the side shown second is better
    TIE = "tie"
    DOWN = "down"  # on one side's message: the other is better; on both: both bad
    UP = "up"  # on one side's message: that side is better


# What a platform's reactions mean: each emoji as the platform names it (normalized, see
# `normalize_emoji`) mapped to a signal. The platforms' own vocabularies live with their
# adapters; the store is handed them, so the log can be replayed with a changed mapping.
Vocabulary = Mapping[str, Signal]


def vocabulary(entries: Mapping[str, Signal]) -> dict[str, Signal]:
    """`entries` with every emoji in its normalized spelling."""
    return {normalize_emoji(emoji): signal for emoji, signal in entries.items()}


_SKIN_TONES = {chr(code) for code in range(0x1F3FB, 0x1F400)}


def normalize_emoji(emoji: str) -> str:
    """One spelling per emoji: no variation selector, skin tone or Slack `::skin-tone-N` suffix."""
    name = emoji.split("::", 1)[0].strip(":")
    return "".join(
        ch for ch in unicodedata.normalize("NFC", name) if ch not in _SKIN_TONES and ch != "\ufe0f"
    )


def signal_of(emoji: str, words: Vocabulary) -> Signal | None:
    return words.get(normalize_emoji(emoji))


def other(role: Role) -> Role:
    return Role.INSTRUCT if role is Role.BASE else Role.BASE


def _better(role: Role) -> Choice:
    return Choice.BASE_BETTER if role is Role.BASE else Choice.INSTRUCT_BETTER


def choice_for(signal: Signal, on_role: Role | None, shown_first: Role) -> Choice | None:
    """The mapping. `on_role` is the side the reacted message shows (None: both sides)."""
    if signal is Signal.A:
        return _better(shown_first)
    if signal is Signal.B:
        return _better(other(shown_first))
    if signal is Signal.TIE:
        return Choice.TIE
    if signal is Signal.DOWN:
        return Choice.BOTH_BAD if on_role is None else _better(other(on_role))
    if signal is Signal.UP:
        return None if on_role is None else _better(on_role)
    return None


@dataclass(frozen=True, slots=True)
class ReactionEvent:
    id: int
    role: Role | None
    emoji: str
    added: bool
    by_bot: bool
    occurred_at: str  # ISO 8601 UTC, so string order is time order
    message: str = ""  # the reacted message (channel and id): each message has its own reactions


@dataclass(frozen=True, slots=True)
class DerivedVote:
    choice: Choice
    reaction: ReactionEvent


def derive_vote(
    events: Iterable[ReactionEvent], shown_first: Role, words: Vocabulary
) -> DerivedVote | None:
    """One user's vote on one comparison: the latest still-present reaction that means one.

    Events are replayed in time order (then log order), so arrival order does not matter;
    a duplicated add is a no-op, a remove retracts, and add-remove-add counts once. What is
    present is kept per message, as people see it: 🤝 on two messages, removed from one, is
    still on the other. 👎 on both sides' own messages is both bad; 👍 on both is a tie.
    """
    present: dict[tuple[str, str], ReactionEvent] = {}
    for event in sorted(events, key=lambda e: (e.occurred_at, e.id)):
        if event.by_bot:
            continue
        key = (event.message, normalize_emoji(event.emoji))
        if event.added:
            present.setdefault(key, event)
        else:
            present.pop(key, None)
    signals = {(e.role, signal_of(e.emoji, words)) for e in present.values()}
    # Insertion order is the order reactions were (re)added: the latest meaningful one wins.
    for event in reversed(list(present.values())):
        signal = signal_of(event.emoji, words)
        if signal is None:
            continue
        choice = choice_for(signal, event.role, shown_first)
        if choice is None:
            continue
        if event.role is not None and (other(event.role), signal) in signals:
            # The same judgement on both sides' own messages is about both of them.
            if signal is Signal.DOWN:
                choice = Choice.BOTH_BAD
            elif signal is Signal.UP:
                choice = Choice.TIE
        return DerivedVote(choice, event)
    return None
