"""The order of KTO rows: TRL's KL term pairs each row with a neighbour's completion.

KTOTrainer estimates its KL term from mismatched (prompt, completion) pairs made by rotating
the completions by one within each batch of `per_device_train_batch_size` rows, read in order
(it insists on `train_sampling_strategy='sequential'`): row i gets row i-1's completion and a
batch's first row gets its last row's. Two rows of the same prompt side by side make that
"mismatched" pair a matched one. So the rows are shuffled with a seed (the same seed, the same
file) under the constraint that no row meets its own prompt that way.
"""

from __future__ import annotations

import heapq
import itertools
import random
from collections import defaultdict
from collections.abc import Sequence
from typing import TypeVar

T = TypeVar("T")

# Batch sizes whose wrap-around pair (a batch's first and last row) is kept apart as well; any
# batch size keeps neighbours apart.
BATCH_SIZES = (2, 4, 8, 16, 32, 64)


def _partners(position: int, count: int) -> set[int]:
    """The earlier positions whose row meets this one in a KL pair: the previous row, and a
    batch's first row when this one ends that batch (the last row ends a short batch)."""
    found = {position - 1} if position > 0 else set()
    last = position == count - 1
    for size in BATCH_SIZES:
        offset = position % size
        if offset > 1 and (offset == size - 1 or last):
            found.add(position - offset)
    return found


def _greedy(keys: Sequence[str], rng: random.Random) -> list[int]:
    """Each place takes a random row among those whose key its partners do not hold; a key
    with as many rows left as places it could still fill without two side by side goes first,
    so neighbours are always kept apart where any order allows it."""
    pool = list(range(len(keys)))
    rng.shuffle(pool)
    at = {row: index for index, row in enumerate(pool)}
    rows_of: dict[str, list[int]] = defaultdict(list)
    for row in pool:
        rows_of[keys[row]].append(row)
    most = [(-len(rows), key) for key, rows in rows_of.items()]  # max-heap; stale entries skipped
    heapq.heapify(most)
    placed: list[int] = []
    for position in range(len(keys)):
        taken = {keys[placed[p]] for p in _partners(position, len(keys))}
        while most and -most[0][0] != len(rows_of[most[0][1]]):
            heapq.heappop(most)
        before = keys[placed[-1]] if placed else None
        if most and -most[0][0] > len(pool) // 2 and most[0][1] != before:
            # Now or never: later, its rows would have to sit side by side.
            row = rng.choice(rows_of[most[0][1]])
        else:
            row = _draw(pool, keys, taken, before, rng)
        index = at.pop(row)
        last = pool.pop()
        if last != row:
            pool[index], at[last] = last, index
        rows_of[keys[row]].remove(row)
        heapq.heappush(most, (-len(rows_of[keys[row]]), keys[row]))
        placed.append(row)
    return placed


def _draw(
    pool: list[int], keys: Sequence[str], taken: set[str], before: str | None, rng: random.Random
) -> int:
    """A random row whose key is not taken: a few blind draws (almost always enough), then a
    scan; where every key left is taken, one that is at least not the neighbour's."""
    for _ in range(16):
        row = pool[rng.randrange(len(pool))]
        if keys[row] not in taken:
            return row
    allowed = [row for row in pool if keys[row] not in taken]
    allowed = allowed or [row for row in pool if keys[row] != before] or pool
    return rng.choice(allowed)


def _repair(order: list[int], keys: Sequence[str], rng: random.Random) -> None:
    """Swap away the pairs the greedy pass left (mostly a short last batch's ends): a swap is
    made only when it leaves both rows clear of every partner."""
    count = len(order)
    links: list[set[int]] = [set() for _ in range(count)]
    for position in range(count):
        for partner in _partners(position, count):
            links[position].add(partner)
            links[partner].add(position)

    def clear(position: int) -> bool:
        return all(keys[order[position]] != keys[order[p]] for p in links[position])

    for position in range(count):
        if clear(position):
            continue
        others = list(range(count))
        rng.shuffle(others)
        for other in others:
            if other == position:
                continue
            order[position], order[other] = order[other], order[position]
            if clear(position) and clear(other):
                break
            order[position], order[other] = order[other], order[position]


def spread(rows: Sequence[T], keys: Sequence[str], seed: int) -> list[T]:
    """`rows` in a random order drawn with `seed`, such that no row meets a row of the same key
    (prompt) as its neighbour or across a batch's ends, wherever any order allows it."""
    rng = random.Random(seed)
    order = _greedy(keys, rng)
    _repair(order, keys, rng)
    return [rows[i] for i in order]


def neighbour_pairs(keys: Sequence[str]) -> int:
    """Adjacent rows that share a key: each is a KL pair of a prompt with its own answer."""
    return sum(1 for a, b in itertools.pairwise(keys) if a == b)


def kl_matches(keys: Sequence[str], batch_size: int) -> int:
    """Rows whose KL completion, as KTOTrainer builds it with this batch size, comes from the
    same prompt."""
    matched = 0
    for start in range(0, len(keys), batch_size):
        batch = keys[start : start + batch_size]
        if len(batch) < 2:
            continue
        rotated = [batch[-1], *batch[:-1]]
        matched += sum(1 for own, other in zip(batch, rotated, strict=True) if own == other)
    return matched
