"""Run both sides of a comparison at once, feed a view through the throttle, keep every result."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from typing import Protocol

from bot.domain import (
    CompareRequest,
    CompareSnapshot,
    Role,
    SideState,
    SideStatus,
    snapshot_of,
)
from bot.engine.backend import Backend
from bot.engine.throttle import LagStats, Throttle
from bot.errors import BackendError
from bot.ops.metrics import Metrics
from bot.store.journal import Journal, Lifetime
from bot.store.sqlite import Store
from bot.text.render import redact

log = logging.getLogger(__name__)


class CompareView(Protocol):
    """How the core shows a comparison; each adapter (terminal, Discord, Slack) implements it."""

    @property
    def update_interval(self) -> float:
        """Seconds between live updates this view can afford (the platform's edit budget)."""
        ...

    async def start(self, snapshot: CompareSnapshot) -> None:
        """Show the labelled, still empty outputs. Raising here aborts the comparison."""
        ...

    async def update(self, snapshot: CompareSnapshot) -> None:
        """Show the text so far. Called at most once per `update_interval`."""
        ...

    async def finish(self, snapshot: CompareSnapshot) -> None:
        """Show the final text, stats and any side's error. Always called once."""
        ...


class QuietView:
    """A CompareView that shows nothing (reports and benchmarks read the final snapshot)."""

    def __init__(self, update_interval: float = 1.0) -> None:
        self.update_interval = update_interval

    async def start(self, snapshot: CompareSnapshot) -> None:
        return None

    async def update(self, snapshot: CompareSnapshot) -> None:
        return None

    async def finish(self, snapshot: CompareSnapshot) -> None:
        return None


OPEN_WAIT = 2.0  # seconds a comparison waits for the database before it starts unsaved
STOPPED = "Stopped before the model finished."
SETTLE_WAIT = 2.0  # seconds a finished comparison waits for its writes before returning


def not_saved_notice(journal: Journal) -> str | None:
    if not journal.delayed:
        return None
    why = f" ({journal.reason})" if journal.reason else ""
    return (
        f"This comparison is not saved yet{why}: twinbot keeps trying and saves it as soon as "
        "the database answers."
    )


class CompareService:
    def __init__(
        self,
        backend: Backend,
        store: Store,
        metrics: Metrics | None = None,
        lifetime: Lifetime | None = None,
    ) -> None:
        self._backend = backend
        self._store = store
        self._metrics = metrics
        self.lifetime = lifetime or Lifetime()
        self.last_lag: LagStats | None = None
        self._journals: set[Journal] = set()  # still writing after their comparison ended

    def journal(self, request: CompareRequest) -> Journal:
        """Where a comparison's writes go (a chat surface's messages share it)."""
        return Journal(self._store, request, self.lifetime)

    async def settle_writes(self) -> None:
        """Until every comparison's writes landed or were given up (before the store closes)."""
        while self._journals:
            await asyncio.gather(*(journal.settle() for journal in set(self._journals)))

    async def run(
        self,
        request: CompareRequest,
        view: CompareView,
        journal: Journal | None = None,
        on_generated: Callable[[], None] | None = None,
    ) -> CompareSnapshot:
        """Both sides at once through `view`; `on_generated` is called as soon as both models
        are done (the model server is free again while the final text is still shown)."""
        journal = journal or self.journal(request)
        # A locked database delays the record, never the comparison: it starts unsaved.
        await journal.open(OPEN_WAIT)
        states = {role: SideState(role, request.pair.tag(role)) for role in Role}

        def snapshot() -> CompareSnapshot:
            return CompareSnapshot(
                journal.comparison_id,
                request,
                snapshot_of(states[Role.BASE]),
                snapshot_of(states[Role.INSTRUCT]),
                notice=not_saved_notice(journal),
            )

        throttle = Throttle(view.update_interval)
        self.last_lag = throttle.lag
        sides: list[asyncio.Task[None]] = []
        try:
            await view.start(snapshot())
            renders = asyncio.create_task(throttle.run(lambda: view.update(snapshot())))
            try:
                sides = [
                    asyncio.create_task(self._run_side(journal, request, state, throttle))
                    for state in states.values()
                ]
                await asyncio.gather(*sides)
                if on_generated is not None:
                    on_generated()
            finally:
                renders.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await renders
        except BaseException:
            # Cancelled (Ctrl-C, shutdown) or the view could not start: keep what exists.
            await self._cancel_sides(sides)
            for state in states.values():
                if not state.finished:  # stopped before its side even began: say so, keep it
                    state.status, state.error_kind = SideStatus.CANCELLED, "cancelled"
                    state.error = STOPPED
                    self._save(journal, state)
            await self._close(journal, "interrupted", snapshot, view)
            raise
        return await self._close(journal, "done", snapshot, view)

    async def _run_side(
        self, journal: Journal, request: CompareRequest, state: SideState, throttle: Throttle
    ) -> None:
        def on_text(text: str) -> None:
            state.text += text
            throttle.poke()

        state.status = SideStatus.STREAMING
        try:
            state.stats = await self._backend.run_side(state.role, request, on_text)
            state.status = SideStatus.DONE
        except BackendError as exc:
            state.status, state.error_kind = SideStatus.FAILED, exc.kind
            state.error = redact(str(exc), request)  # a blind side's error names no model
            log.warning(
                "comparison #%d %s side (%s) failed: %s",
                journal.comparison_id,
                state.role,
                state.model,
                exc,
            )
        except asyncio.CancelledError:
            state.status, state.error_kind = SideStatus.CANCELLED, "cancelled"
            state.error = STOPPED
            raise
        except Exception as exc:
            state.status, state.error_kind = SideStatus.FAILED, "internal"
            state.error = (
                "twinbot hit an internal error on this side; the operator log has details."
            )
            log.exception(
                "comparison #%d %s side crashed: %r", journal.comparison_id, state.role, exc
            )
        finally:
            throttle.poke()
            # Queued as soon as this side ends, so the other side's fate cannot lose it.
            self._save(journal, state)

    def _save(self, journal: Journal, state: SideState) -> None:
        side = snapshot_of(state)
        journal.write(f"the {state.role} output", lambda cid: self._store.save_output(cid, side))

    @staticmethod
    async def _cancel_sides(sides: list[asyncio.Task[None]]) -> None:
        for task in sides:
            task.cancel()
        await asyncio.gather(*sides, return_exceptions=True)

    async def _close(
        self,
        journal: Journal,
        status: str,
        snapshot: Callable[[], CompareSnapshot],
        view: CompareView,
    ) -> CompareSnapshot:
        journal.write(
            f"its status ({status})", lambda cid: self._store.finish_comparison(cid, status)
        )
        self._journals.add(journal)
        settling = asyncio.ensure_future(journal.settle())
        settling.add_done_callback(lambda _: self._journals.discard(journal))
        # Usually the writes land at once, and the final view says nothing about saving. A
        # locked database keeps them going in the background (`settle_writes` waits for them
        # at shutdown), and the final view says the comparison is not saved yet.
        await asyncio.wait({settling}, timeout=SETTLE_WAIT)
        final = snapshot()
        comparison_id = final.comparison_id
        if self._metrics is not None:
            self._metrics.observe_comparison(final, status)
        try:
            await view.finish(final)
        except Exception:
            log.exception("comparison #%d: showing the final result failed", comparison_id)
        base, instruct = final.base, final.instruct
        log.info(
            "comparison #%d %s pair=%s framing=%s base=%s(%d chars) instruct=%s(%d chars)",
            comparison_id,
            status,
            final.request.pair.name,
            final.request.framing.name,
            base.status,
            len(base.text),
            instruct.status,
            len(instruct.text),
        )
        return final
