"""Slack's command text beyond the core parser: subcommands, `--blind`, `--lens[=VIEW]`,
`--samples N`, `/leaderboard` filters."""

from __future__ import annotations

import pytest

from adapters.slack_app.syntax import (
    Flags,
    LeaderboardArgs,
    parse_leaderboard,
    slack_usage,
    subcommand,
    take_flags,
)
from bot.chat.command import MAX_CHAT_SAMPLES, LensAsk, LensKind
from bot.engine.inline_options import CompareArgs, parse_inline
from bot.errors import InputError


@pytest.mark.parametrize(
    ("text", "blind", "rest"),
    [
        ("--blind hi there", True, " hi there"),
        ("—blind  two\n lines", True, "  two\n lines"),  # a phone's dash
        ("--pair x --BLIND --seed 3  hi  --blind", True, "--pair x --seed 3  hi  --blind"),
        ("--max-tokens=4 --blind x", True, "--max-tokens=4 x"),
        ("--no-blind x", False, " x"),  # opting out where blind is the channel's default
        ("hi --blind", None, "hi --blind"),  # in the prompt: kept as typed
        ("-- --blind is a flag", None, "-- --blind is a flag"),
        ("--pair --blind x", None, "--pair --blind x"),  # a missing value: the core says so
        ("--colour red --blind x", None, "--colour red --blind x"),
    ],
)
def test_take_blind_only_from_the_leading_options(text: str, blind: bool | None, rest: str):
    assert take_flags(text) == (Flags(blind), rest)


@pytest.mark.parametrize(
    ("text", "flags", "rest"),
    [
        ("--lens Pick a number", Flags(lens=LensAsk()), " Pick a number"),
        ("--blind --pair x --LENS hi", Flags(True, LensAsk()), " --pair x hi"),
        ("--lens=odds hi", Flags(lens=LensAsk()), " hi"),
        ("--lens=SHIFT --seed 3 hi", Flags(lens=LensAsk(LensKind.SHIFT)), " --seed 3 hi"),
        ("--lens=samples hi", Flags(lens=LensAsk(LensKind.SAMPLES)), " hi"),
        ("--samples 5 hi", Flags(lens=LensAsk(LensKind.SAMPLES, 5)), " hi"),
        ("—samples=20 hi", Flags(lens=LensAsk(LensKind.SAMPLES, 20)), " hi"),
        ("--lens=samples --samples 4 7", Flags(lens=LensAsk(LensKind.SAMPLES, 4)), " 7"),
        ("hi --samples 5", Flags(), "hi --samples 5"),
        ("hi --lens", Flags(), "hi --lens"),  # in the prompt: kept as typed
        ("-- --lens is a word", Flags(), "-- --lens is a word"),
    ],
)
def test_take_lens_only_from_the_leading_options(text: str, flags: Flags, rest: str):
    assert take_flags(text) == (flags, rest)


def test_the_rest_parses_as_without_the_flags():
    _, rest = take_flags("--pair llama3.2-1b --blind --lens --seed 3 Once upon a time")
    assert parse_inline(rest) == CompareArgs("Once upon a time", pair="llama3.2-1b", seed=3)


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("--lens=logits hi", "The lens shows one of: odds, shift, samples (not `logits`)."),
        ("--lens=shift --samples 5 hi", "A sample count goes with the `samples` lens only."),
        ("--samples 500 hi", f"The lens runs between 2 and {MAX_CHAT_SAMPLES} samples a twin."),
        ("--samples many hi", "`--samples` takes a number of answers a twin"),
        ("--samples", "`--samples` takes a number of answers a twin"),
    ],
)
def test_bad_lens_options_are_refused_with_the_usage(text: str, says: str):
    with pytest.raises(InputError) as caught:
        take_flags(text)
    assert str(caught.value).startswith(says) and str(caught.value).endswith(slack_usage())


@pytest.mark.parametrize("flag", ["blind", "no-blind"])
def test_flags_take_no_value(flag: str):
    with pytest.raises(InputError) as caught:
        take_flags(f"--{flag}=yes hi")
    assert str(caught.value) == f"`--{flag}` takes no value: put it alone.\n{slack_usage()}"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("demo", ("demo", "")),
        ("  Demo  greeting ", ("demo", "greeting")),
        ("safety withhold", ("safety", "withhold")),
        ("demonstrate", None),
        ("-- demo", None),
        ("help", None),
    ],
)
def test_subcommands_are_the_first_word(text: str, expected: tuple[str, str] | None):
    assert subcommand(text) == expected


def test_leaderboard_filters():
    assert parse_leaderboard("", "CHERE") == LeaderboardArgs()
    assert parse_leaderboard(
        "--channel <#C0123ABC|general> --since 7d --blind-only --pair=llama", "CHERE"
    ) == LeaderboardArgs("C0123ABC", "llama", "7d", False)
    assert parse_leaderboard("--all-votes", "CHERE") == LeaderboardArgs(all_votes=True)
    assert parse_leaderboard("--channel here", "CHERE").channel_id == "CHERE"
    assert parse_leaderboard("--channel C0123ABCD", "CHERE").channel_id == "C0123ABCD"
    assert parse_leaderboard("--channel <#C0123ABC>", "X").channel_id == "C0123ABC"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("foo", "`foo` is not an option."),
        ("--pair a --pair b", "`--pair` is given twice."),
        ("--since", "`--since` needs a value."),
        ("--since --blind-only", "`--since` needs a value."),
        ("--channel #general", "`--channel` takes a channel, like `--channel #general`"),
        ("--all-votes --blind-only", "`--blind-only` and `--all-votes` contradict each other."),
    ],
)
def test_leaderboard_mistakes_name_the_problem_and_the_usage(text: str, message: str):
    with pytest.raises(InputError) as caught:
        parse_leaderboard(text, "CHERE")
    first, usage = str(caught.value).split("\n")
    assert first.startswith(message)
    assert usage == (
        "Usage: `/leaderboard [--channel #CHANNEL] [--pair NAME] [--since 7d] [--all-votes]`"
    )
