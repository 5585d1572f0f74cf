"""Sampled distributions: N seeded generations per twin through the ordinary backend, bounded
in number and in how many run at once, summed up as histograms with entropy and uniformity."""

from __future__ import annotations

import asyncio
import dataclasses
import math
import signal
from pathlib import Path

import pytest

from bot.config import Settings
from bot.domain import Requester, Role
from bot.engine.backend import OllamaBackend, Timeouts
from bot.engine.catalog import load_catalog
from bot.engine.lens_samples import MAX_SAMPLES, sample_both
from bot.engine.requests import build_request
from bot.engine.routing import RoutingBackend
from bot.runtime import make_backend
from tests.bot.conftest import openai_pair
from tests.bot.lens_toys import BASE, INSTRUCT, PROMPT, script_twins, start_lens
from tests.bot.test_cli import twinbot
from tests.fakes.ollama_fake import END_OF_TEXT, OllamaFake, Script, suffix_model
from tests.fakes.openai_fake import OpenAIFake

ln = math.log


async def test_each_twin_gets_n_seeded_generations_and_a_histogram(
    ollama: OllamaFake, settings: Settings
):
    script_twins(ollama)
    ollama.script(BASE, Script(next_token=suffix_model(BASE_NUMBERS)))
    toy = ollama.scripts[INSTRUCT].next_token
    ollama.script(INSTRUCT, Script(next_token=toy, first_delay=0.01))
    catalog = load_catalog(settings.prompts_dir)
    request = build_request(
        settings, catalog, Requester("terminal", "t"), PROMPT,
        framing="raw", max_tokens=32, temperature=1.0, seed=100,
    )  # fmt: skip
    backend = make_backend(settings, catalog)
    try:
        run = await sample_both(backend, request, 30, parallel=2)
    finally:
        await backend.close()

    assert run.seeds == tuple(range(100, 130)) and run.requests == 60
    for path in ("/api/generate", "/api/chat"):
        bodies = ollama.requests_to(path)
        assert sorted(b["options"]["seed"] for b in bodies) == list(range(100, 130))
        assert {b["options"]["temperature"] for b in bodies} == {1.0}
    base, instruct = run.sides[Role.BASE], run.sides[Role.INSTRUCT]
    assert [s.seed for s in base.samples] == list(range(100, 130))
    assert base.stats.kind == instruct.stats.kind == "number"
    assert base.stats.total == instruct.stats.total == 30
    assert base.stats.uniformity is not None and instruct.stats.uniformity is not None
    assert (base.stats.uniformity.low, base.stats.uniformity.high) == (1, 10)
    # The article's point, on the toy twins: the base twin spreads, the instruct twin says 7.
    assert dict(instruct.stats.counts)["7"] > dict(base.stats.counts)["7"]
    assert instruct.stats.entropy_bits < base.stats.entropy_bits
    assert instruct.stats.uniformity.total_variation > base.stats.uniformity.total_variation
    assert ollama.peak_streams <= 4  # at most `parallel` a side


BASE_NUMBERS = {"to 10:": [(f" {n}", ln(0.1)) for n in range(1, 11)]}
DIGITS = [(str(d), ln(0.099)) for d in range(10)] + [(END_OF_TEXT, ln(0.01))]


async def test_the_terminal_shows_the_histograms_seeds_and_cost(ollama: OllamaFake, tmp_path: Path):
    script_twins(ollama)
    ollama.script(BASE, Script(next_token=suffix_model(BASE_NUMBERS)))
    result = await twinbot(
        "lens", PROMPT, "--samples", "12", "--seed", "7", host=ollama.url,
        db=tmp_path / "l.sqlite3",
    )  # fmt: skip
    assert result.code == 0, result.err
    assert "12 samples a side of" in result.out
    assert "seeds 7–18 (the same on both sides), temperature 1, at most 32 tokens" in result.out
    assert "from uniform over 1–10: total variation" in result.out and "chi²" in result.out
    assert "entropy" in result.out and "(uniform: 3.32)" in result.out
    assert "cost: 24 requests," in result.out


async def test_the_random_digits_demo_runs_primed_and_counts_digits(
    ollama: OllamaFake, tmp_path: Path
):
    digits = {"are:\n": DIGITS, **{str(d): DIGITS for d in range(10)}}
    ollama.script(BASE, Script(next_token=suffix_model(digits)))
    result = await twinbot(
        "lens", "--demo", "digits", "--samples", "3", "--seed", "1",
        host=ollama.url, db=tmp_path / "l.sqlite3",
    )  # fmt: skip
    assert result.code == 0, result.err
    assert "from uniform over 0–9" in result.out and "at most 80 tokens" in result.out
    [first, *_] = ollama.requests_to("/api/generate")
    assert first["prompt"].endswith("Assistant: Certainly. Here they are:\n")


async def test_more_samples_than_the_bound_are_refused_before_asking(
    ollama: OllamaFake, tmp_path: Path
):
    result = await twinbot(
        "lens", "hi", "--samples", str(MAX_SAMPLES + 1), host=ollama.url, db=tmp_path / "l.db"
    )
    assert result.code == 2
    assert result.err.strip() == "twinbot: --samples must be between 1 and 100."
    assert ollama.requests == []


async def test_a_failing_side_stops_the_samples_with_one_line(ollama: OllamaFake, tmp_path: Path):
    ollama.models.discard(INSTRUCT)
    result = await twinbot("lens", "hi", "--samples", "5", host=ollama.url, db=tmp_path / "l.db")
    assert result.code == 1 and f"run `ollama pull {INSTRUCT}`" in result.err
    assert "Traceback" not in result.err and len(result.err.strip().splitlines()) == 1


@pytest.mark.parametrize("option", ["--at", "--after"])
async def test_a_position_does_not_go_with_samples(ollama: OllamaFake, tmp_path: Path, option: str):
    result = await twinbot(
        "lens", "hi", "--samples", "3", option, "1", host=ollama.url, db=tmp_path / "l.db"
    )
    assert result.code == 2 and "--at and --after choose a position" in result.err


async def test_ctrl_c_cancels_the_samples_in_flight_and_sends_no_more(
    ollama: OllamaFake, tmp_path: Path
):
    ollama.script(BASE, Script(tokens=["7"], first_delay=0.5))
    ollama.script(INSTRUCT, Script(tokens=["7"], first_delay=0.5))
    started = asyncio.Event()
    ollama.on_stream_start = lambda model: started.set()
    process = await start_lens(ollama, tmp_path, "hi", "--samples", "40", TWINBOT_MAX_RUNNING="2")
    await asyncio.wait_for(started.wait(), timeout=30)
    process.send_signal(signal.SIGINT)
    _, err = await asyncio.wait_for(process.communicate(), timeout=30)
    assert process.returncode == 130
    assert err.decode().strip() == "twinbot: lens interrupted; no more requests were sent."
    assert len(ollama.requests) < 40  # two at a time a side: most were never sent


async def test_samples_work_on_an_openai_compatible_pair_too(
    openai_fake: OpenAIFake, ollama: OllamaFake, settings: Settings
):
    openai_fake.script(BASE, Script(tokens=["4", "\n", "more"]))
    openai_fake.script(INSTRUCT, Script(tokens=["7"]))
    pair = openai_pair(openai_fake.url)
    request = build_request(
        settings, load_catalog(settings.prompts_dir), Requester("terminal", "t"), PROMPT,
        max_tokens=8, temperature=1.0, seed=5,
    )  # fmt: skip
    request = dataclasses.replace(request, pair=pair)
    timeouts = Timeouts(connect=5, first_token=30, total=60)
    backend = RoutingBackend(OllamaBackend(ollama.url, timeouts), timeouts, pairs=[pair])
    try:
        run = await sample_both(backend, request, 3, parallel=2)
    finally:
        await backend.close()
    assert dict(run.sides[Role.BASE].stats.counts)["4"] == 3
    assert dict(run.sides[Role.INSTRUCT].stats.counts)["7"] == 3
    seeds = sorted(b["seed"] for b in openai_fake.requests_to("/v1/completions"))
    assert seeds == [5, 6, 7] and ollama.requests == []
