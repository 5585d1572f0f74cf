"""The leaderboard as plain text (chat platforms, terminal) from the stored votes."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from bot.store.sqlite import Store, VoteFilter, VoteRow
from bot.votes.ratings import Interval, PairRecord, Rating, battles, bootstrap_ratings, pair_records


@dataclass(frozen=True, slots=True)
class Leaderboard:
    records: list[PairRecord]
    ratings: list[Rating]  # empty until votes span more than one pair
    total_votes: int


def build_leaderboard(votes: Sequence[VoteRow], rounds: int = 200) -> Leaderboard:
    records = pair_records(votes)
    several_pairs = len({r.pair for r in records}) > 1
    ratings = bootstrap_ratings(battles(votes), rounds=rounds) if several_pairs else []
    return Leaderboard(records, ratings, len(votes))


async def leaderboard_for(store: Store, where: VoteFilter, rounds: int = 200) -> Leaderboard:
    return build_leaderboard(await store.votes(where), rounds)


def _percent(value: float) -> str:
    return f"{value * 100:.0f}%"


def _rate(interval: Interval) -> str:
    return f"{_percent(interval.value)} ({_percent(interval.low)}-{_percent(interval.high)})"


def leaderboard_text(board: Leaderboard) -> str:
    """A fixed-width table, for a code block on Discord or Slack and for the terminal."""
    if not board.records:
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
    if board.ratings:
        lines += ["", f"{'model (Bradley-Terry)':<32} {'rating':>6}  {'95% CI':<11} {'battles':>7}"]
        for rating in board.ratings:
            interval = f"{rating.low:.0f}-{rating.high:.0f}"
            lines.append(
                f"{rating.model[:32]:<32} {rating.rating:>6.0f}  {interval:<11} {rating.battles:>7}"
            )
    return "\n".join(lines)


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
