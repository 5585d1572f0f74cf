"""`twinbot lens` end to end: a real subprocess and the real ollama client against the fake
Ollama answering logprobs in the shape a real v0.24.0 does."""

from __future__ import annotations

import math
from pathlib import Path

from bot.config import REPO_ROOT
from bot.domain import Role
from bot.engine.backend import OllamaBackend, Timeouts
from bot.engine.catalog import load_catalog
from bot.engine.lens import next_token_distribution
from tests.bot.lens_toys import prompts_with_engine_pair
from tests.bot.test_cli import closed_port_url, twinbot
from tests.conftest import SMALL_PAIR
from tests.fakes.ollama_fake import OllamaFake, Script

BASE, INSTRUCT = SMALL_PAIR
ln = math.log


def script_first_token(fake: OllamaFake) -> None:
    # A base model spreads its mass over the digits; its instruct twin answers in words.
    base = [("7", ln(0.30)), ("3", ln(0.20)), ("\n", ln(0.10)), ("[b]", ln(0.05))]
    instruct = [("Sure", ln(0.90)), ("7", ln(0.06)), ("\x1b", ln(0.01))]
    fake.script(BASE, Script(tokens=["7", " and"], alternatives=[base]))
    fake.script(INSTRUCT, Script(tokens=["Sure", "!"], alternatives=[instruct]))


async def test_lens_prints_both_twins_bars_and_asks_for_one_token(
    ollama: OllamaFake, tmp_path: Path
):
    script_first_token(ollama)
    result = await twinbot(
        "lens", "Pick a number from 1 to 10:", "--framing", "qa", "--top", "4",
        host=ollama.url, db=tmp_path / "lens.sqlite3",
    )  # fmt: skip

    assert result.code == 0, result.err
    assert f"Base · {BASE}" in result.out and f"Instruct · {INSTRUCT}" in result.out
    for shown in ('"7"', "30.0%", '"3"', "20.0%", '"Sure"', "90.0%", "6.0%", "1.0%"):
        assert shown in result.out
    assert '"\\n"' in result.out and '"\\x1b"' in result.out  # controls made visible
    assert '"[b]"' in result.out  # a token is never read as rich markup
    assert "\x1b" not in result.out  # the escape character itself never reaches the terminal
    assert "top 4 hold 65.0%" in result.out and "top 3 hold 97.0%" in result.out
    assert "█" * 7 in result.out  # 30% of a 24-character bar
    [generate] = ollama.requests_to("/api/generate")
    assert generate["prompt"] == "Q: Pick a number from 1 to 10:\nA:" and generate["raw"] is True
    [chat] = ollama.requests_to("/api/chat")
    assert chat["messages"] == [{"role": "user", "content": "Pick a number from 1 to 10:"}]
    for body in (generate, chat):
        assert body["stream"] is False and body["logprobs"] is True
        assert body["top_logprobs"] == 4 and body["options"]["num_predict"] == 1


async def test_an_ollama_without_logprobs_gets_a_message_naming_why(
    ollama: OllamaFake, tmp_path: Path
):
    ollama.serves_logprobs = False
    result = await twinbot("lens", "Pick a number", host=ollama.url, db=tmp_path / "l.sqlite3")

    assert result.code == 1 and result.out == ""
    assert result.err.startswith(f"twinbot: Ollama at {ollama.url} returned no logprobs for")
    assert "older than the lens needs" in result.err and "Traceback" not in result.err
    assert len(result.err.strip().splitlines()) == 1


async def test_an_openai_compatible_pair_is_not_supported_yet(ollama: OllamaFake, tmp_path: Path):
    prompts = prompts_with_engine_pair(tmp_path, f"{ollama.url}/v1")
    result = await twinbot(
        "lens", "hi", "--pair", "engine", host=ollama.url, db=tmp_path / "l.sqlite3",
        env={"TWINBOT_PROMPTS_DIR": str(prompts)},
    )  # fmt: skip

    assert result.code == 1, result.err
    assert "not supported yet for `engine`" in result.err and "OpenAI-compatible" in result.err
    assert ollama.requests == []


async def test_ollama_down_is_one_line(tmp_path: Path):
    url = closed_port_url()
    result = await twinbot("lens", "hi", host=url, db=tmp_path / "l.sqlite3")
    assert result.code == 1 and "Traceback" not in result.err
    assert result.err.strip() == (
        f"twinbot: Cannot reach Ollama at {url}. Is it running (`ollama serve`)? "
        "Set TWINBOT_OLLAMA_HOST if it listens elsewhere."
    )


async def test_a_tag_not_pulled_names_the_pull(ollama: OllamaFake, tmp_path: Path):
    ollama.models.discard(INSTRUCT)
    result = await twinbot("lens", "hi", host=ollama.url, db=tmp_path / "l.sqlite3")
    assert result.code == 1
    assert f"run `ollama pull {INSTRUCT}`" in result.err and "Traceback" not in result.err


async def test_more_than_twenty_alternatives_is_refused_before_asking(
    ollama: OllamaFake, tmp_path: Path
):
    result = await twinbot("lens", "hi", "--top", "30", host=ollama.url, db=tmp_path / "l.sqlite3")
    assert result.code == 2
    assert result.err.strip() == (
        "twinbot: --top must be between 1 and 20 (Ollama lists at most 20)."
    )
    assert ollama.requests == []


async def test_probabilities_are_the_exponentials_likeliest_first(ollama: OllamaFake):
    script_first_token(ollama)
    catalog = load_catalog(REPO_ROOT / "prompts")
    backend = OllamaBackend(ollama.url, Timeouts(connect=5, first_token=30, total=60))
    try:
        sides = await next_token_distribution(
            backend, catalog.pair("llama3.2-1b"), catalog.framing("raw"), "Pick", 3
        )
    finally:
        await backend.close()
    base = [(c.token, round(c.probability, 6)) for c in sides[Role.BASE].chances]
    assert base == [("7", 0.3), ("3", 0.2), ("\n", 0.1)]
    assert sides[Role.INSTRUCT].chances[0].token == "Sure"
    assert math.isclose(sides[Role.INSTRUCT].covered, 0.97)
