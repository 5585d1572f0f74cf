"""The lens as an option of `/compare`: both twins' next-token probabilities, after the outputs.

It runs inside the comparison's place in the queue: once both models are done, two one-token
requests (one a side, at once) ask for the top-k first tokens, and only then is the place given
back, so the lens never adds load the queue did not admit. The final text is shown meanwhile.
The view is stored with the comparison (through its journal, so a locked database delays it
like any write), then drawn (off the event loop) and handed to the surface. Whatever goes wrong
(a pair or server without logprobs, a timeout, a failure) is a short note in the thread and a
log line: the comparison itself is already complete.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable

from bot.chat.surface import ChatSurface, LensShown
from bot.domain import BackendKind, CompareRequest, CompareSnapshot, SafetyMode
from bot.engine.lens_record import NEXT_TOKEN, NextTokenView, measure_next_token
from bot.errors import BackendError
from bot.runtime import Runtime
from bot.store.journal import Journal
from bot.text.lens_picture import lens_alt, lens_panels, lens_png, lens_table
from bot.text.render import redact

log = logging.getLogger(__name__)

LENS_TOP_K = 10  # bars that still read on a phone
STORE_WAIT = 10.0  # seconds the comparison waits for its lens to be stored
HEADLINE = "Lens: where each twin puts its probability for the first token of its answer"
BLIND_NAMES = " Names hidden until the reveal."
NOTE = "Lens not shown: {why}"
GATED = (
    "this channel's safety mode is `{mode}`, and single tokens pass no safety check, so the "
    "lens runs only where the mode is `off`."
)
OPENAI_PAIR = (
    "`{pair}` is served by an OpenAI-compatible server, and twinbot reads next-token "
    "probabilities from Ollama only so far. Choose an Ollama pair to see the lens."
)
TIMED_OUT = "the model server did not give the probabilities within {seconds:g} s."
INTERNAL = "twinbot hit an internal error; the operator log has the details."


class LensStep:
    """One comparison's lens: started when both models are done, shown after the outputs."""

    def __init__(
        self, runtime: Runtime, request: CompareRequest, mode: SafetyMode, where: str
    ) -> None:
        self._runtime = runtime
        self._request = request
        self._where = where
        self._task: asyncio.Task[NextTokenView] | None = None
        self._skip: str | None = None  # why it does not run at all
        if mode is not SafetyMode.OFF:
            self._skip = GATED.format(mode=mode.value)
        elif request.pair.backend is not BackendKind.OLLAMA:
            self._skip = OPENAI_PAIR.format(pair=request.pair.name)

    def on_generated(self, release: Callable[[], None]) -> Callable[[], None]:
        """The comparison's `on_generated`: start the lens, which gives the place back once
        it is done (at once when the lens does not run)."""
        if self._skip is not None:
            return release

        def start() -> None:
            self._task = asyncio.create_task(self._measure(release), name="lens")

        return start

    async def _measure(self, release: Callable[[], None]) -> NextTokenView:
        timeout = self._runtime.settings.first_token_timeout
        try:
            async with asyncio.timeout(timeout):
                return await measure_next_token(self._runtime.backend, self._request, LENS_TOP_K)
        finally:
            release()

    def cancel(self) -> None:
        """The comparison was stopped: so is the lens (its place is given back)."""
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

    async def _shown(self, final: CompareSnapshot, journal: Journal) -> LensShown | None:
        if self._skip is not None:
            log.info("comparison #%d: lens skipped: %s", final.comparison_id, self._skip)
            return LensShown(NOTE.format(why=self._skip))
        if self._task is None:
            return None  # the models never finished: nothing to look at
        timeout = self._runtime.settings.first_token_timeout
        try:
            view = await self._task
        except TimeoutError:
            why = TIMED_OUT.format(seconds=timeout)
        except BackendError as exc:  # LensUnsupported among them: the server's own reason
            why = redact(str(exc), self._request)
            self._runtime.metrics.errors.labels(exc.kind).inc()
        except Exception:
            log.exception("comparison #%d: the lens failed %s", final.comparison_id, self._where)
            why = INTERNAL
        else:
            return await self._record(final, journal, view)
        log.warning("comparison #%d: lens not shown %s: %s", final.comparison_id, self._where, why)
        return LensShown(NOTE.format(why=why))

    async def _record(
        self, final: CompareSnapshot, journal: Journal, view: NextTokenView
    ) -> LensShown:
        store, payload = self._runtime.store, view.payload()

        async def write(comparison_id: int) -> None:
            await store.add_lens_view(
                comparison_id, NEXT_TOKEN, payload, requests=view.requests, seconds=view.seconds
            )

        journal.write("the lens", write)
        log.info(
            "comparison #%d: lens %d requests in %.2f s",
            final.comparison_id,
            view.requests,
            view.seconds or 0.0,
        )
        return await draw(view, self._request)


async def draw(view: NextTokenView, request: CompareRequest) -> LensShown:
    """The view as a surface shows it; without a picture if drawing fails (the text stays)."""
    panels = lens_panels(view.sides, request)
    headline = f"{HEADLINE} (top {view.top_k})." + (BLIND_NAMES if request.blind else "")
    try:
        png: bytes | None = await asyncio.to_thread(lens_png, panels, headline)
    except Exception:
        log.exception("the lens picture could not be drawn; the text is shown instead")
        png = None
    return LensShown(headline, lens_table(panels), png, lens_alt(panels))
