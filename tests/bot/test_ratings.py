"""Leaderboard statistics against values computed by hand."""

from __future__ import annotations

import math

import pytest

from bot.store.sqlite import VoteRow
from bot.votes.leaderboard import build_leaderboard, leaderboard_text
from bot.votes.mapping import Choice
from bot.votes.ratings import battles, bootstrap_ratings, bradley_terry, pair_records, wilson


def vote(choice: Choice, pair="p1", base="b1", instruct="i1", framing="raw", cid=1) -> VoteRow:
    return VoteRow(
        cid,
        "discord",
        "c",
        pair,
        base,
        instruct,
        framing,
        "{}",
        "2026-01-01",
        "h:u",
        choice,
        False,
        "t",
    )


def test_wilson_interval_matches_the_textbook_value():
    # 5 of 10: the Wilson 95% interval is 0.2366 to 0.7634.
    interval = wilson(5, 10)
    assert interval.value == 0.5
    assert interval.low == pytest.approx(0.2366, abs=1e-4)
    assert interval.high == pytest.approx(0.7634, abs=1e-4)
    # 0 of 4 stays inside [0, 1]: 0 to 0.4899.
    assert (wilson(0, 4).low, round(wilson(0, 4).high, 4)) == (0.0, 0.4899)


def test_pair_records_count_each_outcome():
    votes = (
        [vote(Choice.BASE_BETTER)]
        + [vote(Choice.INSTRUCT_BETTER)] * 3
        + [vote(Choice.TIE), vote(Choice.BOTH_BAD)]
    )
    votes.append(vote(Choice.BASE_BETTER, framing="qa"))
    records = {(r.pair, r.framing): r for r in pair_records(votes)}
    raw = records[("p1", "raw")]
    assert (raw.votes, raw.base_wins, raw.instruct_wins, raw.ties, raw.both_bad) == (6, 1, 3, 1, 1)
    assert raw.instruct_rate.value == pytest.approx(0.5)
    assert records[("p1", "qa")].votes == 1


def test_bradley_terry_three_wins_to_one_is_log10_3_times_400_apart():
    fights = [("a", "b", 1.0)] * 3 + [("a", "b", 0.0)]
    ratings = bradley_terry(fights, iterations=500, prior_games=0)
    assert ratings["a"] - ratings["b"] == pytest.approx(400 * math.log10(3), abs=0.01)
    assert (ratings["a"] + ratings["b"]) / 2 == pytest.approx(1000)


def test_ties_count_half_as_in_fastchat():
    # One win and two ties: a scored 2 of 3, so a's odds are 2 to 1.
    fights = [("a", "b", 1.0), ("a", "b", 0.5), ("a", "b", 0.5)]
    ratings = bradley_terry(fights, iterations=500, prior_games=0)
    assert ratings["a"] - ratings["b"] == pytest.approx(400 * math.log10(2), abs=0.01)


def test_a_model_that_never_lost_has_a_finite_rating_with_the_prior():
    ratings = bradley_terry([("a", "b", 1.0)] * 5)
    assert math.isfinite(ratings["a"]) and ratings["a"] > ratings["b"]


def test_bootstrap_interval_contains_the_rating_and_is_reproducible():
    votes = [vote(Choice.INSTRUCT_BETTER)] * 8 + [vote(Choice.BASE_BETTER)] * 2
    votes += [vote(Choice.INSTRUCT_BETTER, pair="p2", base="b2", instruct="i2")] * 5
    votes += [vote(Choice.TIE, pair="p3", base="b1", instruct="i2")] * 4
    first = bootstrap_ratings(battles(votes), rounds=50, seed=3)
    again = bootstrap_ratings(battles(votes), rounds=50, seed=3)
    assert first == again
    for rating in first:
        assert rating.low <= rating.rating <= rating.high
    assert first[0].model in {"i1", "i2"}


def test_leaderboard_rates_the_models_a_vote_connects():
    one_pair = build_leaderboard([vote(Choice.BASE_BETTER)] * 3, rounds=10, all_votes=True)
    assert [{r.model for r in g.ratings} for g in one_pair.groups] == [{"b1", "i1"}]
    two_pairs = build_leaderboard(
        [vote(Choice.BASE_BETTER)] * 3 + [vote(Choice.TIE, pair="p2", base="b2", instruct="i1")],
        rounds=10,
        all_votes=True,
    )
    assert [{r.model for r in g.ratings} for g in two_pairs.groups] == [{"b1", "i1", "b2"}]
    text = leaderboard_text(two_pairs)
    assert text.startswith("p1 + p2\n") and "100% 44-100" in text
    assert "Ranks (#) tie where the 95% intervals overlap." in text


def test_empty_leaderboard_says_how_to_vote():
    assert "No votes yet" in leaderboard_text(build_leaderboard([]))
