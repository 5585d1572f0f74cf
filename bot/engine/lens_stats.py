"""What a set of sampled answers adds up to: a histogram, its entropy, its distance from uniform.

An answer counts by its first non-empty line, normalised (case, spaces, surrounding quotes and
punctuation). Three kinds of answers:
- digits: most lines are strings of digits ("100 random digits"): every digit counts, over 0-9;
- number: the prompt names a range ("Pick a number from 1 to 10") and most lines hold a
  number, or most lines are a bare number: the first number counts, over the range the prompt
  names (else the range seen);
- text: anything else, counted line by line.
For digits and numbers the distance from uniform is the total variation distance (0 uniform,
near 1 all on one value; mass outside the range counts as off) and Pearson's chi-square over
the range, beside what a truly uniform source scores with the same number of draws.
"""

from __future__ import annotations

import math
import random
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

OTHER = "(other)"  # answers of another kind, in a digits or number histogram
MAX_RANGE = 1000  # a range wider than this is not tested for uniformity
_DIGITS_LINE = re.compile(r"^[\d\s,.;-]*\d[\d\s,.;-]*\d[\d\s,.;-]*$")
_NUMBER = re.compile(r"-?\d+")
_BARE_NUMBER = re.compile(r"^-?\d+$")
_RANGE = re.compile(r"(-?\d+)\s*(?:to|and|-|–|through|\.\.)\s*(-?\d+)", re.IGNORECASE)
_STRIP = " \t\"'`*_.,;:!?()[]{}<>"


@dataclass(frozen=True, slots=True)
class Uniformity:
    low: int
    high: int
    total_variation: float
    chi_square: float
    uniform_total_variation: float  # what a uniform source gets with as many draws (median)
    draws: int

    @property
    def size(self) -> int:
        return self.high - self.low + 1


@dataclass(frozen=True, slots=True)
class AnswerStats:
    kind: str  # "digits", "number" or "text"
    counts: tuple[tuple[str, int], ...]  # value, count: by value for numbers, else by count
    entropy_bits: float
    uniformity: Uniformity | None

    @property
    def total(self) -> int:
        return sum(count for _, count in self.counts)


def first_line(text: str) -> str:
    """The answer's first non-empty line, normalised."""
    for line in text.splitlines():
        cleaned = " ".join(line.split()).strip(_STRIP).casefold()
        if cleaned:
            return cleaned[:80]
    return ""


def entropy_bits(counts: Sequence[int]) -> float:
    total = sum(counts)
    return -sum(c / total * math.log2(c / total) for c in counts if c) if total else 0.0


def answer_stats(texts: Sequence[str], prompt: str = "") -> AnswerStats:
    lines = [first_line(text) for text in texts]
    if lines and sum(bool(_DIGITS_LINE.match(line)) for line in lines) * 2 > len(lines):
        return _digit_stats(lines)
    numbers = [_NUMBER.search(line) for line in lines]
    # A number inside a sentence counts only when the prompt names a range to pick from.
    bare = sum(bool(_BARE_NUMBER.match(line)) for line in lines)
    found = sum(f is not None for f in numbers) if _RANGE.search(prompt) else bare
    if lines and found * 2 > len(lines):
        return _number_stats([int(f.group()) if f else None for f in numbers], prompt)
    counted = Counter(line or "(empty)" for line in lines)
    ordered = tuple(sorted(counted.items(), key=lambda item: (-item[1], item[0])))
    return AnswerStats("text", ordered, entropy_bits(list(counted.values())), None)


def _digit_stats(lines: Sequence[str]) -> AnswerStats:
    counted = Counter(char for line in lines if _DIGITS_LINE.match(line) for char in line)
    values = {d: counted.get(str(d), 0) for d in range(10)}
    others = sum(not _DIGITS_LINE.match(line) for line in lines)
    return _ranged("digits", values, 0, 9, others)


def _number_stats(numbers: Sequence[int | None], prompt: str) -> AnswerStats:
    found = [n for n in numbers if n is not None]
    named = _RANGE.search(prompt)
    low, high = (int(named.group(1)), int(named.group(2))) if named else (min(found), max(found))
    low, high = min(low, high), max(low, high)
    counted = Counter(found)
    outside = sum(count for value, count in counted.items() if not low <= value <= high)
    others = len(numbers) - len(found) + outside
    if high - low + 1 > MAX_RANGE:
        ordered = tuple((str(v), c) for v, c in sorted(counted.items()))
        return AnswerStats("number", ordered, entropy_bits(list(counted.values())), None)
    return _ranged(
        "number", {v: counted.get(v, 0) for v in range(low, high + 1)}, low, high, others
    )


def _ranged(kind: str, values: dict[int, int], low: int, high: int, others: int) -> AnswerStats:
    inside = sum(values.values())
    draws = inside + others
    counts = [*((str(v), c) for v, c in values.items()), *([(OTHER, others)] if others else [])]
    uniformity = None
    if draws:
        size = high - low + 1
        uniformity = Uniformity(
            low,
            high,
            total_variation(list(values.values()), others),
            chi_square(list(values.values())),
            _uniform_total_variation(size, draws),
            draws,
        )
    return AnswerStats(kind, tuple(counts), entropy_bits([c for _, c in counts]), uniformity)


def total_variation(counts: Sequence[int], outside: int = 0) -> float:
    """Half the L1 distance between the observed shares and uniform over `counts`' values."""
    draws = sum(counts) + outside
    if not draws:
        return 0.0
    even = 1 / len(counts)
    return 0.5 * (sum(abs(c / draws - even) for c in counts) + outside / draws)


def chi_square(counts: Sequence[int]) -> float:
    """Pearson's statistic against uniform over the values (degrees of freedom: values - 1)."""
    draws = sum(counts)
    if not draws:
        return 0.0
    expected = draws / len(counts)
    return sum((c - expected) ** 2 / expected for c in counts)


def _uniform_total_variation(size: int, draws: int, trials: int = 101) -> float:
    """The median distance a fair source scores with this many draws (a fixed seed: the same
    figure every time); small samples are never exactly uniform."""
    rng = random.Random(size * 1_000_003 + draws)
    scores = []
    for _ in range(trials):
        counted = Counter(rng.choices(range(size), k=draws))
        scores.append(total_variation([counted.get(v, 0) for v in range(size)]))
    return sorted(scores)[trials // 2]
