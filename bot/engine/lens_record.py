"""A lens view as it is stored with a comparison: a kind and a JSON payload, and back.

Three kinds: `next_token` (both twins' top-k first tokens), `token_shift` (the instruct
answer's tokens ranked by the base twin) and `samples` (N answers a twin, with their seeds and
what they add up to). The payload carries its own version, so a later shape can be read beside
an older one; a payload this version does not know is an error the reader reports, not a crash.
"""

from __future__ import annotations

import asyncio
import dataclasses
import enum
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from bot.domain import CompareRequest, CompareSnapshot, Role
from bot.engine.backend import Backend, OllamaBackend
from bot.engine.lens import Distribution, LensUnsupported, TokenChance, next_token_distribution
from bot.engine.lens_samples import SAMPLE_TOKENS, Sample, SampleRun, SideSamples, sample_both
from bot.engine.lens_shift import ShiftReport, TokenShift, score_answer
from bot.engine.lens_stats import AnswerStats, Uniformity
from bot.engine.routing import RoutingBackend
from bot.store.sqlite import Store

T = TypeVar("T")

log = logging.getLogger(__name__)


class LensKind(enum.Enum):
    """The views a comparison can be shown with after its outputs (docs/lens.md)."""

    ODDS = "odds"  # both twins' next-token probabilities for the first token
    SHIFT = "shift"  # the comparison's instruct answer, each token ranked by the base twin
    SAMPLES = "samples"  # N more answers a twin: histogram, entropy, distance from uniform


NEXT_TOKEN = "next_token"
TOKEN_SHIFT = "token_shift"
SAMPLES = "samples"
SAMPLE_TEXT_MAX = 200  # characters of each sampled answer kept (its first line is what counts)
PAYLOAD_VERSION = 1
NEXT_TOKEN_REQUESTS = 2  # one token on each side


@dataclass(frozen=True, slots=True)
class NextTokenView:
    """Both twins' top-k first tokens for one comparison, and what it cost to learn them."""

    sides: dict[Role, Distribution]
    top_k: int
    position: int = 0  # the token of the answer the distribution is for (0: the first)
    requests: int = NEXT_TOKEN_REQUESTS
    seconds: float | None = None

    def payload(self) -> dict[str, Any]:
        return {
            "version": PAYLOAD_VERSION,
            "top_k": self.top_k,
            "position": self.position,
            "sides": [
                {
                    "role": side.role.value,
                    "model": side.model,
                    "chances": [[chance.token, chance.probability] for chance in side.chances],
                }
                for side in (self.sides[Role.BASE], self.sides[Role.INSTRUCT])
            ],
        }


def next_token_view(
    payload: dict[str, Any], requests: int = NEXT_TOKEN_REQUESTS, seconds: float | None = None
) -> NextTokenView:
    """The view a stored payload holds. ValueError when its shape is not one this knows."""
    if payload.get("version") != PAYLOAD_VERSION:
        raise ValueError(f"lens payload version {payload.get('version')!r} is not known")
    try:
        sides = {}
        for side in payload["sides"]:
            role = Role(side["role"])
            chances = tuple(TokenChance(str(t), float(p)) for t, p in side["chances"])
            sides[role] = Distribution(role, str(side["model"]), chances)
        view = NextTokenView(
            sides, int(payload["top_k"]), int(payload.get("position", 0)), requests, seconds
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise ValueError(f"lens payload is malformed: {exc!r}") from None
    if set(sides) != set(Role):
        raise ValueError("lens payload lacks a side")
    return view


@dataclass(frozen=True, slots=True)
class ShiftView:
    """A comparison's instruct answer, each token ranked by the base twin, and the cost."""

    report: ShiftReport
    seconds: float | None = None

    @property
    def requests(self) -> int:
        return self.report.requests

    def payload(self) -> dict[str, Any]:
        report = self.report
        return {
            "version": PAYLOAD_VERSION,
            "base_model": report.base_model,
            "instruct_model": report.instruct_model,
            "capped": report.capped,
            "tokens": [
                [t.token, t.rank, t.base_probability, t.instruct_probability] for t in report.tokens
            ],
        }


def shift_view(
    payload: dict[str, Any], requests: int = 0, seconds: float | None = None
) -> ShiftView:
    """The shift a stored payload holds. ValueError when its shape is not one this knows."""

    def read() -> ShiftView:
        tokens = tuple(
            TokenShift(str(token), _maybe(int, rank), _maybe(float, base), _maybe(float, inst))
            for token, rank, base, inst in payload["tokens"]
        )
        report = ShiftReport(
            str(payload["base_model"]),
            str(payload["instruct_model"]),
            tokens,
            bool(payload["capped"]),
            requests,
        )
        return ShiftView(report, seconds)

    return _versioned(payload, read)


@dataclass(frozen=True, slots=True)
class SamplesView:
    """N answers a twin for a comparison's prompt, with their seeds, and the cost."""

    run: SampleRun
    seconds: float | None = None

    @property
    def requests(self) -> int:
        return self.run.requests

    def payload(self) -> dict[str, Any]:
        run = self.run
        return {
            "version": PAYLOAD_VERSION,
            "seeds": list(run.seeds),
            "temperature": run.temperature,
            "max_tokens": run.max_tokens,
            "sides": [
                {
                    "role": side.role.value,
                    "model": side.model,
                    "texts": [sample.text[:SAMPLE_TEXT_MAX] for sample in side.samples],
                    "stats": _stats_payload(side.stats),
                }
                for side in (run.sides[Role.BASE], run.sides[Role.INSTRUCT])
            ],
        }


def _stats_payload(stats: AnswerStats) -> dict[str, Any]:
    return {
        "kind": stats.kind,
        "counts": [list(pair) for pair in stats.counts],
        "entropy_bits": stats.entropy_bits,
        "uniformity": dataclasses.asdict(stats.uniformity) if stats.uniformity else None,
    }


def samples_view(
    payload: dict[str, Any], requests: int = 0, seconds: float | None = None
) -> SamplesView:
    """The samples a stored payload holds. ValueError when its shape is not one this knows."""

    def read() -> SamplesView:
        seeds = tuple(int(seed) for seed in payload["seeds"])
        sides = {}
        for side in payload["sides"]:
            role, stats = Role(side["role"]), side["stats"]
            uniform = stats["uniformity"]
            answer_stats = AnswerStats(
                str(stats["kind"]),
                tuple((str(value), int(count)) for value, count in stats["counts"]),
                float(stats["entropy_bits"]),
                Uniformity(**uniform) if uniform is not None else None,
            )
            samples = tuple(
                Sample(seed, str(text)) for seed, text in zip(seeds, side["texts"], strict=True)
            )
            sides[role] = SideSamples(role, str(side["model"]), samples, answer_stats)
        if set(sides) != set(Role):
            raise ValueError("lens payload lacks a side")
        run = SampleRun(
            sides, seeds, float(payload["temperature"]), int(payload["max_tokens"]), requests
        )
        return SamplesView(run, seconds)

    return _versioned(payload, read)


def _maybe(kind: Callable[[Any], T], value: Any) -> T | None:
    return None if value is None else kind(value)


def _versioned(payload: dict[str, Any], read: Callable[[], T]) -> T:
    if payload.get("version") != PAYLOAD_VERSION:
        raise ValueError(f"lens payload version {payload.get('version')!r} is not known")
    try:
        return read()
    except (KeyError, TypeError, ValueError) as exc:
        raise ValueError(f"lens payload is malformed: {exc!r}") from None


async def measure_next_token(
    backend: Backend, request: CompareRequest, top_k: int
) -> NextTokenView:
    """Ask both twins for one token at once and time it. Raises what `next_token_distribution`
    raises (LensUnsupported for a server that cannot)."""
    if not isinstance(backend, RoutingBackend | OllamaBackend):
        raise LensUnsupported("this model server gives no next-token probabilities")
    loop = asyncio.get_running_loop()
    began = loop.time()
    sides = await next_token_distribution(
        backend, request.pair, request.framing, request.prompt, top_k
    )
    return NextTokenView(sides, top_k, seconds=loop.time() - began)


async def measure_shift(
    backend: Backend, request: CompareRequest, answer: str, max_tokens: int
) -> ShiftView:
    """Score an instruct answer already given (the comparison's) under the base twin."""
    if not isinstance(backend, RoutingBackend | OllamaBackend):
        raise LensUnsupported("this model server gives no next-token probabilities")
    loop = asyncio.get_running_loop()
    began = loop.time()
    report = await score_answer(
        backend, request.pair, request.prompt, answer, max_tokens=max_tokens
    )
    return ShiftView(report, loop.time() - began)


async def measure_samples(
    backend: Backend, request: CompareRequest, count: int, *, parallel: int = 1
) -> SamplesView:
    """`count` more answers a twin to the comparison's prompt, with its framing and temperature,
    each at most SAMPLE_TOKENS tokens (the first line is what counts)."""
    options = request.options
    short = dataclasses.replace(
        request, options=dataclasses.replace(options, max_tokens=min(options.max_tokens,
                                                                     SAMPLE_TOKENS)),
    )  # fmt: skip
    loop = asyncio.get_running_loop()
    began = loop.time()
    run = await sample_both(backend, short, count, parallel=parallel)
    return SamplesView(run, loop.time() - began)


async def record_next_token(
    backend: Backend, store: Store, request: CompareRequest, comparison_id: int, top_k: int
) -> NextTokenView:
    """Measure a stored comparison's lens and store it with the comparison."""
    view = await measure_next_token(backend, request, top_k)
    await store.add_lens_view(
        comparison_id, NEXT_TOKEN, view.payload(), requests=view.requests, seconds=view.seconds
    )
    return view


async def record_view(
    backend: Backend,
    store: Store,
    final: CompareSnapshot,
    kind: LensKind,
    *,
    top_k: int,
    samples: int,
    shift_tokens: int,
) -> StoredLens:
    """Measure one view of a finished comparison, store it, and read back what is stored (what
    a report shows is what is kept). Raises BackendError when the view cannot be had."""
    request = final.request
    view: NextTokenView | ShiftView | SamplesView
    if kind is LensKind.ODDS:
        view, name = await measure_next_token(backend, request, top_k), NEXT_TOKEN
    elif kind is LensKind.SHIFT:
        answer = final.instruct.text
        view, name = await measure_shift(backend, request, answer, shift_tokens), TOKEN_SHIFT
    else:
        view, name = await measure_samples(backend, request, samples), SAMPLES
    await store.add_lens_view(
        final.comparison_id, name, view.payload(), requests=view.requests, seconds=view.seconds
    )
    return await stored_views(store, final.comparison_id)


async def stored_next_token(store: Store, comparison_id: int) -> NextTokenView | None:
    """The latest next-token view stored with a comparison (None: none, or unreadable)."""
    rows = [row for row in await store.lens_views(comparison_id) if row["kind"] == NEXT_TOKEN]
    if not rows:
        return None
    row = rows[-1]
    try:
        return next_token_view(row["payload"], row["requests"], row["seconds"])
    except ValueError as exc:
        log.warning("comparison #%d: its stored lens cannot be read: %s", comparison_id, exc)
        return None


@dataclass(frozen=True, slots=True)
class StoredLens:
    """The latest view of each kind stored with a comparison (None: none, or unreadable)."""

    next_token: NextTokenView | None = None
    shift: ShiftView | None = None
    samples: SamplesView | None = None


async def stored_views(store: Store, comparison_id: int) -> StoredLens:
    latest = {row["kind"]: row for row in await store.lens_views(comparison_id)}
    readers: dict[str, Callable[..., Any]] = {
        NEXT_TOKEN: next_token_view, TOKEN_SHIFT: shift_view, SAMPLES: samples_view,
    }  # fmt: skip
    found: dict[str, Any] = {}
    for kind, reader in readers.items():
        row = latest.get(kind)
        if row is None:
            continue
        try:
            found[kind] = reader(row["payload"], row["requests"], row["seconds"])
        except ValueError as exc:
            log.warning(
                "comparison #%d: its stored %s cannot be read: %s", comparison_id, kind, exc
            )
    return StoredLens(found.get(NEXT_TOKEN), found.get(TOKEN_SHIFT), found.get(SAMPLES))
