"""Token shift on Ollama: the instruct twin's greedy answer, each token ranked by the base twin
reading the same text, one request per token, bounded and cancellable."""

from __future__ import annotations

import asyncio
import signal
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.config import REPO_ROOT
from bot.engine.backend import OllamaBackend
from bot.engine.catalog import load_catalog
from bot.engine.lens_shift import ShiftKind, check_shift_tokens, token_shift
from bot.errors import InputError
from tests.bot.lens_toys import (
    BASE,
    CHAT,
    INSTRUCT,
    PROMPT,
    script_twins,
    start_lens,
    toy_backend,
)
from tests.bot.test_cli import twinbot
from tests.fakes.ollama_fake import OllamaFake, Script, suffix_model

PAIR = load_catalog(REPO_ROOT / "prompts").pair("llama3.2-1b")


@pytest.fixture
async def backend(ollama: OllamaFake) -> AsyncIterator[OllamaBackend]:
    async with toy_backend(ollama) as backend:
        yield backend


async def test_each_answer_token_is_ranked_by_the_base_twin_given_the_same_text(
    backend: OllamaBackend, ollama: OllamaFake
):
    seen: list[tuple[int, int]] = []
    report = await token_shift(backend, PAIR, PROMPT, on_progress=lambda d, t: seen.append((d, t)))

    assert [t.token for t in report.tokens] == ["Sure", "!", " 7"]
    assert [t.rank for t in report.tokens] == [3, 1, None]
    assert [t.kind for t in report.tokens] == [
        ShiftKind.MARGINAL,
        ShiftKind.UNSHIFTED,
        ShiftKind.SHIFTED,
    ]
    assert report.tokens[0].base_probability == pytest.approx(0.2)
    assert report.tokens[0].instruct_probability == pytest.approx(0.7)
    assert report.tokens[2].rank_text == ">20" and report.tokens[2].base_probability is None
    assert [report.share(kind) for kind in ShiftKind] == pytest.approx([1 / 3] * 3)
    assert [t.token for t in report.most_shifted()] == [" 7"]
    assert not report.capped and report.requests == 5 == len(ollama.requests)
    assert seen[-1] == (3, 3)
    # The base twin reads the instruct twin's input and the answer so far, one token a request.
    scored = ollama.requests_to("/api/generate")
    assert [b["prompt"] for b in scored] == [CHAT, CHAT + "Sure", CHAT + "Sure!"]
    for body in scored:
        assert body["model"] == BASE and body["raw"] is True
        assert body["top_logprobs"] == 20 and body["options"]["num_predict"] == 1
    [answer] = ollama.requests_to("/api/chat")
    assert answer["model"] == INSTRUCT and answer["options"]["temperature"] == 0.0


async def test_the_answer_is_capped_and_the_report_says_so(backend: OllamaBackend):
    report = await token_shift(backend, PAIR, PROMPT, max_tokens=2)
    assert [t.token for t in report.tokens] == ["Sure", "!"] and report.capped
    assert report.requests == 4


def test_the_cap_is_bounded():
    with pytest.raises(InputError):
        check_shift_tokens(513)


async def test_an_answer_that_is_empty_has_nothing_to_score(
    backend: OllamaBackend, ollama: OllamaFake
):
    ollama.script(INSTRUCT, Script(next_token=suffix_model({})))
    with pytest.raises(Exception, match="ended before its first token"):
        await token_shift(backend, PAIR, PROMPT)


async def test_the_terminal_marks_shifted_tokens_and_shows_the_shares(
    ollama: OllamaFake, tmp_path: Path
):
    script_twins(ollama)
    result = await twinbot(
        "lens", PROMPT, "--shift", "--pair", "llama3.2-1b",
        host=ollama.url, db=tmp_path / "l.sqlite3",
    )  # fmt: skip
    assert result.code == 0, result.err
    assert "Sure!⟦ 7⟧" in result.out
    assert "unshifted 33.3% · marginal 33.3% · shifted 33.3% of 3 tokens" in result.out
    assert '" 7"' in result.out and ">20" in result.out and "80.0%" in result.out
    assert "cost: 5 requests," in result.out


async def test_without_logprobs_the_shift_names_why(ollama: OllamaFake, tmp_path: Path):
    script_twins(ollama)
    ollama.serves_logprobs = False
    result = await twinbot("lens", PROMPT, "--shift", host=ollama.url, db=tmp_path / "l.sqlite3")
    assert result.code == 1 and "returned no logprobs for" in result.err
    assert "Traceback" not in result.err


async def test_ctrl_c_stops_the_shift_between_requests(ollama: OllamaFake, tmp_path: Path):
    script_twins(ollama)
    # A long answer, each base request slow: Ctrl-C lands while the shift is under way.
    ollama.script(INSTRUCT, Script(tokens=["a"] * 60))
    ollama.script(BASE, Script(tokens=["a"], first_delay=0.2))
    third = asyncio.Event()

    def started(model: str) -> None:
        if model == BASE and len(ollama.requests_to("/api/generate")) >= 3:
            third.set()

    ollama.on_stream_start = started
    process = await start_lens(ollama, tmp_path, "hi", "--shift")
    await asyncio.wait_for(third.wait(), timeout=30)
    process.send_signal(signal.SIGINT)
    _, err = await asyncio.wait_for(process.communicate(), timeout=30)
    assert process.returncode == 130
    assert err.decode().strip() == "twinbot: lens interrupted; no more requests were sent."
    assert len(ollama.requests_to("/api/generate")) < 60  # the process is gone: no more come
