"""What Slack's one line of command text means beyond `bot.engine.inline_options`: subcommands,
the `--blind` and `--lens[=odds|shift|samples]` flags, `--samples N`, and `/leaderboard`'s
filters.

`/compare demo …` and `/compare safety …` are subcommands when that word comes first, as
`help` is; `/compare -- demo day was fun` sends the words as a prompt. `--blind` is a flag
without a value, allowed among the leading options only (the core parser knows valued options
only, so it is taken out here before the rest goes to `parse_inline`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from adapters.slack_app.mrkdwn import command_text
from bot.chat.command import MAX_CHAT_SAMPLES, LensAsk, lens_ask
from bot.engine.inline_options import usage
from bot.errors import InputError

SUBCOMMANDS = ("demo", "safety")
_DASH = r"(?:--|—|–)"
_OPTION = re.compile(_DASH + r"(\S*)")
_WORD = re.compile(r"\S+")
_BLIND = "blind"
_NO_BLIND = "no-blind"  # opts out where blind is the channel's default
_LENS = "lens"  # alone (the odds) or `--lens=odds|shift|samples`
_SAMPLES = "samples"  # --samples N: the samples lens, N answers a twin
# Options of the core parser that take a value (their value word is skipped when scanning).
_VALUED = {"pair", "framing", "max-tokens", "temperature", "seed"}

COMPARE_HINT = (
    "[--blind|--no-blind] [--lens[=odds|shift|samples]] [--samples N] [--pair NAME] "
    "[--framing NAME] [--max-tokens N] [--temperature T] [--seed S] [--] PROMPT"
)
LEADERBOARD_HINT = "[--channel #CHANNEL] [--pair NAME] [--since 7d] [--all-votes]"


def slack_usage() -> str:
    return f"Usage: `/compare {COMPARE_HINT}`"


def subcommand(text: str) -> tuple[str, str] | None:
    """(`demo` or `safety`, the rest) when the text starts with one of those words."""
    words = text.strip().split(maxsplit=1)
    if words and words[0].lower() in SUBCOMMANDS:
        return words[0].lower(), words[1] if len(words) > 1 else ""
    return None


@dataclass(frozen=True, slots=True)
class Flags:
    blind: bool | None = None  # --blind (True), --no-blind (False), or neither
    lens: LensAsk | None = None  # --lens[=VIEW] / --samples N: a lens view after the outputs


def take_flags(text: str) -> tuple[Flags, str]:
    """Take `--blind`, `--no-blind`, `--lens[=VIEW]` and `--samples N` out of the leading
    options: (the flags, the text without them). The prompt, after the options, is left
    exactly as typed."""
    blind: bool | None = None
    lens: str | None = None
    samples: str | None = None
    asked = False
    kept, rest = "", text
    while True:
        stripped = rest.lstrip()
        match = _OPTION.match(stripped)
        if match is None or not match.group(1):
            break  # the prompt (or a bare `--` before it) starts here
        name, has_equals, value = match.group(1).partition("=")
        name = name.lower().replace("_", "-")
        if name == _LENS:
            asked, lens = True, value if has_equals else lens
            rest = stripped[match.end() :]
            continue
        if name in (_BLIND, _NO_BLIND):
            if has_equals:
                raise InputError(f"`--{name}` takes no value: put it alone.\n{slack_usage()}")
            blind = name == _BLIND
            rest = stripped[match.end() :]
            continue
        if name == _SAMPLES:
            end = match.end()
            if not has_equals:
                after = stripped[end:]
                word = _WORD.match(after, len(after) - len(after.lstrip()))
                value = word.group() if word is not None else ""
                end += word.end() if word is not None else 0
            asked, samples = True, value
            rest = stripped[end:]
            continue
        if name not in _VALUED:
            break  # `--help` or an unknown option: the core parser answers it
        end = match.end()
        if not has_equals:  # the value is the next word
            after = stripped[end:]
            value = _WORD.match(after, len(after) - len(after.lstrip()))
            if value is None or _OPTION.match(value.group()):
                break  # a missing value: the core parser says so
            end += value.end()
        kept += rest[: len(rest) - len(stripped)] + stripped[:end]
        rest = stripped[end:]
    return Flags(blind, _lens(lens, samples) if asked else None), kept + rest


def _lens(view: str | None, samples: str | None) -> LensAsk:
    count = None
    if samples is not None:
        if not samples.isdecimal():
            raise InputError(
                f"`--samples` takes a number of answers a twin, 2 to {MAX_CHAT_SAMPLES}.\n"
                f"{slack_usage()}"
            )
        count = int(samples)
    try:
        return lens_ask(view or None, count)
    except InputError as exc:
        raise InputError(f"{exc}\n{slack_usage()}") from None


@dataclass(frozen=True, slots=True)
class LeaderboardArgs:
    channel_id: str | None = None
    pair: str | None = None
    since: str | None = None
    all_votes: bool = False  # else blind votes only, as on Chatbot Arena


_CHANNEL = re.compile(r"^<#([CG][A-Z0-9]+)(?:\|[^>]*)?>$|^([CG][A-Z0-9]{6,})$")


def parse_leaderboard(raw: str, here: str) -> LeaderboardArgs:
    """`/leaderboard` filters. `--channel` takes a #channel (Slack sends it as `<#C…|name>`),
    a channel id, or `here`. InputError with the usage line for anything else."""
    words = raw.split()
    values: dict[str, str] = {}
    flags: set[str] = set()
    index = 0
    while index < len(words):
        match = _OPTION.fullmatch(words[index])
        if match is None:
            raise _leaderboard_error(f"`{_shown(words[index])}` is not an option.")
        name, has_equals, value = match.group(1).partition("=")
        name = name.lower().replace("_", "-")
        index += 1
        if name in ("blind-only", "all-votes") and not has_equals:
            flags.add(name)  # --blind-only is the default, still taken as typed
            continue
        if name not in ("channel", "pair", "since"):
            raise _leaderboard_error(f"Unknown option `--{_shown(name)}`.")
        if name in values:
            raise _leaderboard_error(f"`--{name}` is given twice.")
        if not has_equals:
            value = words[index] if index < len(words) else ""
            index += 1
        if not value or _OPTION.fullmatch(value):
            raise _leaderboard_error(f"`--{name}` needs a value.")
        values[name] = value
    return LeaderboardArgs(
        channel_id=_channel(values["channel"], here) if "channel" in values else None,
        pair=command_text(values["pair"]) if "pair" in values else None,
        since=values.get("since"),
        all_votes=_all_votes(flags),
    )


def _all_votes(flags: set[str]) -> bool:
    if len(flags) > 1:
        raise _leaderboard_error("`--blind-only` and `--all-votes` contradict each other.")
    return "all-votes" in flags


def _channel(value: str, here: str) -> str:
    if value.lower() in ("here", "this"):
        return here
    match = _CHANNEL.match(value)
    if match is None:
        raise _leaderboard_error(
            f"`--channel` takes a channel, like `--channel #general` or `--channel here` "
            f"(got `{_shown(command_text(value))}`)."
        )
    return match.group(1) or match.group(2)


def _shown(value: str) -> str:
    return value if len(value) <= 40 else value[:39] + "…"


def _leaderboard_error(message: str) -> InputError:
    return InputError(f"{message}\nUsage: `/leaderboard {LEADERBOARD_HINT}`")


def slack_help(core_help: str) -> str:
    """The core's help with what only Slack's command has."""
    return "\n".join(
        [
            core_help.replace(usage("/compare"), slack_usage()),
            "`--blind` shows the outputs as A and B in random order; the names are revealed "
            "after the first vote.",
            "`--lens` also shows where each twin puts its probability for the first token of "
            "its answer, as bars in the thread (two one-token requests more); "
            "`--lens=shift` ranks each token of the instruct answer under the base twin "
            "(one request a token); `--lens=samples` (or `--samples N`, 2 to "
            f"{MAX_CHAT_SAMPLES}, default 10) asks each twin N more times and shows the "
            "histogram of their answers, its entropy and its distance from uniform.",
            "`/compare demo` lists the classic experiments; `/compare demo NAME` runs one.",
            "`/compare safety` shows how this channel treats flagged output; admins change it "
            "with `/compare safety off|label|spoiler|withhold`.",
            f"`/leaderboard {LEADERBOARD_HINT}` shows which twin people prefer.",
        ]
    )
