"""The lens at any position: after N tokens of each twin's own answer (one request a side), or
after a text both twins continue (the instruct side's chat written out, sent raw)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.config import REPO_ROOT
from bot.domain import Role
from bot.engine.backend import OllamaBackend
from bot.engine.catalog import Catalog, load_catalog
from bot.engine.lens import Distribution, LensEndedEarly, LensUnsupported, next_token_distribution
from bot.engine.lens_chat_text import write_chat
from bot.errors import InputError
from tests.bot.lens_toys import BASE, CHAT, INSTRUCT, PROMPT, script_twins, toy_backend
from tests.bot.test_cli import twinbot
from tests.fakes.ollama_fake import OllamaFake


@pytest.fixture
def catalog() -> Catalog:
    return load_catalog(REPO_ROOT / "prompts")


@pytest.fixture
async def backend(ollama: OllamaFake) -> AsyncIterator[OllamaBackend]:
    async with toy_backend(ollama) as backend:
        yield backend


def odds(side: Distribution) -> list[tuple[str, float]]:
    return [(c.token, round(c.probability, 6)) for c in side.chances]


async def test_at_n_reads_the_alternatives_after_n_tokens_of_each_twins_own_answer(
    backend: OllamaBackend, ollama: OllamaFake, catalog: Catalog
):
    sides = await next_token_distribution(
        backend, catalog.pair("llama3.2-1b"), catalog.framing("raw"), PROMPT, 3, at=1
    )
    assert sides[Role.BASE].prefix == " 7"
    assert odds(sides[Role.BASE]) == [("\n", 0.5), (".", 0.3), ("<|im_end|>", 0.2)]
    assert sides[Role.INSTRUCT].prefix == "Sure"
    assert odds(sides[Role.INSTRUCT]) == [("!", 0.9), (",", 0.1)]
    # One request a side: N+1 tokens, greedy, so "its answer" is one answer, not a draw.
    bodies = ollama.requests_to("/api/generate") + ollama.requests_to("/api/chat")
    assert len(ollama.requests) == 2
    for body in bodies:
        assert body["options"]["num_predict"] == 2 and body["options"]["temperature"] == 0.0
        assert body["logprobs"] is True and body["top_logprobs"] == 3


async def test_after_text_puts_the_same_start_of_an_answer_before_both_twins(
    backend: OllamaBackend, ollama: OllamaFake, catalog: Catalog
):
    sides = await next_token_distribution(
        backend, catalog.pair("llama3.2-1b"), catalog.framing("raw"), PROMPT, 5, after="Sure"
    )
    assert odds(sides[Role.BASE]) == [("!", 0.4), (",", 0.35), (".", 0.25)]
    assert odds(sides[Role.INSTRUCT]) == [("!", 0.9), (",", 0.1)]
    assert sides[Role.BASE].prefix == sides[Role.INSTRUCT].prefix == "Sure"
    generated = {body["model"]: body for body in ollama.requests_to("/api/generate")}
    assert generated[BASE]["prompt"] == PROMPT + "Sure"
    # The chat is written out as the template would, and continued raw (not via /api/chat,
    # where a trailing assistant message would be closed and a new turn opened).
    assert generated[INSTRUCT]["prompt"] == CHAT + "Sure" and generated[INSTRUCT]["raw"] is True
    assert ollama.requests_to("/api/chat") == []
    assert [b["model"] for b in ollama.requests_to("/api/show")] == [INSTRUCT]


async def test_a_position_past_the_end_of_an_answer_says_where_it_ended(
    backend: OllamaBackend, catalog: Catalog
):
    with pytest.raises(LensEndedEarly) as caught:
        await next_token_distribution(
            backend, catalog.pair("llama3.2-1b"), catalog.framing("raw"), PROMPT, 3, at=5
        )
    assert "ended its answer after" in str(caught.value) and "pick --at below" in str(caught.value)


async def test_a_template_the_lens_cannot_write_out_is_named(
    backend: OllamaBackend, ollama: OllamaFake, catalog: Catalog
):
    ollama.templates[INSTRUCT] = "[INST] {{ .Prompt }} [/INST]"
    with pytest.raises(LensUnsupported) as caught:
        await next_token_distribution(
            backend, catalog.pair("llama3.2-1b"), catalog.framing("raw"), PROMPT, 3, after="Sure"
        )
    assert f"The chat template of `{INSTRUCT}` is not one the lens can write out" in str(
        caught.value
    )


async def test_a_model_that_ends_right_there_is_told_so(backend: OllamaBackend, catalog: Catalog):
    with pytest.raises(LensEndedEarly) as caught:
        await next_token_distribution(
            backend, catalog.pair("llama3.2-1b"), catalog.framing("raw"), PROMPT, 3, after="x"
        )
    assert "ends its answer right there (end-of-text is its likeliest" in str(caught.value)


def test_chatml_and_llama3_are_written_out_with_the_modelfile_system_message():
    assert write_chat("<|im_start|>{{ .Role }}", "", "hi", "m") == (
        "<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n"
    )
    assert write_chat("<|start_header_id|>{{ .Role }}", "Be brief.", "hi", "m") == (
        "<|start_header_id|>system<|end_header_id|>\n\nBe brief.<|eot_id|>"
        "<|start_header_id|>user<|end_header_id|>\n\nhi<|eot_id|>"
        "<|start_header_id|>assistant<|end_header_id|>\n\n"
    )


async def test_at_and_after_together_are_refused(backend: OllamaBackend, catalog: Catalog):
    with pytest.raises(InputError):
        await next_token_distribution(
            backend, catalog.pair("llama3.2-1b"), catalog.framing("raw"), PROMPT, 3,
            at=1, after="x",
        )  # fmt: skip


async def test_the_terminal_shows_the_position_and_the_cost(ollama: OllamaFake, tmp_path: Path):
    script_twins(ollama)
    result = await twinbot(
        "lens", PROMPT, "--at", "1", "--top", "2", host=ollama.url, db=tmp_path / "l.sqlite3"
    )
    assert result.code == 0, result.err
    assert 'after " 7"' in result.out and 'after "Sure"' in result.out
    assert '"!"' in result.out and "90.0%" in result.out and '"\\n"' in result.out
    assert "cost: 2 requests," in result.out


async def test_at_and_after_are_exclusive_on_the_command_line(ollama: OllamaFake, tmp_path: Path):
    result = await twinbot(
        "lens", PROMPT, "--at", "1", "--after", "x", host=ollama.url, db=tmp_path / "l.sqlite3"
    )
    assert result.code == 2 and "not allowed with argument" in result.err
    assert ollama.requests == []
