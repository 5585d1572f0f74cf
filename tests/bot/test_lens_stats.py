"""What sampled answers add up to: first lines, the three kinds, entropy, distance from uniform."""

from __future__ import annotations

import math

import pytest

from bot.engine.lens_stats import (
    OTHER,
    answer_stats,
    chi_square,
    entropy_bits,
    first_line,
    total_variation,
)


def test_an_answer_counts_by_its_first_non_empty_line_normalised():
    assert first_line('\n\n  "Seven."  \nand more') == "seven"
    assert first_line("**Hello**,   World!") == "hello**, world"
    assert first_line("   \n") == ""


def test_entropy_is_in_bits():
    assert entropy_bits([5, 5]) == pytest.approx(1.0)
    assert entropy_bits([10]) == 0.0
    assert entropy_bits([1] * 8) == pytest.approx(3.0)


def test_total_variation_and_chi_square_against_uniform():
    assert total_variation([3, 3, 3]) == 0.0 and chi_square([3, 3, 3]) == 0.0
    assert total_variation([9, 0, 0]) == pytest.approx(2 / 3)
    assert chi_square([9, 0, 0]) == pytest.approx(18.0)
    assert total_variation([0, 0], outside=4) == pytest.approx(1.0)  # all off the range


def test_number_answers_count_the_first_number_over_the_range_the_prompt_names():
    answers = ["Sure! Here is one: 7", "7", "7.", "I pick 3", "a word", "12"]
    stats = answer_stats(answers, "Pick a number from 1 to 10")
    assert stats.kind == "number"
    counts = dict(stats.counts)
    assert list(counts)[:10] == [str(n) for n in range(1, 11)]
    assert counts["7"] == 3 and counts["3"] == 1 and counts[OTHER] == 2  # a word, and 12
    assert stats.uniformity is not None and stats.uniformity.size == 10
    assert stats.uniformity.draws == 6
    assert stats.uniformity.total_variation > stats.uniformity.uniform_total_variation


def test_digit_strings_count_every_digit_over_0_to_9():
    stats = answer_stats(["0123456789", "9876543210", "01234 56789"])
    assert stats.kind == "digits"
    assert dict(stats.counts) == {str(d): 3 for d in range(10)}
    assert stats.uniformity is not None and stats.uniformity.total_variation == 0.0
    assert stats.entropy_bits == pytest.approx(math.log2(10))


def test_numbers_inside_sentences_count_only_when_the_prompt_names_a_range():
    answers = ["Room 12 is free", "it costs 3 dollars", "a word"]
    assert answer_stats(answers, "Tell me something").kind == "text"
    assert answer_stats(["12", "3", "a word"], "Tell me something").kind == "number"


def test_other_answers_are_a_histogram_of_lines_commonest_first():
    stats = answer_stats(["Hello there", "hello there!", "Bonjour"])
    assert stats.kind == "text" and stats.uniformity is None
    assert stats.counts == (("hello there", 2), ("bonjour", 1))


def test_a_fair_source_scores_near_zero_with_many_draws_and_the_figure_is_stable():
    one = answer_stats(["0123456789"] * 50).uniformity
    two = answer_stats(["0123456789"] * 50).uniformity
    assert one is not None and two is not None
    assert one.uniform_total_variation == two.uniform_total_variation < 0.1
