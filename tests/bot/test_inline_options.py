"""The inline `/compare` syntax: options first, then the prompt verbatim; `--` ends options."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.config import Settings
from bot.engine.catalog import Catalog
from bot.engine.inline_options import CompareArgs, HelpWanted, help_text, parse_inline, usage
from bot.errors import InputError


def parsed(text: str) -> CompareArgs:
    result = parse_inline(text)
    assert isinstance(result, CompareArgs)
    return result


def test_options_then_prompt():
    args = parsed("--pair qwen2.5-0.5b --framing qa --max-tokens 200 --temperature 0.2 --seed 7 Hi")
    assert args == CompareArgs("Hi", "qwen2.5-0.5b", "qa", 200, 0.2, 7)


def test_no_options_is_all_prompt():
    assert parsed("What is 2+2?") == CompareArgs("What is 2+2?")


def test_equals_form_and_case_and_underscore():
    assert parsed("--MAX_TOKENS=64 --seed=3 go") == CompareArgs("go", max_tokens=64, seed=3)


def test_prompt_keeps_quotes_dashes_and_newlines():
    text = '--framing qa "Hello" she said -- and --left\n  - a list\n\n--x'
    assert parsed(text).prompt == '"Hello" she said -- and --left\n  - a list\n\n--x'


def test_options_stop_at_first_non_option_word():
    args = parsed("--seed 1 write --pair nope")
    assert (args.seed, args.pair, args.prompt) == (1, None, "write --pair nope")


def test_double_dash_ends_options():
    assert parsed("--seed 1 -- --pair is a flag") == CompareArgs("--pair is a flag", seed=1)
    assert parsed("-- help") == CompareArgs("help")


def test_prompt_on_the_next_line():
    assert parsed("--framing qa\nLine one\nLine two").prompt == "Line one\nLine two"


@pytest.mark.parametrize("dash", ["—", "–"])
def test_smart_dashes_count_as_double_dash(dash: str):
    assert parsed(f"{dash}max-tokens 5 {dash} hi") == CompareArgs("hi", max_tokens=5)


@pytest.mark.parametrize("text", ["", "   ", "help", " HELP ", "--help", "-h", "--seed 1 --help x"])
def test_help(text: str):
    assert isinstance(parse_inline(text), HelpWanted)


def test_help_followed_by_text_is_a_prompt():
    assert parsed("help me write a poem").prompt == "help me write a poem"


def test_single_dash_starts_a_prompt():
    assert parsed("- item one").prompt == "- item one"


def test_empty_prompt_after_options_is_left_for_validation():
    assert parsed("--seed 3").prompt == ""


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("--colour red hi", "Unknown option `--colour`"),
        ("--seed", "`--seed` needs a value"),
        ("--pair --seed 3 hi", "`--pair` needs a value"),
        ("--seed= hi", "`--seed` needs a value"),
        ("--max-tokens lots hi", "`--max-tokens` takes a whole number, like `--max-tokens 200`"),
        ("--max-tokens 2.5 hi", "takes a whole number"),
        ("--temperature warm hi", "`--temperature` takes a number"),
        ("--seed 1 --seed 2 hi", "`--seed` is given twice"),
        ("---pair x hi", "Unknown option `---pair`"),
    ],
)
def test_syntax_errors_name_the_problem_and_show_usage(text: str, message: str):
    with pytest.raises(InputError) as caught:
        parse_inline(text)
    assert message.replace("`---", "`--") in str(caught.value) or message in str(caught.value)
    assert str(caught.value).endswith(usage())


def test_long_bad_values_are_shortened():
    with pytest.raises(InputError) as caught:
        parse_inline("--seed " + "9x" * 100 + " hi")
    assert "9x" * 30 not in str(caught.value)


@given(st.text())
def test_any_text_parses_or_fails_cleanly(text: str):
    try:
        result = parse_inline(text)
    except InputError as exc:
        assert usage() in str(exc)
        return
    if isinstance(result, CompareArgs):
        # Nothing but the options and the blanks around them is taken from the text.
        assert text.endswith(result.prompt)


@given(st.text().filter(lambda s: not s.lstrip().startswith(("--", "—", "–"))))
def test_after_double_dash_the_prompt_is_verbatim(prompt: str):
    result = parse_inline(f"--seed 5 -- {prompt}")
    if prompt.strip():
        assert result == CompareArgs(prompt.lstrip(), seed=5)


def test_help_lists_pairs_framings_and_defaults(settings: Settings, catalog: Catalog):
    text = help_text(settings, catalog)
    assert "`llama3.2-1b` (default)" in text and "`qwen2.5-0.5b`" in text
    assert "`raw` (default)" in text and "`in-context`" in text
    assert usage() in text
    assert f"{settings.max_tokens} tokens per side (at most {settings.max_tokens_limit})" in text
