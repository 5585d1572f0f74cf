"""Run both sides of a comparison at once, feed a view through the throttle, keep every result."""

from __future__ import annotations

import asyncio
import contextlib
import logging
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
from bot.store.sqlite import Store, StoreError
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


class CompareService:
    def __init__(self, backend: Backend, store: Store, metrics: Metrics | None = None) -> None:
        self._backend = backend
        self._store = store
        self._metrics = metrics
        self.last_lag: LagStats | None = None

    async def run(self, request: CompareRequest, view: CompareView) -> CompareSnapshot:
        comparison_id = await self._store.create_comparison(request)
        states = {role: SideState(role, request.pair.tag(role)) for role in Role}
        notices: list[str] = []

        def snapshot() -> CompareSnapshot:
            return CompareSnapshot(
                comparison_id,
                request,
                snapshot_of(states[Role.BASE]),
                snapshot_of(states[Role.INSTRUCT]),
                notice=notices[0] if notices else None,
            )

        throttle = Throttle(view.update_interval)
        self.last_lag = throttle.lag
        sides: list[asyncio.Task[None]] = []
        try:
            await view.start(snapshot())
            renders = asyncio.create_task(throttle.run(lambda: view.update(snapshot())))
            try:
                sides = [
                    asyncio.create_task(
                        self._run_side(comparison_id, request, state, throttle, notices)
                    )
                    for state in states.values()
                ]
                await asyncio.gather(*sides)
            finally:
                renders.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await renders
        except BaseException:
            # Cancelled (Ctrl-C, shutdown) or the view could not start: keep what exists.
            await self._cancel_sides(sides)
            await self._close(comparison_id, "interrupted", snapshot(), view)
            raise
        final = snapshot()
        await self._close(comparison_id, "done", final, view)
        return final

    async def _run_side(
        self,
        comparison_id: int,
        request: CompareRequest,
        state: SideState,
        throttle: Throttle,
        notices: list[str],
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
                comparison_id,
                state.role,
                state.model,
                exc,
            )
        except asyncio.CancelledError:
            state.status, state.error_kind = SideStatus.CANCELLED, "cancelled"
            state.error = "Stopped before the model finished."
            raise
        except Exception as exc:
            state.status, state.error_kind = SideStatus.FAILED, "internal"
            state.error = (
                "twinbot hit an internal error on this side; the operator log has details."
            )
            log.exception("comparison #%d %s side crashed: %r", comparison_id, state.role, exc)
        finally:
            throttle.poke()
            # Stored as soon as this side ends, so the other side's fate cannot lose it.
            problem = await self._save_output(comparison_id, state)
            if problem and problem not in notices:
                notices.append(problem)

    async def _save_output(self, comparison_id: int, state: SideState) -> str | None:
        """Store one side; on failure, say why in words a user may read."""
        try:
            await asyncio.shield(self._store.save_output(comparison_id, snapshot_of(state)))
        except StoreError as exc:
            log.error(
                "comparison #%d: storing the %s output failed: %s", comparison_id, state.role, exc
            )
            return f"This comparison was not fully saved: {exc}"
        except Exception:
            log.exception("comparison #%d: storing the %s output failed", comparison_id, state.role)
            return "This comparison was not fully saved; the operator log has details."
        return None

    @staticmethod
    async def _cancel_sides(sides: list[asyncio.Task[None]]) -> None:
        for task in sides:
            task.cancel()
        await asyncio.gather(*sides, return_exceptions=True)

    async def _close(
        self, comparison_id: int, status: str, final: CompareSnapshot, view: CompareView
    ) -> None:
        try:
            await asyncio.shield(self._store.finish_comparison(comparison_id, status))
        except Exception:
            log.exception("comparison #%d: marking it %s failed", comparison_id, status)
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
