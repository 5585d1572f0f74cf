"""`twinbot doctor --measure`: each side alone, then both at once, and the advice it prints."""

from __future__ import annotations

from pathlib import Path

from bot.domain import Role
from bot.engine.measure import Measurement, Run, advise
from tests.bot.test_cli import twinbot
from tests.conftest import SMALL_PAIR
from tests.fakes.ollama_fake import CpuModel, OllamaFake

BASE, INSTRUCT = SMALL_PAIR


def measured(alone: tuple[float, float], together: tuple[float, float], tokens: int = 128):
    """A measurement from tokens/s figures, each side's wall time following from its speed."""
    runs_alone = {
        role: Run(tokens, tps, tokens / tps) for role, tps in zip(Role, alone, strict=True)
    }
    runs_together = {
        role: Run(tokens, tps, tokens / tps) for role, tps in zip(Role, together, strict=True)
    }
    return Measurement(runs_alone, runs_together, max(tokens / tps for tps in together))


def test_the_real_collapse_on_2_cores_calls_for_one_thread_a_side():
    # Ollama's default threads, SmolLM2-135M on 2 cores: 64-72 tokens/s alone, 0.5 together.
    collapse = measured(alone=(64, 72), together=(0.5, 0.5))
    assert collapse.fan_out > 100
    advice = advise(collapse, cores=2, num_thread=None)
    assert (advice.num_thread, advice.num_parallel) == (1, 1)
    assert any("TWINBOT_NUM_THREAD=1" in line for line in advice.lines)
    assert any("OLLAMA_NUM_PARALLEL=1" in line for line in advice.lines)
    assert advise(collapse, cores=16, num_thread=None).num_thread == 8


def test_one_thread_a_side_as_measured_is_kept():
    # num_thread 1: 56-60 alone, 52-58 together; the comparison took 1.08x its slower side.
    fine = measured(alone=(60, 56), together=(58, 52))
    assert round(fine.fan_out, 2) == 1.08
    advice = advise(fine, cores=2, num_thread=1)
    assert (advice.num_thread, advice.num_parallel) == (None, None)
    assert "keep these settings" in advice.lines[0]


async def test_doctor_measure_against_a_cpu_bound_server(tmp_path: Path):
    # The fake paces tokens like a 2-core host: runners whose threads exceed the cores crawl.
    async with OllamaFake(models=set(SMALL_PAIR)) as ollama:
        ollama.cpu = CpuModel(cores=2, tokens_per_s=400.0, contention_factor=0.02)
        ollama.default_script.tokens = [" w"] * 40
        result = await twinbot(
            "doctor", "--measure", "--tokens", "12", "--cores", "2",
            host=ollama.url, db=tmp_path / "db",
        )  # fmt: skip
        assert result.code == 0, result.out + result.err
        assert "fan-out ratio" in result.out and "num_thread unset (every core)" in result.out
        assert f"base     {BASE}" in result.out and "alone" in result.out
        assert "advice: set TWINBOT_NUM_THREAD=1" in result.out
        assert "advice: set OLLAMA_NUM_PARALLEL=1" in result.out
        assert ollama.peak_streams == 2  # the last phase ran both at once
        generated = ollama.requests_to("/api/generate") + ollama.requests_to("/api/chat")
        assert len(generated) == 6  # warm-up, alone, together: for each side
        assert all("num_thread" not in body["options"] for body in generated)


async def test_num_thread_is_sent_on_both_sides_when_set(tmp_path: Path):
    async with OllamaFake(models=set(SMALL_PAIR)) as ollama:
        ollama.cpu = CpuModel(cores=2)
        result = await twinbot(
            "doctor", "--measure", "--tokens", "4",
            host=ollama.url, db=tmp_path / "db", env={"TWINBOT_NUM_THREAD": "1"},
        )  # fmt: skip
        assert result.code == 0, result.out + result.err
        assert "num_thread 1" in result.out
        bodies = ollama.requests_to("/api/generate") + ollama.requests_to("/api/chat")
        assert {body["options"]["num_thread"] for body in bodies} == {1}


async def test_measure_is_refused_while_doctor_finds_a_problem(tmp_path: Path):
    async with OllamaFake(models={BASE}) as ollama:
        result = await twinbot("doctor", "--measure", host=ollama.url, db=tmp_path / "db")
    assert result.code == 1
    assert "not measuring: fix the problems above first" in result.out
    assert not ollama.requests_to("/api/generate")


def test_a_slowdown_despite_the_recommended_threads_points_elsewhere():
    slow = measured(alone=(60, 56), together=(20, 20))
    advice = advise(slow, cores=2, num_thread=1)
    assert advice.num_thread is None
    assert "even with num_thread 1" in advice.lines[0]
    assert not any("TWINBOT_NUM_THREAD" in line for line in advice.lines)
