"""Sampled distributions: N generations per twin, and what their answers add up to.

Each generation is an ordinary side of a comparison (the backend's `run_side`, so any pair
works, Ollama or OpenAI-compatible), with its own seed: seed, seed+1, ... the same list on
both sides, kept in the result so any sample can be run again. At most `parallel` generations
per side run at once (Ollama serves each model OLLAMA_NUM_PARALLEL requests at a time); the
first failure cancels the rest.
"""

from __future__ import annotations

import asyncio
import dataclasses
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from bot.domain import CompareRequest, Role
from bot.engine.backend import Backend
from bot.engine.lens_stats import AnswerStats, answer_stats
from bot.errors import InputError

MAX_SAMPLES = 100
SAMPLE_TOKENS = 32  # per generation: the first line of the answer is what is counted
SAMPLE_TEMPERATURE = 1.0  # the model's own distribution, unsharpened
Progress = Callable[[int, int], None]  # (generations done, generations in all)


@dataclass(frozen=True, slots=True)
class Sample:
    seed: int
    text: str


@dataclass(frozen=True, slots=True)
class SideSamples:
    role: Role
    model: str
    samples: tuple[Sample, ...]
    stats: AnswerStats


@dataclass(frozen=True, slots=True)
class SampleRun:
    sides: dict[Role, SideSamples]
    seeds: tuple[int, ...]
    temperature: float
    max_tokens: int
    requests: int


def check_samples(count: int) -> int:
    if not 1 <= count <= MAX_SAMPLES:
        raise InputError(f"--samples must be between 1 and {MAX_SAMPLES}.")
    return count


def sample_request(request: CompareRequest, *, seed: int | None = None) -> CompareRequest:
    """The request every sample runs: short, at the given temperature or the model's own."""
    options = request.options
    return dataclasses.replace(
        request,
        options=dataclasses.replace(options, seed=seed if seed is not None else options.seed),
    )


async def sample_both(
    backend: Backend,
    request: CompareRequest,
    count: int,
    *,
    parallel: int,
    on_progress: Progress | None = None,
) -> SampleRun:
    """`count` generations of each twin for `request`, seeds from `request.options.seed` on
    (a random start when it has none)."""
    check_samples(count)
    first = request.options.seed
    if first is None:
        first = random.SystemRandom().randrange(1, 2**31 - MAX_SAMPLES)
    if first + count > 2**31:
        raise InputError(f"--seed must be at most {2**31 - count} for {count} samples.")
    seeds = tuple(first + n for n in range(count))
    done = 0

    async def one(role: Role, seed: int, gate: asyncio.Semaphore) -> Sample:
        nonlocal done
        pieces: list[str] = []

        async with gate:
            await backend.run_side(role, sample_request(request, seed=seed), pieces.append)
        done += 1
        if on_progress is not None:
            on_progress(done, 2 * count)
        return Sample(seed, "".join(pieces))

    gates = {role: asyncio.Semaphore(max(1, parallel)) for role in Role}
    jobs: list[Awaitable[Sample]] = [
        one(role, seed, gates[role]) for role in (Role.BASE, Role.INSTRUCT) for seed in seeds
    ]
    tasks = [asyncio.ensure_future(job) for job in jobs]
    try:
        results = await asyncio.gather(*tasks)
    except BaseException:
        # A failure or Ctrl-C: nothing more is sent, and what is running is cancelled.
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        raise
    sides: dict[Role, SideSamples] = {}
    for index, role in enumerate((Role.BASE, Role.INSTRUCT)):
        samples = tuple(results[index * count : (index + 1) * count])
        stats = answer_stats([s.text for s in samples], request.prompt)
        sides[role] = SideSamples(role, request.pair.tag(role), samples, stats)
    return SampleRun(
        sides=sides,
        seeds=seeds,
        temperature=request.options.temperature,
        max_tokens=request.options.max_tokens,
        requests=2 * count,
    )
