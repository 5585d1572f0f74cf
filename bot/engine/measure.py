"""`twinbot doctor --measure`: how fast each twin runs alone and both at once on this server.

Two runners on the same CPU, each with Ollama's default thread count (every core), spin against
each other: measured on 2 cores, both twins at once ran at 0.5 tokens/s each against 64-72
alone. With `num_thread` 1 per side they ran at 52-58 together against 56-60 alone, and a
comparison took 1.08 times its slower side. This measures the same figures on this host and
recommends the settings that keep a comparison near its slower side.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, replace

from bot.domain import CompareRequest, Role, SideStats
from bot.engine.backend import Backend
from bot.text.render import counted

PROMPT = "The history of the printing press begins"
# A comparison within this factor of its slower side runs its twins in parallel; above it they
# slow each other down (two at once in turn would be about 2).
GOOD_FAN_OUT = 1.25


@dataclass(frozen=True, slots=True)
class Run:
    """One side's generation: Ollama's token count and its own speed figure."""

    tokens: int
    tokens_per_s: float | None
    wall_s: float

    @classmethod
    def of(cls, stats: SideStats) -> Run:
        return cls(stats.eval_count or 0, stats.tokens_per_s, stats.wall_s or 0.0)


@dataclass(frozen=True, slots=True)
class Measurement:
    alone: dict[Role, Run]
    together: dict[Role, Run]
    together_wall_s: float

    @property
    def fan_out(self) -> float:
        """A comparison's wall time over its slower side's time alone (1.0: fully parallel)."""
        slower = max(run.wall_s for run in self.alone.values())
        return self.together_wall_s / slower if slower > 0 else float("inf")


@dataclass(frozen=True, slots=True)
class Advice:
    num_thread: int | None  # per side; None: keep what is set
    num_parallel: int | None  # OLLAMA_NUM_PARALLEL; None: keep Ollama's
    lines: tuple[str, ...]


async def measure(backend: Backend, request: CompareRequest) -> Measurement:
    """Each side alone (after a one-token warm-up that loads it), then both at once."""
    warm = replace(request, options=replace(request.options, max_tokens=1))
    for role in Role:
        await backend.run_side(role, warm, _ignore)
    alone = {role: Run.of(await backend.run_side(role, request, _ignore)) for role in Role}
    loop = asyncio.get_running_loop()
    started = loop.time()
    both = await asyncio.gather(*(backend.run_side(role, request, _ignore) for role in Role))
    together_wall = loop.time() - started
    together = {role: Run.of(stats) for role, stats in zip(Role, both, strict=True)}
    return Measurement(alone, together, together_wall)


def advise(measured: Measurement, cores: int, num_thread: int | None) -> Advice:
    """The per-side num_thread and OLLAMA_NUM_PARALLEL this measurement calls for."""
    if measured.fan_out <= GOOD_FAN_OUT:
        return Advice(
            None,
            None,
            (
                f"both twins run at once without slowing each other (within {GOOD_FAN_OUT:g}x "
                "of the slower side): keep these settings",
            ),
        )
    threads = max(1, cores // 2)
    parallel = (
        "set OLLAMA_NUM_PARALLEL=1 on the Ollama server: on a CPU a second request to the "
        "same model only shares the same cores; twinbot's queue holds the rest"
    )
    if num_thread is not None and num_thread <= threads:
        return Advice(
            None,
            1,
            (
                f"the twins slow each other down even with num_thread {num_thread}: other work "
                "shares the Ollama host's CPU, or it has fewer cores than --cores says",
                parallel,
            ),
        )
    lines = [
        "the twins slow each other down when they run at once"
        + (f" (num_thread {num_thread})" if num_thread else ": each runner uses every core"),
        f"set TWINBOT_NUM_THREAD={threads} (or num_thread = {threads} on the pair in "
        f"prompts/pairs.toml): {cores} cores, half for each side",
        parallel,
    ]
    return Advice(threads, 1, tuple(lines))


def report(measured: Measurement, request: CompareRequest) -> list[str]:
    """The figures, one line each."""
    lines = []
    for role in Role:
        tag = request.pair.tag(role)
        lines.append(
            f"{role:<8} {tag:<36} alone {_speed(measured.alone[role])}, "
            f"together {_speed(measured.together[role])}"
        )
    threads = request.options.num_thread
    lines.append(
        f"fan-out ratio {measured.fan_out:.2f}: a comparison took {measured.fan_out:.2f} times "
        "its slower side alone (1.0: the twins run in parallel; 2.0 or more: in turn or worse)"
        f", num_thread {threads if threads is not None else 'unset (every core)'}"
    )
    return lines


def _speed(run: Run) -> str:
    speed = "?" if run.tokens_per_s is None else f"{run.tokens_per_s:.1f}"
    return f"{speed} tokens/s ({counted(run.tokens, 'token')} in {run.wall_s:.2f} s)"


def _ignore(_text: str) -> None:
    return None
