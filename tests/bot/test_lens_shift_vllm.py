"""Token shift on an OpenAI-compatible pair served by vLLM: the input as token ids from
/tokenize, the greedy answer as ids, and the base twin's prompt logprobs in one call."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.engine.lens import LensUnsupported
from bot.engine.lens_shift import ShiftKind, token_shift
from tests.bot.conftest import openai_pair
from tests.bot.lens_toys import (
    BASE,
    BASE_MODEL,
    INSTRUCT,
    INSTRUCT_MODEL,
    PROMPT,
    prompts_with_engine_pair,
)
from tests.bot.test_cli import twinbot
from tests.fakes.ollama_fake import OllamaFake, Script
from tests.fakes.openai_fake import OpenAIFake


def script_vllm_twins(fake: OpenAIFake) -> None:
    fake.script(BASE, Script(next_token=BASE_MODEL))
    fake.script(INSTRUCT, Script(next_token=INSTRUCT_MODEL))


async def test_the_base_twin_scores_the_whole_answer_in_one_call(openai_fake: OpenAIFake):
    script_vllm_twins(openai_fake)
    report = await token_shift(None, openai_pair(openai_fake.url), PROMPT)  # type: ignore[arg-type]

    assert [t.token for t in report.tokens] == ["Sure", "!", " 7"]
    # vLLM gives the true rank, beyond the 20 listed too.
    assert [t.rank for t in report.tokens] == [3, 1, 23]
    assert [t.kind for t in report.tokens] == [
        ShiftKind.MARGINAL,
        ShiftKind.UNSHIFTED,
        ShiftKind.SHIFTED,
    ]
    assert report.tokens[0].base_probability == pytest.approx(0.2)
    assert report.tokens[2].instruct_probability == pytest.approx(0.8)
    assert report.requests == 3 == len(openai_fake.requests) and not report.capped
    [tokenize] = openai_fake.requests_to("/tokenize")
    assert tokenize["model"] == INSTRUCT and tokenize["add_generation_prompt"] is True
    answer, scoring = openai_fake.requests_to("/v1/completions")
    assert answer["model"] == INSTRUCT and answer["return_tokens_as_token_ids"] is True
    assert openai_fake.vocab.decode(answer["prompt"]) == (
        f"<|im_start|>user\n{PROMPT}<|im_end|>\n<|im_start|>assistant\n"
    )
    # Token ids end to end: the base twin reads the very ids the instruct twin read and wrote.
    answer_ids = [openai_fake.vocab.ids[t] for t in ("Sure", "!", " 7")]
    assert scoring["model"] == BASE and scoring["prompt"] == answer["prompt"] + answer_ids
    assert scoring["prompt_logprobs"] == 20


async def test_a_server_without_vllms_extensions_is_named(openai_fake: OpenAIFake):
    script_vllm_twins(openai_fake)
    openai_fake.vllm_extensions = False
    with pytest.raises(LensUnsupported, match="has no /tokenize: the token shift"):
        await token_shift(None, openai_pair(openai_fake.url), PROMPT)  # type: ignore[arg-type]


async def test_the_terminal_shows_an_exact_rank_beyond_twenty(
    openai_fake: OpenAIFake, ollama: OllamaFake, tmp_path: Path
):
    script_vllm_twins(openai_fake)
    prompts = prompts_with_engine_pair(tmp_path, openai_fake.url)
    result = await twinbot(
        "lens", PROMPT, "--shift", "--pair", "engine", host=ollama.url,
        db=tmp_path / "l.sqlite3", env={"TWINBOT_PROMPTS_DIR": str(prompts)},
    )  # fmt: skip
    assert result.code == 0, result.err
    assert "Sure!⟦ 7⟧" in result.out and "cost: 3 requests," in result.out
    assert " 23 " in result.out and ">20" not in result.out
    assert ollama.requests == []
