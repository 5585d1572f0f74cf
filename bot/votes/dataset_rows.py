"""Voted comparisons as TRL rows, in two views of the same texts.

- `chat`: TRL's conversational format, what the instruct model saw. The prompt is the one user
  message the instruct model got (`[{"role": "user", ...}]`), each text an assistant message; a
  trainer applies the chat template of the model it trains.
- `framed`: TRL's standard format, what the base model saw. The prompt is the framed prompt,
  the exact text the base model continued (`Q: ...\\nA:`), the texts plain strings appended to
  it, no chat template.

Each row carries what a researcher filters on, and `flags` naming what makes it doubtful as
training data (see FLAGS). A side whose text the safety gate withheld is never written unless
asked for (`include_withheld`).
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from bot.domain import Role
from bot.votes.dataset_source import Side, Voted
from bot.votes.mapping import Choice


class View(enum.StrEnum):
    CHAT = "chat"
    FRAMED = "framed"


class Flag(enum.StrEnum):
    DUPLICATE = "duplicate"  # the same training fields as an earlier row of this config
    EMPTY = "empty"  # a text of the row is empty or only whitespace
    TRUNCATED = "truncated"  # a side of the row stopped at the token limit (done_reason length)
    IDENTICAL = "identical"  # both models wrote the same text
    WITHHELD = "withheld"  # the safety gate showed a side of it to no one


FLAGS = tuple(Flag)
_CHOICES = tuple(Choice)


@dataclass(frozen=True, slots=True)
class Rows:
    rows: list[dict[str, Any]]
    withheld_left_out: int  # rows not written because they hold withheld text


def _other(role: Role) -> Role:
    return Role.INSTRUCT if role is Role.BASE else Role.BASE


def _prompt(item: Voted, view: View) -> Any:
    if view is View.CHAT:
        return [{"role": "user", "content": item.prompt}]
    return item.framed_prompt


def _text(text: str, view: View) -> Any:
    return [{"role": "assistant", "content": text}] if view is View.CHAT else text


def _blank(side: Side) -> bool:
    return not side.text.strip()


def _identical(item: Voted) -> bool:
    return item.sides[Role.BASE].text.strip() == item.sides[Role.INSTRUCT].text.strip()


def metadata(item: Voted) -> dict[str, Any]:
    counts = item.counts
    fields: dict[str, Any] = {
        "comparison_id": item.comparison_id,
        "created_at": item.created_at,
        "platform": item.platform,
        "pair": item.pair,
        "base_model": item.sides[Role.BASE].model,
        "instruct_model": item.sides[Role.INSTRUCT].model,
        "framing": item.framing,
        "user_prompt": item.prompt,
        "framed_prompt": item.framed_prompt,
        "stop": list(item.stop),
        "options": item.options,
        "blind": item.blind,
        "shown_first": item.shown_first.value,
    }
    for role in Role:
        side = item.sides[role]
        fields[f"{role}_done_reason"] = side.done_reason
        fields[f"{role}_tokens"] = side.tokens
        fields[f"{role}_prompt_tokens"] = side.prompt_tokens
        fields[f"{role}_safety"] = side.safety
    fields["votes"] = [
        {
            "choice": ballot.choice.value,
            "blind": ballot.blind,
            "voted_at": ballot.voted_at,
            "by_requester": ballot.by_requester,
        }
        for ballot in item.ballots
    ]
    fields["vote_counts"] = {choice.value: counts[choice] for choice in _CHOICES}
    fields["requester_voted"] = any(ballot.by_requester for ballot in item.ballots)
    fields["lens"] = [{"kind": kind, "payload": payload} for kind, payload in item.lens]
    return fields


def _flags(sides: Iterable[Side], item: Voted) -> list[str]:
    shown = list(sides)
    flags = []
    if any(_blank(side) for side in shown):
        flags.append(Flag.EMPTY.value)
    if any(side.done_reason == "length" for side in shown):
        flags.append(Flag.TRUNCATED.value)
    if _identical(item):
        flags.append(Flag.IDENTICAL.value)
    if any(side.withheld for side in item.sides.values()):
        flags.append(Flag.WITHHELD.value)
    return flags


def _mark_duplicates(rows: list[dict[str, Any]], fields: tuple[str, ...]) -> None:
    seen: set[str] = set()
    for row in rows:
        key = repr(tuple(row[name] for name in fields))
        if key in seen:
            row["flags"].insert(0, Flag.DUPLICATE.value)
        seen.add(key)


def dpo_rows(items: Iterable[Voted], view: View, *, include_withheld: bool = False) -> Rows:
    """TRL's preference rows; a comparison without a clear winner (`dataset_source.winner`)
    has none. With the winner's text `chosen` and the other side's `rejected`."""
    rows, left_out = [], 0
    for item in items:
        winner = item.winner
        if winner is None:
            continue
        chosen, rejected = item.sides[winner], item.sides[_other(winner)]
        if (chosen.withheld or rejected.withheld) and not include_withheld:
            left_out += 1
            continue
        rows.append(
            {
                "prompt": _prompt(item, view),
                "chosen": _text(chosen.text, view),
                "rejected": _text(rejected.text, view),
                "chosen_role": winner.value,
                "chosen_model": chosen.model,
                "rejected_model": rejected.model,
                **metadata(item),
                "flags": _flags((chosen, rejected), item),
            }
        )
    _mark_duplicates(rows, ("prompt", "chosen", "rejected"))
    return Rows(rows, left_out)


def kto_labels(item: Voted) -> dict[Role, bool] | None:
    """The winner is desirable and the other side not; a tie majority marks both desirable, a
    both-bad majority both undesirable; a split vote gives no label."""
    winner = item.winner
    if winner is not None:
        return {role: role is winner for role in Role}
    counts = item.counts
    ties, bad = counts[Choice.TIE], counts[Choice.BOTH_BAD]
    decisive = counts[Choice.BASE_BETTER] + counts[Choice.INSTRUCT_BETTER]
    if ties > max(bad, decisive):
        return dict.fromkeys(Role, True)
    if bad > max(ties, decisive):
        return dict.fromkeys(Role, False)
    return None


def kto_rows(items: Iterable[Voted], view: View, *, include_withheld: bool = False) -> Rows:
    """TRL's unpaired preference rows, one per output, in comparison order (shuffle them with
    `dataset_order.spread` before training: TRL's KL term pairs neighbours)."""
    rows, left_out = [], 0
    for item in items:
        labels = kto_labels(item)
        if labels is None:
            continue
        for role, label in labels.items():
            side = item.sides[role]
            if side.withheld and not include_withheld:
                left_out += 1
                continue
            rows.append(
                {
                    "prompt": _prompt(item, view),
                    "completion": _text(side.text, view),
                    "label": label,
                    "role": role.value,
                    "model": side.model,
                    **metadata(item),
                    "flags": _flags((side,), item),
                }
            )
    _mark_duplicates(rows, ("prompt", "completion"))
    return Rows(rows, left_out)
