"""The board keeps every model and rating wherever it is shown; a pair with one tag on both
sides counts one battle per vote; the chart shows ratings with intervals beside win shares."""

from __future__ import annotations

from matplotlib.collections import LineCollection
from matplotlib.container import BarContainer
from matplotlib.text import Annotation

from bot.store.sqlite import VoteRow
from bot.votes.chart import leaderboard_chart, leaderboard_figure
from bot.votes.leaderboard import build_leaderboard, chunks, leaderboard_text, sections
from bot.votes.mapping import Choice


def vote(choice: Choice, pair: str, base: str, instruct: str, framing: str = "raw") -> VoteRow:
    return VoteRow(
        1, "slack", "C", pair, base, instruct, framing, "{}", "2026-01-01", "h:u", choice, True, "t"
    )  # fmt: skip


def test_a_pair_with_one_tag_on_both_sides_counts_one_battle_per_vote():
    votes = [vote(Choice.TIE, "control", "m", "m")] * 3
    votes += [vote(Choice.BASE_BETTER, "p", "m", "x"), vote(Choice.INSTRUCT_BETTER, "p", "m", "x")]
    board = build_leaderboard(votes, rounds=20)
    [group] = board.groups
    battles = {r.model: r.battles for r in group.ratings}
    assert battles == {"m": 5, "x": 2}  # m: 2 against x + 3 against itself, once each
    assert group.battles == 2  # the fit still sees only the battles that say something
    [section] = sections(board)  # the control pair sits with its model's group
    assert section.title == "control + p"  # by votes
    assert any(line.endswith("    5 votes") for line in section.lines)


def test_a_model_seen_only_against_itself_is_shown_with_its_votes_and_no_rating():
    votes = [vote(Choice.BASE_BETTER, "control", "solo", "solo")] * 4
    board = build_leaderboard(votes, rounds=10)
    assert board.groups == []
    text = leaderboard_text(board)
    assert "control\nsolo\n   no rating (only against itself)     4 votes" in text


def test_every_section_line_is_narrow_and_no_model_tag_is_cut():
    tag = "hf.co/bartowski/Qwen2.5-0.5B-Instruct-GGUF:Q4_K_M-with-a-long-suffix"
    votes = [vote(Choice.BASE_BETTER, "long", "short-base", tag, f) for f in ("raw", "qa")]
    votes += [vote(Choice.INSTRUCT_BETTER, "long", "short-base", tag)] * 2
    [section] = sections(build_leaderboard(votes, rounds=10))
    assert f"#1 {tag}" in section.lines
    assert all(len(line) <= 52 for line in section.lines if tag not in line)


def test_chunks_cut_between_lines_and_keep_every_line():
    lines = [f"line {i:03d} " + "x" * 40 for i in range(100)]
    runs = chunks(lines, 500)
    assert [line for run in runs for line in run] == lines
    assert all(sum(len(line) + 1 for line in run) <= 500 for run in runs) and len(runs) > 5


def test_the_chart_shows_each_rating_with_its_interval_beside_the_win_shares():
    votes = []
    for pair, base, instruct in (("p1", "b1", "i1"), ("p2", "b2", "i2")):
        votes += [vote(Choice.BASE_BETTER, pair, base, instruct)] * 3
        votes += [vote(Choice.INSTRUCT_BETTER, pair, base, instruct, "qa")] * 5
    votes += [vote(Choice.INSTRUCT_BETTER, "p3", "b3", "i3")] * 4  # i3 never lost
    board = build_leaderboard(votes, rounds=50)
    figure = leaderboard_figure(board)
    ratings, shares = figure.axes
    intervals = [c for c in ratings.collections if isinstance(c, LineCollection)]
    models = [r for g in board.groups for r in g.ratings]
    assert len(intervals) == len(models) == 6
    for row, (drawn, rating) in enumerate(zip(intervals, models, strict=True)):
        assert drawn.get_label() == rating.model
        [segment] = drawn.get_segments()
        (low, y0), (high, y1) = segment
        assert y0 == y1 == row
        assert low == (rating.rating if rating.never_won else rating.low)
        assert high == (rating.rating if rating.never_lost else rating.high)
        assert low < high or rating.never_lost or rating.never_won
    labels = [tick.get_text() for tick in ratings.get_yticklabels()]
    assert [label.split("\n")[0] for label in labels] == [f"#{r.rank} {r.model}" for r in models]
    assert "never lost" in labels[models.index(next(r for r in models if r.model == "i3"))]
    arrows = [a for a in ratings.texts if isinstance(a, Annotation)]
    assert len(arrows) == 2  # i3's open top and b3's open bottom
    bars = [c for c in shares.containers if isinstance(c, BarContainer)]
    assert [len(b) for b in bars] == [len(board.records)] * 2
    assert leaderboard_chart(board).startswith(b"\x89PNG\r\n\x1a\n")


def test_a_chart_of_many_groups_shows_whole_groups_and_says_how_many_more():
    votes = []
    for n in range(40):
        votes += [vote(c, f"p{n:02d}", f"b{n}", f"i{n}") for c in (Choice.TIE, Choice.BASE_BETTER)]
    ratings, shares = leaderboard_figure(build_leaderboard(votes, rounds=20)).axes
    assert len([c for c in ratings.collections if isinstance(c, LineCollection)]) == 30
    assert ratings.get_title().endswith("\n30 shown; 50 more in the table")
    assert shares.get_title().endswith("\n30 most voted; 10 more in the table")
