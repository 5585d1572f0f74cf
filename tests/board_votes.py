"""Votes for leaderboard tests: a real store filled through its own API (comparisons, outputs,
reactions), so the votes are derived the way the bot derives them."""

from __future__ import annotations

import dataclasses

from bot.config import REPO_ROOT, Settings
from bot.domain import CompareRequest, ModelPair, Requester
from bot.engine.catalog import load_catalog
from bot.engine.requests import build_request
from bot.store.sqlite import Store
from bot.votes.leaderboard import (
    Leaderboard,
    build_leaderboard,
    grouped_records,
    interval_text,
    pair_names,
    share,
)
from tests.bot.test_export import voted_comparison

FIVE_PAIRS = ("llama3.2-1b", "qwen2.5-0.5b", "mistral-7b-v0.2", "llama3-8b", "gemma-2b")
FIVE_FRAMINGS = ("raw", "qa", "transcript", "in-context", "primed")
# Per framing, who voted what (🅰️ base, 🅱️ instruct, 🤝 tie, 👎 both bad; names shown):
# every model wins some and loses some, so each has a two-sided interval.
BALLOTS = (
    {"1": "🅰️", "2": "🅱️", "3": "🅱️"},
    {"1": "🅰️", "2": "🅰️", "3": "🅱️"},
    {"1": "🅱️", "2": "🤝", "3": "🅱️"},
    {"1": "🅰️", "2": "👎", "3": "🅱️"},
    {"1": "🅱️", "2": "🅱️", "3": "🅰️"},
)


async def seed_five_by_five(store: Store, settings: Settings) -> None:
    """5 shipped pairs (10 models) × 5 framings, three votes each: 75 votes."""
    catalog = load_catalog(REPO_ROOT / "prompts")
    for shift, pair in enumerate(FIVE_PAIRS):
        ballots = BALLOTS[shift:] + BALLOTS[:shift]  # each pair its own mix of framings
        for framing, ballot in zip(FIVE_FRAMINGS, ballots[: 1 + shift] * 5, strict=False):

            def make(prompt: str, pair: str = pair, framing: str = framing) -> CompareRequest:
                return build_request(
                    settings, catalog, Requester("t", "u"), prompt, pair=pair, framing=framing
                )

            await voted_comparison(store, make, f"{pair} {framing}", ballot, framing=framing)


async def seed_pair(
    store: Store, settings: Settings, pair: ModelPair, ballots: list[dict[str, str]]
) -> None:
    """Votes on any pair (a long name, long tags, one tag on both sides), framing raw."""
    catalog = load_catalog(REPO_ROOT / "prompts")

    def make(prompt: str, framing: str = "raw") -> CompareRequest:
        request = build_request(settings, catalog, Requester("t", "u"), prompt, framing=framing)
        return dataclasses.replace(request, pair=pair)

    for number, ballot in enumerate(ballots):
        await voted_comparison(store, make, f"{pair.name} {number}", ballot)


async def board_of(store: Store) -> Leaderboard:
    """What every surface should show: the same votes, every vote counted."""
    return build_leaderboard(await store.votes(), all_votes=True)


def assert_every_model_and_rating(shown: dict[str, str], board: Leaderboard) -> None:
    """`shown` (a section's text by its title, as a surface posted it) has each model's rank,
    tag, rating, interval and votes under its pairs' title, and each framing's counts."""
    for key, records in grouped_records(board).items():
        text = shown[pair_names(records)]
        assert isinstance(key, int)
        for r in board.groups[key].ratings:
            expected = (
                f"#{r.rank} {r.model}\n   {r.rating:>5.0f}  {interval_text(r):<10} "
                f"{r.battles:>5} votes"
            )
            assert expected in text
        for record in records:
            assert f"\n{record.framing:<10} {record.votes:>5}  {share(record.base_rate)}" in text
