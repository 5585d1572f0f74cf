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


def share(interval: Interval) -> str:
    """A share of the votes with its 95% interval, compactly: `33% 14-61`."""
    return f"{_percent(interval.value)} {interval.low * 100:.0f}-{interval.high * 100:.0f}"


def interval_text(rating: Rating) -> str:
    """The 95% interval, or the mark that replaces it where the data bound only one side."""
    if rating.never_lost and rating.never_won:
        return "only ties"
    if rating.never_lost:
        return "never lost"  # every resample agrees: one value, which bounds nothing
    if rating.never_won:
        return "never won"
    return f"{rating.low:.0f}-{rating.high:.0f}"


@dataclass(frozen=True, slots=True)
class Section:
    """One block of the board: the pairs whose models are connected by votes, with their
    models' ratings and each framing's counts, so a surface can page the board between
    sections (or between lines of one section) without losing a model or a rating."""

    title: str
    lines: list[str]  # fixed width, at most ROW_WIDTH characters except a model's own line


ROW_WIDTH = 52
FRAMING_HEADER = f"{'framing':<10} {'votes':>5}  {'base wins':<11} {'instruct':<11} tie bad"


def _rating_lines(rating: Rating) -> list[str]:
    # The tag on a line of its own: never cut, however long (a chat wraps it, not we).
    return [
        f"#{rating.rank} {rating.model}",
        f"   {rating.rating:>5.0f}  {interval_text(rating):<10} {rating.battles:>5} votes",
    ]


def _record_line(r: PairRecord) -> str:
    return (
        f"{r.framing:<10} {r.votes:>5}  {share(r.base_rate):<11} {share(r.instruct_rate):<11} "
        f"{r.ties:>3} {r.both_bad:>3}"
    )


def grouped_records(board: Leaderboard) -> dict[int | str, list[PairRecord]]:
    """The pair records by rating group (its index in `board.groups`), in the groups' order;
    a pair with one tag on both sides joins its model's group, or stands alone under the tag."""
    group_of = {r.model: index for index, g in enumerate(board.groups) for r in g.ratings}
    records: dict[int | str, list[PairRecord]] = {index: [] for index in range(len(board.groups))}
    for record in board.records:
        records.setdefault(group_of.get(record.base_model, record.base_model), []).append(record)
    return records


def pair_names(records: Sequence[PairRecord]) -> str:
    return " + ".join(dict.fromkeys(r.pair for r in records))


def sections(board: Leaderboard) -> list[Section]:
    """The board per group of connected models (with the shipped pairs: per pair), largest
    group first."""
    result = []
    for key, kept in grouped_records(board).items():
        pairs = list(dict.fromkeys(r.pair for r in kept))
        lines: list[str] = []
        if isinstance(key, int):
            for rating in board.groups[key].ratings:
                lines += _rating_lines(rating)
        else:
            votes = sum(r.votes for r in kept)
            lines += [key, f"   no rating (only against itself) {votes:>5} votes"]
        lines.append(FRAMING_HEADER)
        for pair in pairs:
            if len(pairs) > 1:
                lines.append(f"{pair}:")
            lines += [_record_line(r) for r in kept if r.pair == pair]
        result.append(Section(pair_names(kept), lines))
    return result


def notes(board: Leaderboard, switch: str) -> list[str]:
    """What the board counts and what its ratings mean; `switch` is how this surface spells
    "count every vote"."""
    said = []
    if len(board.groups) > 1:
        said.append(
            f"{len(board.groups)} groups share no model: each is rated on its own (centred on "
            "1000); ranks (#) tie where the 95% intervals overlap, and no order across groups "
            "is known."
        )
    elif board.groups:
        said.append("Ranks (#) tie where the 95% intervals overlap.")
    if board.all_votes:
        said.append("All votes counted, blind or not.")
    elif board.left_out:
        said.append(
            f"Blind votes only: {board.left_out} cast with the names shown are left out "
            f"(all votes: {switch})."
        )
    else:
        said.append("Blind votes only (cast before the names were shown).")
    return said


def empty_text(board: Leaderboard, switch: str) -> str | None:
    """What to say instead of a board when no vote counts, or None."""
    if board.records:
        return None
    if board.left_out:
        return (
            f"No blind votes yet ({board.left_out} cast with the names shown are left out; "
            f"all votes: {switch})."
        )
    return "No votes yet. React to a comparison to vote."


def leaderboard_text(board: Leaderboard, switch: str = "--all-votes") -> str:
    """The whole board as plain fixed-width text (a file, a log, a fallback)."""
    empty = empty_text(board, switch)
    if empty is not None:
        return empty
    blocks = ["\n".join([s.title, *s.lines]) for s in sections(board)]
    return "\n\n".join([*blocks, "\n".join(notes(board, switch))])


def chunks(lines: Sequence[str], room: int) -> list[list[str]]:
    """`lines` in consecutive runs of at most `room` characters (newlines included); a line
    longer than `room` alone is cut, which no model tag or row comes near."""
    runs: list[list[str]] = [[]]
    used = 0
    for line in lines:
        line = line[:room]
        if runs[-1] and used + len(line) + 1 > room:
            runs.append([])
            used = 0
        runs[-1].append(line)
        used += len(line) + 1
    return runs
