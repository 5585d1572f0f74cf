"""The leaderboard as plain text (chat platforms, terminal) from the stored votes."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from bot.store.sqlite import Store, VoteFilter, VoteRow
from bot.votes.ratings import (
    Interval,
    PairRecord,
    Rating,
    RatingGroup,
    battles,
    pair_records,
    rate_groups,
)


@dataclass(frozen=True, slots=True)
class Leaderboard:
    records: list[PairRecord]
    groups: list[RatingGroup]  # Bradley-Terry, per set of models connected by votes
    total_votes: int
    left_out: int = 0  # votes cast with the names shown, not counted (all_votes=False)
    all_votes: bool = False


def build_leaderboard(
    votes: Sequence[VoteRow], rounds: int = 200, *, all_votes: bool = False
) -> Leaderboard:
    """By default only anonymous votes count, as on Chatbot Arena: a vote cast blind, before
    the names were shown. `all_votes` counts the others too."""
    counted = list(votes) if all_votes else [v for v in votes if v.blind]
    return Leaderboard(
        records=pair_records(counted),
        groups=rate_groups(battles(counted), rounds=rounds),
        total_votes=len(counted),
        left_out=len(votes) - len(counted),
        all_votes=all_votes,
    )


async def leaderboard_for(
    store: Store, where: VoteFilter, rounds: int = 200, *, all_votes: bool = False
) -> Leaderboard:
    return build_leaderboard(await store.votes(where), rounds, all_votes=all_votes)


def _percent(value: float) -> str:
    return f"{value * 100:.0f}%"


def _rate(interval: Interval) -> str:
    return f"{_percent(interval.value)} ({_percent(interval.low)}-{_percent(interval.high)})"


MODEL_WIDTH = 36


def _interval(rating: Rating) -> str:
    """The 95% interval, or the mark that replaces it where the data bound only one side."""
    if rating.never_lost and rating.never_won:
        return "only ties"
    if rating.never_lost:
        return "never lost"  # every resample agrees: one value, which bounds nothing
    if rating.never_won:
        return "never won"
    return f"{rating.low:.0f}-{rating.high:.0f}"


def _ratings_lines(board: Leaderboard) -> list[str]:
    if not board.groups:
        return []
    lines = ["", "Bradley-Terry ratings (ranks tie where the 95% intervals overlap)"]
    if len(board.groups) > 1:
        lines.append(
            f"{len(board.groups)} groups share no model: each is rated on its own (centred "
            "on 1000), and no order across them is known."
        )
    for number, group in enumerate(board.groups, start=1):
        title = f"group {number}" if len(board.groups) > 1 else "models"
        lines.append(
            f"{'rank':>4}  {title[:MODEL_WIDTH]:<{MODEL_WIDTH}} {'rating':>6}  "
            f"{'95% CI':<19} {'votes':>5}"
        )
        for r in group.ratings:
            lines.append(
                f"{r.rank:>4}  {r.model[:MODEL_WIDTH]:<{MODEL_WIDTH}} {r.rating:>6.0f}  "
                f"{_interval(r):<19} {r.battles:>5}"
            )
    return lines


def _left_out_line(board: Leaderboard, switch: str) -> list[str]:
    if board.all_votes:
        return ["", "All votes counted, blind or not."]
    if not board.left_out:
        return ["", "Blind votes only (cast before the names were shown)."]
    return [
        "",
        f"Blind votes only: {board.left_out} cast with the names shown are left out "
        f"(all votes: {switch}).",
    ]


def leaderboard_text(board: Leaderboard, switch: str = "--all-votes") -> str:
    """A fixed-width table, for a code block on Discord or Slack and for the terminal;
    `switch` is how this surface spells "count every vote"."""
    if not board.records:
        if board.left_out:
            return (
                f"No blind votes yet ({board.left_out} cast with the names shown are left out; "
                f"all votes: {switch})."
            )
        return "No votes yet. React to a comparison to vote."
    lines = [
        f"{'pair':<16} {'framing':<11} {'votes':>5}  {'base wins (95% CI)':<19} "
        f"{'instruct wins (95% CI)':<23} {'ties':>4} {'both bad':>8}"
    ]
    for r in board.records:
        lines.append(
            f"{r.pair[:16]:<16} {r.framing[:11]:<11} {r.votes:>5}  {_rate(r.base_rate):<19} "
            f"{_rate(r.instruct_rate):<23} {r.ties:>4} {r.both_bad:>8}"
        )
    return "\n".join(lines + _ratings_lines(board) + _left_out_line(board, switch))


def first_lines(text: str, room: int, rest: str) -> str:
    """As many whole lines of `text` as fit in `room` characters, then `rest` (formatted with
    the number of lines left out) when any were; a chat message stays readable and legal."""
    lines, kept, used = text.splitlines(), list[str](), 0
    for line in lines:
        if used + len(line) + 1 > room:
            kept.append(rest.format(count=len(lines) - len(kept)))
            break
        kept.append(line)
        used += len(line) + 1
    return "\n".join(kept)
