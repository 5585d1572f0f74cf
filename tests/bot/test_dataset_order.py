"""KTO row order: TRL's KL term pairs each row with its neighbour's completion (and a batch's
first row with its last), so a prompt must never meet its own answer there."""

from __future__ import annotations

from collections import Counter

from hypothesis import given, settings
from hypothesis import strategies as st

from bot.votes.dataset_order import BATCH_SIZES, kl_matches, neighbour_pairs, spread


@settings(max_examples=300, deadline=None)
@given(st.lists(st.integers(0, 30), min_size=1, max_size=150), st.integers(0, 10**6))
def test_no_prompt_sits_beside_itself_wherever_an_order_allows(raw: list[int], seed: int):
    keys = [f"prompt {k}" for k in raw]
    order = spread(list(range(len(keys))), keys, seed)
    assert sorted(order) == list(range(len(keys)))  # a permutation: nothing lost or doubled
    after = [keys[i] for i in order]
    if max(Counter(keys).values()) <= (len(keys) + 1) // 2:  # else no order can
        assert neighbour_pairs(after) == 0


@settings(max_examples=300, deadline=None)
@given(st.integers(4, 200), st.integers(0, 10**6))
def test_two_answers_a_prompt_never_meet_in_a_kl_pair(rows: int, seed: int):
    keys = [f"prompt {i // 2}" for i in range(rows)]  # KTO: both sides of each comparison
    after = [keys[i] for i in spread(list(range(rows)), keys, seed)]
    assert {size: kl_matches(after, size) for size in BATCH_SIZES} == dict.fromkeys(BATCH_SIZES, 0)


def test_the_same_seed_gives_the_same_order():
    keys = [str(i // 2) for i in range(68)]
    rows = list(range(68))
    assert spread(rows, keys, 3) == spread(rows, keys, 3) != spread(rows, keys, 4)
    assert neighbour_pairs(keys) == 34  # comparison order: every pair side by side


def test_kl_matches_rotates_within_each_batch_as_ktotrainer_does():
    # Batches of 3: (a, b, a) gets the KL completions of rows (2, 0, 1): row 0 meets its own
    # prompt across the batch's ends; (c, d) swaps.
    assert kl_matches(["a", "b", "a", "c", "d"], 3) == 1
    assert kl_matches(["a", "b", "a", "c", "d"], 2) == 0
