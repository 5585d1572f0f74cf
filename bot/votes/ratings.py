"""Leaderboard statistics: win rates with 95% intervals, and Bradley-Terry ratings.

Bradley-Terry follows FastChat's `elo_analysis.py` method: each vote is a battle between the
two model tags, a tie (and both-bad) counts half a win to each side, ratings are on the Elo
scale (400 per factor of 10 in odds, centred on 1000), and the intervals come from the 2.5th
and 97.5th percentiles over bootstrap resamples of the battles. Ratings are fitted per
connected group of models (models linked by votes, directly or through others): across groups
Bradley-Terry fixes no order, so none is shown.
"""

from __future__ import annotations

import dataclasses
import math
import random
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

from bot.store.sqlite import VoteRow
from bot.votes.mapping import Choice

Z95 = 1.959963984540054
ELO_SCALE = 400.0
ELO_BASE = 1000.0
CONVERGED = 1e-10  # relative change in every strength below which the fit stops


@dataclass(frozen=True, slots=True)
class Interval:
    value: float
    low: float
    high: float


def wilson(successes: float, total: int) -> Interval:
    """The Wilson score interval at 95%: sound for small counts and rates near 0 or 1."""
    if total == 0:
        return Interval(0.0, 0.0, 1.0)
    p = successes / total
    denominator = 1 + Z95**2 / total
    centre = (p + Z95**2 / (2 * total)) / denominator
    half = Z95 * math.sqrt(p * (1 - p) / total + Z95**2 / (4 * total**2)) / denominator
    return Interval(p, max(0.0, centre - half), min(1.0, centre + half))


@dataclass(frozen=True, slots=True)
class PairRecord:
    """How one pair and framing did: counts and each side's share of the votes."""

    pair: str
    framing: str
    base_model: str
    instruct_model: str
    votes: int
    base_wins: int
    instruct_wins: int
    ties: int
    both_bad: int

    @property
    def base_rate(self) -> Interval:
        return wilson(self.base_wins, self.votes)

    @property
    def instruct_rate(self) -> Interval:
        return wilson(self.instruct_wins, self.votes)


def pair_records(votes: Sequence[VoteRow]) -> list[PairRecord]:
    counts: dict[tuple[str, str, str, str], dict[Choice, int]] = defaultdict(
        lambda: dict.fromkeys(Choice, 0)
    )
    for vote in votes:
        counts[(vote.pair, vote.framing, vote.base_model, vote.instruct_model)][vote.choice] += 1
    records = [
        PairRecord(
            pair=pair,
            framing=framing,
            base_model=base,
            instruct_model=instruct,
            votes=sum(by_choice.values()),
            base_wins=by_choice[Choice.BASE_BETTER],
            instruct_wins=by_choice[Choice.INSTRUCT_BETTER],
            ties=by_choice[Choice.TIE],
            both_bad=by_choice[Choice.BOTH_BAD],
        )
        for (pair, framing, base, instruct), by_choice in counts.items()
    ]
    return sorted(records, key=lambda r: (-r.votes, r.pair, r.framing))


Battle = tuple[str, str, float]  # (model a, model b, a's score: 1 win, 0.5 tie, 0 loss)


def battles(votes: Sequence[VoteRow]) -> list[Battle]:
    scores = {
        Choice.BASE_BETTER: 1.0,
        Choice.INSTRUCT_BETTER: 0.0,
        Choice.TIE: 0.5,
        Choice.BOTH_BAD: 0.5,
    }
    return [(v.base_model, v.instruct_model, scores[v.choice]) for v in votes]


def bradley_terry(
    fights: Sequence[Battle], iterations: int = 200, prior_games: float = 1.0
) -> dict[str, float]:
    """Maximum-likelihood strengths by Hunter's MM algorithm, as Elo-scale ratings.

    A small prior (`prior_games` ties against an average player each) keeps a model that
    never lost, or a pair no other pair connects to, at a finite rating.
    """
    models = sorted({m for a, b, _ in fights for m in (a, b)})
    if not models:
        return {}
    wins: dict[str, float] = dict.fromkeys(models, prior_games / 2)  # the prior's ties
    games: dict[tuple[str, str], float] = defaultdict(float)
    for a, b, score in fights:
        wins[a] += score
        wins[b] += 1.0 - score
        games[(a, b)] += 1.0
        games[(b, a)] += 1.0
    # Each model's opponents only: a board of many pairs is sparse, and the bootstrap fits
    # hundreds of times.
    opponents: dict[str, list[tuple[str, float]]] = {m: [] for m in models}
    for (a, b), n in games.items():
        opponents[a].append((b, n))
    strength = dict.fromkeys(models, 1.0)
    for _ in range(iterations):
        updated = {}
        for m in models:
            # The prior's games against a player of strength 1.
            denominator = prior_games / (strength[m] + 1.0)
            for o, n in opponents[m]:
                denominator += n / (strength[m] + strength[o])
            updated[m] = wins[m] / denominator
        mean_log = sum(math.log(v) for v in updated.values()) / len(updated)
        previous, strength = strength, {m: v / math.exp(mean_log) for m, v in updated.items()}
        if all(abs(strength[m] - previous[m]) <= CONVERGED * previous[m] for m in models):
            break  # further rounds change nothing the board prints
    return {m: ELO_BASE + ELO_SCALE * math.log10(strength[m]) for m in models}


@dataclass(frozen=True, slots=True)
class Rating:
    """One model's place within its group (the models its votes connect it to).

    `rank` is Chatbot Arena's: one plus the number of models in the group whose interval lies
    wholly above this one's, so models whose intervals overlap share a rank. A model that never
    lost (or never won) has no upper (or lower) bound the data can set: it is marked, and its
    interval is open on that side, rather than shown as the one value every resample gives.
    """

    model: str
    rating: float
    low: float
    high: float
    battles: int
    rank: int = 1
    never_lost: bool = False
    never_won: bool = False

    @property
    def upper(self) -> float:
        return math.inf if self.never_lost else self.high

    @property
    def lower(self) -> float:
        return -math.inf if self.never_won else self.low


@dataclass(frozen=True, slots=True)
class RatingGroup:
    """Models connected by votes: their ratings compare with each other, not with other
    groups' (Bradley-Terry fixes only differences within a connected set of battles)."""

    ratings: list[Rating]  # by rank, then rating
    battles: int


def connected_groups(fights: Sequence[Battle]) -> list[list[Battle]]:
    """The battles split by connected component of the graph whose edges they are, largest
    first; a model's battles against itself say nothing about strength and are left out."""
    parent: dict[str, str] = {}

    def root(model: str) -> str:
        parent.setdefault(model, model)
        while parent[model] != model:
            parent[model] = parent[parent[model]]
            model = parent[model]
        return model

    between = [f for f in fights if f[0] != f[1]]
    for a, b, _ in between:
        parent[root(a)] = root(b)
    groups: dict[str, list[Battle]] = defaultdict(list)
    for fight in between:
        groups[root(fight[0])].append(fight)
    return sorted(groups.values(), key=lambda g: (-len(g), min(g)[0]))


def bootstrap_ratings(fights: Sequence[Battle], rounds: int = 200, seed: int = 0) -> list[Rating]:
    """Bradley-Terry ratings with 95% bootstrap intervals for one connected group, by rank."""
    if not fights:
        return []
    point = bradley_terry(fights)
    rng = random.Random(seed)
    samples: dict[str, list[float]] = defaultdict(list)
    for _ in range(rounds):
        resampled = [fights[rng.randrange(len(fights))] for _ in fights]
        for model, value in bradley_terry(resampled, iterations=100).items():
            samples[model].append(value)
    counts: dict[str, int] = defaultdict(int)
    won: dict[str, float] = defaultdict(float)
    lost: dict[str, float] = defaultdict(float)
    for a, b, score in fights:
        counts[a] += 1
        counts[b] += 1
        won[a], lost[a] = won[a] + score, lost[a] + 1.0 - score
        won[b], lost[b] = won[b] + 1.0 - score, lost[b] + score
    drafts = []
    for model, value in point.items():
        drawn = sorted(samples[model]) or [value]
        low = drawn[int(0.025 * (len(drawn) - 1))]
        high = drawn[math.ceil(0.975 * (len(drawn) - 1))]
        drafts.append(
            Rating(model, value, low, high, counts[model],
                   never_lost=lost[model] == 0, never_won=won[model] == 0)
        )  # fmt: skip
    ranked = [
        dataclasses.replace(r, rank=1 + sum(o.lower > r.upper for o in drafts)) for r in drafts
    ]
    return sorted(ranked, key=lambda r: (r.rank, -r.rating, r.model))


def self_votes(fights: Sequence[Battle]) -> dict[str, int]:
    """Votes on a pair with the same tag on both sides, per model: one vote is one battle of
    that model (not two, one per side), though it rates nothing."""
    counts: dict[str, int] = defaultdict(int)
    for a, b, _ in fights:
        if a == b:
            counts[a] += 1
    return dict(counts)


def rate_groups(fights: Sequence[Battle], rounds: int = 200, seed: int = 0) -> list[RatingGroup]:
    """Every connected group of models, rated on its own; a model's votes include its votes
    against itself, once each."""
    alone = self_votes(fights)
    return [
        RatingGroup(
            [
                dataclasses.replace(r, battles=r.battles + alone.get(r.model, 0))
                for r in bootstrap_ratings(group, rounds, seed)
            ],
            len(group),
        )
        for group in connected_groups(fights)
    ]
