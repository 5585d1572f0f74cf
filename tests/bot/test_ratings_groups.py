"""Ratings that mean what they say: an order only within models connected by votes, ranks
that tie where intervals overlap, blind votes by default, unbounded sides marked."""

from __future__ import annotations

import random

from bot.store.sqlite import VoteRow
from bot.votes.leaderboard import build_leaderboard, leaderboard_text
from bot.votes.mapping import Choice
from bot.votes.ratings import bootstrap_ratings, connected_groups


def vote(choice: Choice, pair: str, base: str, instruct: str, *, blind: bool = True) -> VoteRow:
    return VoteRow(
        1, "slack", "C", pair, base, instruct, "raw", "{}", "2026-01-01", "h:u", choice, blind, "t"
    )  # fmt: skip


def simulated(pair: str, base: str, instruct: str, base_elo: float, instruct_elo: float, n: int,
              rng: random.Random) -> list[VoteRow]:  # fmt: skip
    """`n` blind votes drawn from Bradley-Terry with the given true ratings."""
    p_base = 1 / (1 + 10 ** ((instruct_elo - base_elo) / 400))
    return [
        vote(Choice.BASE_BETTER if rng.random() < p_base else Choice.INSTRUCT_BETTER,
             pair, base, instruct)
        for _ in range(n)
    ]  # fmt: skip


def test_the_issues_example_prints_no_order_across_two_unconnected_pairs():
    rng = random.Random(14)
    votes = simulated("strong", "s-base", "s-instruct", 1300, 1400, 300, rng)
    votes += simulated("weak", "w-base", "w-instruct", 700, 800, 300, rng)
    board = build_leaderboard(votes, rounds=100)
    assert [sorted(r.model for r in g.ratings) for g in board.groups] == [
        ["s-base", "s-instruct"],
        ["w-base", "w-instruct"],
    ]
    # Within each pair the order is the true one, and nothing ranks one pair against the other.
    for group in board.groups:
        assert [r.model.endswith("instruct") for r in group.ratings] == [True, False]
    text = leaderboard_text(board)
    assert (
        "2 groups share no model: each is rated on its own (centred on 1000); ranks (#) tie "
        "where the 95% intervals overlap, and no order across groups is known."
        in text.replace("\n", " ")
    )
    # One rank list per group: the 700-800 pair's models never appear in the 1300-1400 list.
    lists = text.split("\n\n")[:2]
    assert [part.split("\n")[0] for part in lists] == ["strong", "weak"]
    assert "s-base" in lists[0] and "w-base" not in lists[0]
    assert "w-base" in lists[1] and "s-base" not in lists[1]


def test_a_shared_model_connects_two_pairs_into_one_ranking():
    votes = [vote(Choice.BASE_BETTER, "p1", "b1", "i1")] * 3
    votes += [vote(Choice.INSTRUCT_BETTER, "p2", "b2", "i1")] * 3
    groups = connected_groups([(v.base_model, v.instruct_model, 1.0) for v in votes])
    assert len(groups) == 1 and len(groups[0]) == 6


def test_a_pair_with_one_tag_on_both_sides_rates_nothing():
    assert connected_groups([("m", "m", 0.5), ("m", "m", 1.0)]) == []


def test_models_whose_intervals_overlap_share_a_rank():
    rng = random.Random(3)
    fights = []
    for _ in range(400):
        # a ~ b (close), both far above c.
        fights.append(("a", "b", 1.0 if rng.random() < 0.52 else 0.0))
        fights.append(("a", "c", 1.0 if rng.random() < 0.95 else 0.0))
        fights.append(("b", "c", 1.0 if rng.random() < 0.95 else 0.0))
    ratings = {r.model: r for r in bootstrap_ratings(fights, rounds=100)}
    assert ratings["a"].rank == ratings["b"].rank == 1
    assert ratings["c"].rank == 3  # two models lie wholly above it
    assert ratings["a"].low <= ratings["b"].high and ratings["c"].high < ratings["b"].low


def test_a_model_that_never_lost_is_marked_not_given_a_one_value_interval():
    votes = [vote(Choice.INSTRUCT_BETTER, "p", "b", "i")] * 6
    board = build_leaderboard(votes, rounds=50)
    [group] = board.groups
    winner, loser = group.ratings
    assert (winner.model, winner.never_lost, winner.never_won) == ("i", True, False)
    assert (loser.model, loser.never_lost, loser.never_won) == ("b", False, True)
    text = leaderboard_text(board)
    assert "never lost" in text and "never won" in text
    assert f"{winner.low:.0f}-{winner.high:.0f}" not in text


def test_only_blind_votes_count_by_default_and_a_switch_counts_all():
    votes = [vote(Choice.BASE_BETTER, "p", "b", "i", blind=True)] * 2
    votes += [vote(Choice.INSTRUCT_BETTER, "p", "b", "i", blind=False)] * 5
    blind = build_leaderboard(votes, rounds=10)
    assert (blind.total_votes, blind.left_out) == (2, 5)
    assert blind.records[0].base_wins == 2 and blind.records[0].instruct_wins == 0
    assert "5 cast with the names shown are left out (all votes: --all-votes)" in (
        leaderboard_text(blind)
    )
    every = build_leaderboard(votes, rounds=10, all_votes=True)
    assert (every.total_votes, every.left_out) == (7, 0)
    assert every.records[0].instruct_wins == 5
    assert "All votes counted" in leaderboard_text(every, switch="all_votes")


def test_no_blind_votes_yet_says_how_to_see_the_others():
    votes = [vote(Choice.TIE, "p", "b", "i", blind=False)]
    text = leaderboard_text(build_leaderboard(votes), switch="all_votes: True")
    assert text == (
        "No blind votes yet (1 cast with the names shown are left out; all votes: all_votes: True)."
    )


def test_the_rating_table_fits_eighty_columns():
    name = "qwen2.5:0.5b-instruct-q4_K_M"
    votes = [vote(Choice.TIE, "p", "qwen2.5:0.5b-base-q4_K_M", name)] * 3
    votes += [vote(Choice.BASE_BETTER, "p", "qwen2.5:0.5b-base-q4_K_M", name)]
    text = leaderboard_text(build_leaderboard(votes, rounds=10))
    assert f"#1 {name}" in text.splitlines() or f"#2 {name}" in text.splitlines()
    assert max(len(line) for line in text.splitlines()) <= 80
