"""Read `/compare` options typed inline before the prompt, for chat platforms without typed options.

The syntax (documented in docs/slack.md, shared by any platform that takes one line of text):

    /compare [--pair NAME] [--framing NAME] [--max-tokens N] [--temperature T] [--seed S]
             [--] PROMPT

- Options come first, each `--name value` or `--name=value`; values are single words.
- The first word that is not an option ends the options; so does a bare `--`.
  Everything after is the prompt, verbatim from its first non-blank character: quotes,
  dashes and newlines included.
- `help` (alone), `--help` or an empty command asks for help; `-- help` sends the word "help".
- An em or en dash (`—pair`, `–pair`) counts as `--`: phones and macOS turn `--` into one.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from bot.config import Settings
from bot.engine.catalog import Catalog
from bot.errors import InputError

_DASH = r"(?:--|—|–)"
_OPTION = re.compile(_DASH + r"(\S*)")
_WORD = re.compile(r"\S+")
_KINDS: dict[str, type] = {
    "pair": str,
    "framing": str,
    "max-tokens": int,
    "temperature": float,
    "seed": int,
}
_EXAMPLES = {
    "pair": "llama3.2-1b",
    "framing": "qa",
    "max-tokens": "200",
    "temperature": "0.7",
    "seed": "42",
}
_HELP_WORDS = {"help", "--help", "-h", "—help", "–help"}


@dataclass(frozen=True, slots=True)
class CompareArgs:
    """What a user asked for; `bot.engine.requests.build_request` validates the values."""

    prompt: str
    pair: str | None = None
    framing: str | None = None
    max_tokens: int | None = None
    temperature: float | None = None
    seed: int | None = None

    def request_options(self) -> dict[str, Any]:
        """Keyword arguments for `build_request`."""
        return {
            "pair": self.pair,
            "framing": self.framing,
            "max_tokens": self.max_tokens,
            "temperature": self.temperature,
            "seed": self.seed,
        }


@dataclass(frozen=True, slots=True)
class HelpWanted:
    """The user asked how the command works."""


def usage(command: str = "/compare") -> str:
    return (
        f"Usage: `{command} [--pair NAME] [--framing NAME] [--max-tokens N] "
        "[--temperature T] [--seed S] [--] PROMPT`"
    )


def _shown(value: str) -> str:
    return value if len(value) <= 40 else value[:39] + "…"


def _syntax_error(message: str, command: str) -> InputError:
    return InputError(f"{message}\n{usage(command)}")


def _convert(name: str, raw: str, command: str) -> str | int | float:
    kind = _KINDS[name]
    if kind is str:
        return raw
    try:
        return int(raw) if kind is int else float(raw)
    except ValueError:
        what = "a whole number" if kind is int else "a number"
        raise _syntax_error(
            f"`--{name}` takes {what}, like `--{name} {_EXAMPLES[name]}` (got `{_shown(raw)}`).",
            command,
        ) from None


def parse_inline(text: str, command: str = "/compare") -> CompareArgs | HelpWanted:
    """Split `text` into options and the prompt; InputError (with the usage line) if malformed.

    The prompt is returned verbatim from its first non-blank character on.
    An empty prompt is returned as is: `build_request` refuses it with its own message.
    """
    rest = text.lstrip()
    if not rest or rest.rstrip().lower() in _HELP_WORDS:
        return HelpWanted()
    values: dict[str, str | int | float] = {}
    while match := _OPTION.match(rest):
        word = match.group(1)
        rest = rest[match.end() :]
        if not word:  # a bare `--`: the prompt follows, even if it starts with a dash
            rest = rest.lstrip()
            break
        name, has_equals, inline_value = word.partition("=")
        name = name.lower().replace("_", "-")  # `--Max_Tokens` means what it says
        if name == "help":
            return HelpWanted()
        if name not in _KINDS:
            known = ", ".join(f"`--{n}`" for n in _KINDS)
            raise _syntax_error(
                f"Unknown option `--{_shown(name)}`. Options: {known}. "
                "A prompt that starts with a dash goes after `--`.",
                command,
            )
        if name in values:
            raise _syntax_error(f"`--{name}` is given twice.", command)
        if has_equals:
            raw = inline_value
        else:
            rest = rest.lstrip()
            word_match = _WORD.match(rest)
            raw = word_match.group() if word_match else ""
            if raw and _OPTION.match(raw):
                raw = ""  # `--pair --seed 3`: the value is missing, not "--seed"
            rest = rest[len(raw) :]
        if not raw:
            raise _syntax_error(
                f"`--{name}` needs a value, like `--{name} {_EXAMPLES[name]}`.", command
            )
        values[name] = _convert(name, raw, command)
        rest = rest.lstrip()
    return CompareArgs(
        prompt=rest,
        pair=_str_or_none(values.get("pair")),
        framing=_str_or_none(values.get("framing")),
        max_tokens=_int_or_none(values.get("max-tokens")),
        temperature=_float_or_none(values.get("temperature")),
        seed=_int_or_none(values.get("seed")),
    )


def _str_or_none(value: object) -> str | None:
    return value if isinstance(value, str) else None


def _int_or_none(value: object) -> int | None:
    return value if isinstance(value, int) else None


def _float_or_none(value: object) -> float | None:
    return float(value) if isinstance(value, (int, float)) else None


def help_text(settings: Settings, catalog: Catalog, command: str = "/compare") -> str:
    """How to use the command, with the pairs and framings this server knows. Plain text with
    `code` spans only, so every platform's markup shows it the same way."""
    pairs = ", ".join(
        f"`{name}`" + (" (default)" if name == settings.default_pair else "")
        for name in catalog.pairs
    )
    framings = ", ".join(
        f"`{name}`" + (" (default)" if name == settings.default_framing else "")
        for name in catalog.framings
    )
    return "\n".join(
        [
            f"`{command}` sends one prompt to a base model (pre-trained only) and its instruct "
            "twin at once; both answers stream into a thread.",
            usage(command),
            "Options come first; everything after them is the prompt, exactly as typed "
            "(quotes and dashes included). Put `--` before a prompt that starts with a dash.",
            f"Pairs: {pairs}.",
            f"Framings (what the base model sees): {framings}.",
            f"Defaults: {settings.max_tokens} tokens per side (at most "
            f"{settings.max_tokens_limit}), temperature {settings.temperature:g}.",
            f"Example: `{command} --framing qa --max-tokens 120 What is the capital of France?`",
        ]
    )
