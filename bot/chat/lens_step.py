"""The lens as an option of `/compare`: one of its three views, after the outputs.

- odds: both twins' next-token probabilities for the first token (two one-token requests);
- shift: this comparison's instruct answer, each token ranked by the base twin (only the base
  twin is asked, one request a token on Ollama, capped; three on vLLM);
- samples: N more answers a twin (seeds recorded), their histogram, entropy and distance from
  uniform.

Each runs inside the comparison's place in the queue, and only then is the place given back,
so the lens never adds load the queue did not admit: the odds and the samples start once both
models are done (the samples one generation a twin at a time, as the comparison itself runs);
the shift needs the instruct answer as it ended, so it starts when the final snapshot is
handed to the view (`watching`), while the final text is being shown; the place is kept
until it is done. The view is stored with the comparison (through its journal, so a
locked database delays it like any write), drawn (off the event loop) and handed to the
surface. Whatever goes wrong (a pair or server without logprobs, a timeout, a failure) is a
short note in the thread and a log line: the comparison itself is already complete.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

from bot.chat.command import LensAsk, LensKind
from bot.chat.surface import ChatSurface, LensShown
from bot.domain import BackendKind, CompareRequest, CompareSnapshot, SafetyMode, SideStatus
from bot.engine.compare import CompareView
from bot.engine.lens_record import (
    NEXT_TOKEN,
    SAMPLES,
    TOKEN_SHIFT,
    NextTokenView,
    SamplesView,
    ShiftView,
    measure_next_token,
    measure_samples,
    measure_shift,
)
from bot.errors import BackendError
from bot.runtime import Runtime
from bot.store.journal import Journal
from bot.text.lens_picture import lens_alt, lens_panels, lens_png, lens_table
from bot.text.lens_views import (
    samples_alt,
    samples_panels,
    samples_png,
    samples_table,
    shift_alt,
    shift_png,
    shift_table,
)
from bot.text.render import redact

log = logging.getLogger(__name__)

LensView = NextTokenView | ShiftView | SamplesView
LENS_TOP_K = 10  # bars that still read on a phone
SHIFT_CHAT_TOKENS = 64  # answer tokens the shift scores in a chat: one base request each
STORE_WAIT = 10.0  # seconds the comparison waits for its lens to be stored
HEADLINE = "Lens: where each twin puts its probability for the first token of its answer"
SHIFT_HEADLINE = (
    "Token shift: each token of the instruct twin's answer, ranked by the base twin reading "
    "the same text (rank 1 unshifted, 2–3 marginal, beyond shifted)"
)
SAMPLES_HEADLINE = "Samples: {count} more answers a twin, counted by their first line"
BLIND_NAMES = " Names hidden until the reveal."
NOTE = "Lens not shown: {why}"
GATED = (
    "this channel's safety mode is `{mode}`, and the lens shows model text no safety check "
    "has read, so it runs only where the mode is `off`."
)
OPENAI_PAIR = (
    "`{pair}` is served by an OpenAI-compatible server, and twinbot reads next-token "
    "probabilities from Ollama only so far. Choose an Ollama pair to see the lens."
)
BLIND_SHIFT = (
    "the token shift scores the instruct twin's answer, which would tell who is who; it runs "
    "on comparisons that are not blind."
)
NO_ANSWER = "the instruct twin gave no complete answer to score."
CLI_HINT = "the first position (no --at or --after) works with any template."
CHAT_HINT = "the odds view works with any template."
TIMED_OUT = "the model server did not give what the lens needs within {seconds:g} s."
INTERNAL = "twinbot hit an internal error; the operator log has the details."
KINDS = {NextTokenView: NEXT_TOKEN, ShiftView: TOKEN_SHIFT, SamplesView: SAMPLES}


class LensStep:
    """One comparison's lens: measured inside its place, shown after the outputs."""

    def __init__(
        self, runtime: Runtime, request: CompareRequest, ask: LensAsk, mode: SafetyMode, where: str
    ) -> None:
        self._runtime = runtime
        self._request = request
        self._ask = ask
        self._where = where
        self._task: asyncio.Task[LensView] | None = None
        self._release: Callable[[], None] | None = None  # the place, kept for the shift
        self._note: str | None = None  # why the shift found nothing to score
        self._skip: str | None = None  # why it does not run at all
        if mode is not SafetyMode.OFF:
            self._skip = GATED.format(mode=mode.value)
        elif ask.kind is LensKind.ODDS and request.pair.backend is not BackendKind.OLLAMA:
            self._skip = OPENAI_PAIR.format(pair=request.pair.name)
        elif ask.kind is LensKind.SHIFT and request.blind:
            self._skip = BLIND_SHIFT

    @property
    def _timeout(self) -> float:
        settings = self._runtime.settings
        return settings.first_token_timeout if self._ask.kind is LensKind.ODDS else (
            settings.total_timeout
        )  # fmt: skip

    def on_generated(self, release: Callable[[], None]) -> Callable[[], None]:
        """The comparison's `on_generated`: start the lens, which gives the place back once
        it is done (at once when the lens does not run)."""
        if self._skip is not None:
            return release
        runtime, request = self._runtime, self._request
        if self._ask.kind is LensKind.SHIFT:  # waits for the final answer (`watching`)

            def keep() -> None:
                self._release = release

            return keep
        if self._ask.kind is LensKind.SAMPLES:
            count = self._ask.samples
            measure: Callable[[], Awaitable[LensView]] = lambda: measure_samples(  # noqa: E731
                runtime.backend, request, count, parallel=1
            )
        else:
            measure = lambda: measure_next_token(runtime.backend, request, LENS_TOP_K)  # noqa: E731

        def start() -> None:
            self._task = asyncio.create_task(self._measure(measure, release), name="lens")

        return start

    def watching(self, view: CompareView) -> CompareView:
        """The view the comparison runs through: for the shift, one that starts it with the
        final snapshot before showing it."""
        if self._ask.kind is not LensKind.SHIFT or self._skip is not None:
            return view
        return _FinalWatch(view, self._start_shift)

    async def _measure(
        self, measure: Callable[[], Awaitable[LensView]], release: Callable[[], None]
    ) -> LensView:
        try:
            async with asyncio.timeout(self._timeout):
                return await measure()
        finally:
            release()

    def cancel(self) -> None:
        """The comparison was stopped: so is the lens (its place is given back)."""
        if self._release is not None:
            self._release()
        task = self._task
        if task is None:
            return
        if task.done() and not task.cancelled():
            task.exception()  # retrieved: a failure nobody will show is not an asyncio error
        task.cancel()

    async def deliver(self, final: CompareSnapshot, journal: Journal, surface: ChatSurface) -> None:
        """Store and show the lens, or say in the thread why there is none."""
        shown = await self._shown(final, journal)
        if shown is not None:
            await surface.show_lens(shown)
        # The view's row lands before the comparison counts as ended (a shutdown waits for
        # it); a locked database delays only this, for a while.
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(STORE_WAIT):
                await journal.settle()

    def _start_shift(self, final: CompareSnapshot) -> None:
        """Start scoring the final instruct answer, inside the kept place (or say why not)."""
        release, self._release = self._release, None
        if release is None:
            return  # the models never finished
        answer = final.instruct
        if answer.status is not SideStatus.DONE or not answer.text.strip():
            release()
            self._note = NO_ANSWER
            return
        runtime, request = self._runtime, self._request
        measure = lambda: measure_shift(  # noqa: E731
            runtime.backend, request, answer.text, SHIFT_CHAT_TOKENS
        )
        self._task = asyncio.create_task(self._measure(measure, release), name="lens shift")

    async def _shown(self, final: CompareSnapshot, journal: Journal) -> LensShown | None:
        why = self._skip if self._skip is not None else self._note
        if why is not None:
            log.info("comparison #%d: lens skipped: %s", final.comparison_id, why)
            return LensShown(NOTE.format(why=why))
        if self._task is None:
            return None  # the models never finished: nothing to look at
        try:
            view = await self._task
        except TimeoutError:
            why = TIMED_OUT.format(seconds=self._timeout)
        except BackendError as exc:  # LensUnsupported among them: the server's own reason
            # The terminal's options mean nothing in a chat: name the chat's view instead.
            why = redact(str(exc), self._request).replace(CLI_HINT, CHAT_HINT)
            self._runtime.metrics.errors.labels(exc.kind).inc()
        except Exception:
            log.exception("comparison #%d: the lens failed %s", final.comparison_id, self._where)
            why = INTERNAL
        else:
            return await self._record(final, journal, view)
        log.warning("comparison #%d: lens not shown %s: %s", final.comparison_id, self._where, why)
        return LensShown(NOTE.format(why=why))

    async def _record(self, final: CompareSnapshot, journal: Journal, view: LensView) -> LensShown:
        store, payload, kind = self._runtime.store, view.payload(), KINDS[type(view)]

        async def write(comparison_id: int) -> None:
            await store.add_lens_view(
                comparison_id, kind, payload, requests=view.requests, seconds=view.seconds
            )

        journal.write(f"the lens ({kind})", write)
        log.info(
            "comparison #%d: lens %s %d requests in %.2f s",
            final.comparison_id,
            kind,
            view.requests,
            view.seconds or 0.0,
        )
        return await draw(view, self._request)


class _FinalWatch:
    """A comparison's view, passed through, that hands the final snapshot on first."""

    def __init__(self, inner: CompareView, on_final: Callable[[CompareSnapshot], None]) -> None:
        self._inner = inner
        self._on_final = on_final

    @property
    def update_interval(self) -> float:
        return self._inner.update_interval

    async def start(self, snapshot: CompareSnapshot) -> None:
        await self._inner.start(snapshot)

    async def update(self, snapshot: CompareSnapshot) -> None:
        await self._inner.update(snapshot)

    async def finish(self, snapshot: CompareSnapshot) -> None:
        self._on_final(snapshot)
        await self._inner.finish(snapshot)


async def draw(view: LensView, request: CompareRequest) -> LensShown:
    """The view as a surface shows it; without a picture if drawing fails (the text stays)."""
    blind = BLIND_NAMES if request.blind else ""
    if isinstance(view, NextTokenView):
        panels = lens_panels(view.sides, request)
        headline = f"{HEADLINE} (top {view.top_k}).{blind}"
        table, alt, filename = lens_table(panels), lens_alt(panels), "twinbot-lens.png"
        picture: Callable[[], bytes] = lambda: lens_png(panels, headline)  # noqa: E731
    elif isinstance(view, ShiftView):
        report = view.report
        headline = f"{SHIFT_HEADLINE}."
        table, alt, filename = shift_table(report), shift_alt(report), "twinbot-shift.png"
        picture = lambda: shift_png(report, headline)  # noqa: E731
    else:
        sample_panels = samples_panels(view.run, request)
        headline = SAMPLES_HEADLINE.format(count=len(view.run.seeds)) + f".{blind}"
        table = samples_table(sample_panels, view.run)
        alt, filename = samples_alt(sample_panels), "twinbot-samples.png"
        picture = lambda: samples_png(sample_panels, headline)  # noqa: E731
    try:
        png: bytes | None = await asyncio.to_thread(picture)
    except Exception:
        log.exception("the lens picture could not be drawn; the text is shown instead")
        png = None
    return LensShown(headline, table, png, alt, filename)
