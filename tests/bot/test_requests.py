"""Bad input gets a clear message and nothing reaches the store."""

from __future__ import annotations

import pytest

from bot.errors import InputError


@pytest.mark.parametrize(
    ("prompt", "options", "message"),
    [
        ("", {}, "empty"),
        ("   \n\t ", {}, "empty"),
        ("\u200b\u200d\ufeff \u2066", {}, "shows as nothing"),
        ("\u3164\u2800", {}, "shows as nothing"),  # Hangul filler, braille blank
        ("x" * 4001, {}, "limit is 4,000"),
        ("hi\x00there", {}, "control character \\(U\\+0000\\)"),
        ("bell\x07", {}, "U\\+0007"),
        ("hi", {"pair": "gpt-5"}, "Unknown pair `gpt-5`. Known pairs: .*llama3.2-1b"),
        (
            "hi",
            {"framing": "poem"},
            "Unknown framing `poem`. Known framings: in-context, primed, qa, raw, transcript",
        ),
        ("hi", {"max_tokens": 0}, "max tokens must be between 1 and 1024"),
        ("hi", {"max_tokens": 5000}, "max tokens must be between 1 and 1024"),
        ("hi", {"temperature": -0.1}, "temperature must be between 0 and 2"),
        ("hi", {"temperature": float("nan")}, "temperature must be between 0 and 2"),
        ("hi", {"seed": -1}, "seed must be between 0"),
    ],
)
def test_bad_input_is_refused_with_a_clear_message(make_request, prompt, options, message):
    with pytest.raises(InputError, match=message):
        make_request(prompt, **options)


def test_good_input_keeps_newlines_tabs_and_unicode(make_request):
    request = make_request("line one\r\n\tline two ☃ こんにちは", framing="qa")
    assert request.prompt == "line one\n\tline two ☃ こんにちは"
    assert request.framed_prompt == "Q: line one\n\tline two ☃ こんにちは\nA:"


def test_defaults_come_from_settings(make_request):
    request = make_request("hi")
    assert request.pair.name == "llama3.2-1b"
    assert request.framing.name == "raw"
    assert (request.options.max_tokens, request.options.temperature, request.options.seed) == (
        256,
        0.7,
        None,
    )


def test_braces_in_a_prompt_are_not_a_template(make_request):
    assert make_request("{prompt} {0} {}", framing="qa").framed_prompt == "Q: {prompt} {0} {}\nA:"


def test_a_hundred_kilobytes_is_refused_with_the_limit(make_request):
    with pytest.raises(InputError, match=r"102,400 characters long; the limit is 4,000"):
        make_request("x" * 102_400)


@pytest.mark.parametrize(
    "prompt",
    [
        "zero\u200bwidth\u200d joiners\ufeff",
        "bidi \u202eoverride\u202c and \u2066isolates\u2069",
        "```\nfence breaker ``` ~~~",
        "'; DROP TABLE comparisons; --",
        "@everyone <@123> <!channel>",
    ],
)
def test_odd_but_harmless_prompts_are_kept_verbatim(make_request, prompt: str):
    assert make_request(prompt).prompt == prompt


def test_num_thread_comes_from_the_pair_then_the_setting(make_settings, catalog):
    from dataclasses import replace

    from bot.domain import Requester
    from bot.engine.requests import build_request

    who = Requester(platform="test", user_id="u1")
    unset = build_request(make_settings(), catalog, who, "hi")
    assert unset.options.num_thread is None
    assert "num_thread" not in unset.options.to_ollama(())
    threaded = build_request(make_settings(num_thread=2), catalog, who, "hi")
    assert threaded.options.to_ollama(())["num_thread"] == 2
    assert "num_thread" not in threaded.options.to_openai(())  # the engine sets its own
    pair = replace(catalog.pair("llama3.2-1b"), num_thread=1)
    catalog.pairs["llama3.2-1b"] = pair
    overridden = build_request(make_settings(num_thread=2), catalog, who, "hi")
    assert overridden.options.num_thread == 1
