"""Turn what a user typed into a CompareRequest, or say clearly what is wrong with it."""

from __future__ import annotations

import unicodedata

from bot.config import Settings
from bot.domain import CompareRequest, GenerationOptions, Requester
from bot.engine.catalog import Catalog
from bot.errors import InputError, PromptsError

_ALLOWED_CONTROLS = {"\n", "\t"}
# Characters that render as nothing although Unicode does not call them blank (Hangul fillers,
# the braille blank, the Mongolian vowel separator), and the categories that never show.
_BLANK = frozenset("\u115f\u1160\u3164\uffa0\u2800\u180e")
_INVISIBLE_CATEGORIES = frozenset({"Cf", "Cc", "Zs", "Zl", "Zp"})
INVISIBLE = (
    "The prompt shows as nothing: it has only zero-width, formatting or blank characters. "
    "Type some visible text."
)


def has_visible_text(text: str) -> bool:
    """Whether `text` has at least one character that shows as something."""
    return any(
        char not in _BLANK and unicodedata.category(char) not in _INVISIBLE_CATEGORIES
        for char in text
    )


def clean_prompt(prompt: str, max_chars: int) -> str:
    """Normalise line endings and refuse what no model should be sent."""
    text = prompt.replace("\r\n", "\n").replace("\r", "\n")
    if not text.strip():
        raise InputError("The prompt is empty: type some text for the models to continue.")
    # Zero-width, format and filler characters show nothing: a model would get a prompt that
    # nobody in the channel can see.
    if not has_visible_text(text):
        raise InputError(INVISIBLE)
    if len(text) > max_chars:
        raise InputError(
            f"The prompt is {len(text):,} characters long; the limit is {max_chars:,}."
        )
    for index, char in enumerate(text):
        if char not in _ALLOWED_CONTROLS and unicodedata.category(char) == "Cc":
            raise InputError(
                f"The prompt contains a control character (U+{ord(char):04X}) at position "
                f"{index + 1}; remove it and try again."
            )
    return text


def build_request(
    settings: Settings,
    catalog: Catalog,
    requester: Requester,
    prompt: str,
    *,
    pair: str | None = None,
    framing: str | None = None,
    max_tokens: int | None = None,
    temperature: float | None = None,
    seed: int | None = None,
) -> CompareRequest:
    text = clean_prompt(prompt, settings.max_prompt_chars)
    try:
        model_pair = catalog.pair(pair or settings.default_pair)
        model_framing = catalog.framing(framing or settings.default_framing)
    except PromptsError as exc:
        raise InputError(str(exc)) from None
    tokens = settings.max_tokens if max_tokens is None else max_tokens
    if not 1 <= tokens <= settings.max_tokens_limit:
        raise InputError(f"max tokens must be between 1 and {settings.max_tokens_limit}.")
    temp = settings.temperature if temperature is None else temperature
    if not 0.0 <= temp <= 2.0 or temp != temp:
        raise InputError("temperature must be between 0 and 2.")
    chosen_seed = settings.seed if seed is None else seed
    if chosen_seed is not None and not 0 <= chosen_seed < 2**31:
        raise InputError(f"seed must be between 0 and {2**31 - 1}.")
    return CompareRequest(
        prompt=text,
        pair=model_pair,
        framing=model_framing,
        options=GenerationOptions(
            max_tokens=tokens,
            temperature=temp,
            seed=chosen_seed,
            num_thread=model_pair.num_thread or settings.num_thread,
        ),
        requester=requester,
    )
