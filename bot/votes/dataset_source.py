"""What a dataset is made of, read from the store: each voted comparison whose two outputs both
completed, what each side produced and how the channel showed it, and every vote cast on it.

A cap on one user's votes on one prompt keeps a user who asks the same thing again and again
(and votes each time) from outweighing everyone else on that prompt.
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from bot.domain import Role
from bot.store.sqlite import Store, VoteFilter
from bot.votes.mapping import Choice


@dataclass(frozen=True, slots=True)
class Ballot:
    """One user's vote on one comparison."""

    user_key: str
    choice: Choice
    blind: bool  # cast before the names were revealed
    voted_at: str
    by_requester: bool  # the voter is the one who asked for the comparison


@dataclass(frozen=True, slots=True)
class Side:
    role: Role
    model: str
    text: str
    done_reason: str | None
    tokens: int | None  # generated (Ollama's eval_count)
    prompt_tokens: int | None
    safety: str | None  # the gate's verdict; None where the channel had no gate
    withheld: bool  # the channel showed none of this text


@dataclass(frozen=True, slots=True)
class Voted:
    comparison_id: int
    created_at: str
    platform: str
    prompt: str  # as the user typed it: the instruct model got it as one user message
    framed_prompt: str  # what the base model continued
    pair: str
    framing: str
    stop: tuple[str, ...]
    options: dict[str, Any]
    blind: bool
    shown_first: Role
    sides: dict[Role, Side]
    ballots: tuple[Ballot, ...]
    counts: Counter[Choice]  # of the ballots
    winner: Role | None  # see `winner`
    lens: tuple[tuple[str, str], ...] = ()  # stored lens views: (kind, payload JSON)


@dataclass(frozen=True, slots=True)
class Source:
    items: list[Voted]
    votes: int  # votes the filter selected
    capped: int  # of those, left out by the per-user, per-prompt cap
    incomplete: int  # voted comparisons left out because a side did not complete


def winner(counts: Counter[Choice]) -> Role | None:
    """The side with more votes than the other side, and than ties and both-bad together."""
    base, instruct = counts[Choice.BASE_BETTER], counts[Choice.INSTRUCT_BETTER]
    if base == instruct:
        return None
    others = counts[Choice.TIE] + counts[Choice.BOTH_BAD]
    best, best_count = (Role.BASE, base) if base > instruct else (Role.INSTRUCT, instruct)
    return best if best_count > others else None


def prompt_key(prompt: str) -> str:
    """Two prompts are "the same prompt" when they differ only in case and spacing."""
    return " ".join(prompt.split()).casefold()


def _options(text: str) -> dict[str, Any]:
    stored = json.loads(text)
    seed = stored.get("seed")
    return {
        "max_tokens": int(stored["max_tokens"]),
        "temperature": float(stored["temperature"]),
        "seed": None if seed is None else int(seed),
    }


def _side(row: dict[str, Any], role: Role) -> Side:
    safety = row[f"{role}_safety"]
    return Side(
        role=role,
        model=row[f"{role}_model"],
        text=row[f"{role}_text"],
        done_reason=row[f"{role}_done_reason"],
        tokens=row[f"{role}_eval_count"],
        prompt_tokens=row[f"{role}_prompt_eval_count"],
        safety=safety,
        withheld=bool(row[f"{role}_withheld"]),
    )


def cap_ballots(
    ballots: dict[int, list[Ballot]], prompts: dict[int, str], cap: int
) -> tuple[dict[int, list[Ballot]], int]:
    """At most `cap` votes of one user on one prompt (the earliest count); how many were cut."""
    seen: Counter[tuple[str, str]] = Counter()
    kept: dict[int, list[Ballot]] = defaultdict(list)
    cut = 0
    everyone = sorted(
        ((ballot.voted_at, cid, ballot) for cid, rows in ballots.items() for ballot in rows),
        key=lambda entry: (entry[0], entry[1], entry[2].user_key),
    )
    for _, cid, ballot in everyone:
        key = (ballot.user_key, prompt_key(prompts[cid]))
        if seen[key] >= cap:
            cut += 1
            continue
        seen[key] += 1
        kept[cid].append(ballot)
    return dict(kept), cut


async def read_source(store: Store, where: VoteFilter, cap: int | None = None) -> Source:
    votes = await store.dataset_votes(where)
    ballots: dict[int, list[Ballot]] = defaultdict(list)
    for vote in votes:
        ballots[vote["comparison_id"]].append(
            Ballot(
                user_key=vote["user_key"],
                choice=Choice(vote["choice"]),
                blind=bool(vote["blind"]),
                voted_at=vote["voted_at"],
                by_requester=bool(vote["by_requester"]),
            )
        )
    rows = await store.dataset_comparisons(sorted(ballots))
    capped = 0
    if cap is not None:
        ballots, capped = cap_ballots(ballots, {row["id"]: row["prompt"] for row in rows}, cap)
    lens = await store.lens_payloads(sorted(ballots))
    return Source(
        items=_complete(rows, ballots, lens),
        votes=len(votes),
        capped=capped,
        incomplete=sum(1 for row in rows if not _both_done(row)),
    )


def _both_done(row: dict[str, Any]) -> bool:
    return all(row[f"{role}_status"] == "done" for role in Role)


def _complete(
    rows: Sequence[dict[str, Any]],
    ballots: dict[int, list[Ballot]],
    lens: dict[int, list[tuple[str, str]]],
) -> list[Voted]:
    items = []
    for row in rows:
        mine = ballots.get(row["id"])
        if not _both_done(row) or not mine:
            continue  # only completed outputs make training data
        counts = Counter(ballot.choice for ballot in mine)
        items.append(
            Voted(
                comparison_id=row["id"],
                created_at=row["created_at"],
                platform=row["platform"],
                prompt=row["prompt"],
                framed_prompt=row["framed_prompt"],
                pair=row["pair"],
                framing=row["framing"],
                stop=tuple(json.loads(row["stop_json"])),
                options=_options(row["options_json"]),
                blind=bool(row["blind"]),
                shown_first=Role(row["shown_first"]),
                sides={role: _side(row, role) for role in Role},
                ballots=tuple(mine),
                counts=counts,
                winner=winner(counts),
                lens=tuple(lens.get(row["id"], ())),
            )
        )
    return items
