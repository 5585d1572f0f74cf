"""`/compare` in a chat, from admission to the last edit, for every platform.

`compare` decides at once (no I/O but the channel's safety mode, bounded) and acknowledges;
the comparison then runs as a background task: wait for the place already taken, run both
sides through the channel's safety gate, deliver the final text (retried while the platform
fails transiently), seed the vote reactions, and arm the blind reveal. Shutdown drains:
nothing new is taken, waiting comparisons end with a line saying so, running ones get the
grace to finish and are then stopped, each still showing an honest final state.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
from collections.abc import Collection
from datetime import UTC, datetime
from functools import partial

from bot.chat.admission import Admission, Admitted, Refusal
from bot.chat.command import ChatCommand, Parent
from bot.chat.keeper import Intake, TaskKeeper
from bot.chat.lens_step import LensStep
from bot.chat.limits import RateLimiter, limiter_from_settings
from bot.chat.queue import Place
from bot.chat.reveal import Revealer
from bot.chat.safety_mode import channel_mode
from bot.chat.surface import ChatSurface, NotDelivered, RevealAnnouncer, ShowFailed
from bot.chat.vote_service import VoteService
from bot.domain import CompareSnapshot, Role, SafetyMode
from bot.engine.compare import CompareView
from bot.engine.demos import Demo, load_demos
from bot.errors import PromptsError
from bot.runtime import Runtime
from bot.safety.gate import GatedView
from bot.store.journal import Journal
from bot.store.sqlite import Store

log = logging.getLogger(__name__)

NOT_STARTED = "⏹️ twinbot restarted before this comparison's turn, so it did not run."
INTERNAL_ERROR = "twinbot hit an internal error; the operator log has the details."
SETTLE = 5.0  # seconds the last parent edit may take after a comparison ends
FINAL_BACKOFF = (1.0, 2.0, 4.0, 8.0, 15.0, 30.0)  # seconds between final-text attempts
FINAL_PATIENCE = 600.0  # while not shutting down, how long a final text is retried
SEED_WAIT = 10.0  # seconds the vote choices wait for their messages to be stored


def load_demos_or_error(runtime: Runtime) -> dict[str, Demo] | PromptsError:
    """Read once at start-up; a broken demos file costs the demos, not comparisons."""
    try:
        return load_demos(runtime.settings.prompts_dir, runtime.catalog)
    except PromptsError as exc:
        log.error("demos unavailable: %s", exc)
        return exc


class ChatService:
    def __init__(
        self,
        runtime: Runtime,
        platform: str,
        announcer: RevealAnnouncer,
        *,
        allowed_channels: Collection[str] = (),
        limiter: RateLimiter | None = None,
        cleanup: float = 5.0,
    ) -> None:
        settings = runtime.settings
        self.runtime = runtime
        self.platform = platform
        self.keeper = TaskKeeper()  # every comparison after its acknowledgement
        self.intake = Intake()
        self.limiter = limiter or limiter_from_settings(settings)
        self.demos = load_demos_or_error(runtime)
        self.revealer = Revealer(runtime.store, announcer, platform, settings.blind_reveal_after)
        self.votes = VoteService(runtime.store, self.revealer, runtime.metrics)
        self._admission = Admission(
            settings, runtime.catalog, self.limiter, runtime.queue, self.intake, self.demos,
            allowed_channels,
        )  # fmt: skip
        self._cleanup = cleanup  # seconds a stopped comparison gets to show its final state
        self._lifetime = runtime.service.lifetime  # shared with the store's retries

    async def start(self) -> None:
        """Once connected: re-arm the blind reveal timers a restart would otherwise lose."""
        await self.revealer.rearm()

    async def compare(self, command: ChatCommand, surface: ChatSurface) -> bool:
        """Admit or refuse `command`, acknowledge, and run it in the background. True if it
        was admitted (then it always ends in a final state on the surface)."""
        run = _Run(self, command, surface)
        outcome = self._admission.admit(command, run.on_position)
        if isinstance(outcome, Refusal):
            self.runtime.metrics.errors.labels(f"refused_{outcome.reason}").inc()
            log.info("refused %s: %s: %s", command.context(), outcome.reason, outcome.message)
            await surface.refuse(outcome.message)
            return False
        store, settings = self.runtime.store, self.runtime.settings
        mode, _ = await channel_mode(
            store, settings, self.platform, command.home, nsfw=command.nsfw
        )
        parent = Parent(outcome.request, outcome.demo, mode, queued=outcome.place.waiting)
        try:
            await run.acknowledge(parent)
        except BaseException as exc:
            outcome.place.release()  # not shown, so not run: its place goes to the next one
            if not isinstance(exc, Exception):
                raise
            log.error("could not acknowledge %s: %r", command.context(), exc)
            return False
        task = self.keeper.spawn(run.run(outcome), name=f"compare {command.context()}")
        task.add_done_callback(partial(run.on_done, outcome.place))
        return True

    def final_deadline(self) -> float:
        """Until when a final text is retried: the shutdown's end, else a generous while."""
        return self._lifetime.deadline(FINAL_PATIENCE)

    def gate(self, view: CompareView, mode: SafetyMode) -> CompareView:
        if mode is SafetyMode.OFF:
            return view
        return GatedView(view, self.runtime.guard, mode, self.runtime.settings.guard_chunk_chars)

    async def drain(self, grace: float) -> None:
        """Take no new commands; comparisons still waiting never start; running ones get
        `grace` seconds, then are stopped (each shows and stores what it has)."""
        self._lifetime.stop_by(asyncio.get_running_loop().time() + grace + self._cleanup)
        dropped = self.intake.close()
        log.info(
            "draining: %d comparison(s) running get %g s to finish; %d waiting dropped",
            len(self.keeper) - dropped,
            grace,
            dropped,
        )
        await self.keeper.close(grace, self._cleanup)

    async def close(self) -> None:
        """Whatever `drain` left is stopped at once; then the reveal timers."""
        self._lifetime.stop_by(asyncio.get_running_loop().time() + self._cleanup)
        self.intake.close()
        await self.keeper.close(0.0, self._cleanup)
        await self.votes.close(self._cleanup)  # every reaction received is logged first
        await self.revealer.close()


class _Run:
    """One admitted comparison: its parent's state, and its life after the acknowledgement."""

    def __init__(self, service: ChatService, command: ChatCommand, surface: ChatSurface) -> None:
        self._service = service
        self._command = command
        self._surface = surface
        self._parent: Parent | None = None
        self._acknowledged = False
        self._started = False
        self._ahead: int | None = None  # a place the queue told before the acknowledgement
        self._began = False  # `run` got to its first line (a task cancelled before never does)

    def _show(self, parent: Parent) -> None:
        self._parent = parent
        if self._acknowledged:
            self._surface.show_parent(parent)

    async def on_position(self, ahead: int) -> None:
        """The queue's callback (from a task of its own, maybe after the start: then stale)."""
        self._ahead = ahead
        if self._parent is not None and not self._started and self._parent.outcome is None:
            self._show(self._parent.waiting(ahead))

    async def acknowledge(self, parent: Parent) -> None:
        if parent.queued and self._ahead is not None:
            parent = parent.waiting(self._ahead)
        self._parent = parent
        await self._surface.acknowledge(parent)
        self._acknowledged = True
        if self._parent != parent:  # the place moved while the platform answered
            self._surface.show_parent(self._parent)

    def on_done(self, place: Place, task: asyncio.Task[None]) -> None:
        """Stopped before `run` began (a shutdown right after the ack): it still says so, and
        its place in the queue is given back."""
        if task.cancelled() and not self._began:
            place.release()
            if self._parent is not None:
                self._show(self._parent.ended(NOT_STARTED))

    async def run(self, admitted: Admitted) -> None:
        self._began = True
        service, surface = self._service, self._surface
        where = self._command.context()
        try:
            with service.intake.waiting_for_a_place():
                await admitted.place.__aenter__()
            try:
                self._started = True
                assert self._parent is not None
                self._show(self._parent.started())
                await self._compare(admitted)
            finally:
                admitted.place.release()
        except asyncio.CancelledError:
            if not self._started and self._parent is not None:
                self._show(self._parent.ended(NOT_STARTED))
            await surface.settle(2.0)  # the last word, while the platform is still up
            raise
        except ShowFailed as exc:
            log.warning("comparison for %s could not be shown: %s", where, exc)
            service.runtime.metrics.errors.labels("not_shown").inc()
        except Exception:
            log.exception("comparison for %s could not run", where)
            service.runtime.metrics.errors.labels("internal").inc()
            await surface.tell(INTERNAL_ERROR)
        await surface.settle(SETTLE)

    async def _compare(self, admitted: Admitted) -> None:
        service, surface = self._service, self._surface
        assert self._parent is not None
        compare = service.runtime.service
        journal = compare.journal(admitted.request)
        book = StoreBook(journal, service.runtime.store, service.platform)
        view = _Delivering(surface, surface.output_view(self._parent, book), service, journal)
        created = datetime.now(UTC)
        lens = None
        on_generated = admitted.place.release
        if self._command.lens is not None:
            where = self._command.context()
            lens = LensStep(
                service.runtime, admitted.request, self._command.lens, self._parent.mode, where
            )
            on_generated = lens.on_generated(admitted.place.release)
        try:
            # The place is the model server's: it is given back once both models are done (and
            # the lens, if asked for), not when the last edit lands (Slack's final edits may
            # wait for Tier 3 slots).
            shown = service.gate(view, self._parent.mode)
            final = await compare.run(
                admitted.request,
                lens.watching(shown) if lens is not None else shown,
                journal,
                on_generated=on_generated,
            )
        except BaseException:
            if lens is not None:
                lens.cancel()
            raise
        finally:
            if view.seeding is not None:  # the choices, while the outputs stream
                await asyncio.gather(view.seeding, return_exceptions=True)
        if lens is not None:
            await lens.deliver(final, journal, surface)
        if final.prompt_safety is not None or final.notice:
            self._show(_with_final(self._parent, final))
        if admitted.request.blind and final.comparison_id:
            service.revealer.reveal_at(final.comparison_id, created)


def _with_final(parent: Parent, final: CompareSnapshot) -> Parent:
    return dataclasses.replace(parent, prompt=final.prompt_safety, notice=final.notice)


class StoreBook:
    """The core's `MessageBook`: a view's messages and thread, written through the
    comparison's journal (so they wait for the comparison's id, and a locked database)."""

    def __init__(self, journal: Journal, store: Store, platform: str) -> None:
        self._journal = journal
        self._store = store
        self._platform = platform

    async def message(
        self, channel_id: str, message_id: str, role: Role | None, part: int, kind: str
    ) -> None:
        write = partial(
            self._add_message, channel_id=channel_id, message_id=message_id,
            role=role, part=part, kind=kind,
        )  # fmt: skip
        self._journal.write(f"message {message_id}", write)

    async def thread(self, thread_id: str) -> None:
        self._journal.write(
            f"thread {thread_id}", partial(self._store.set_thread, thread_id=thread_id)
        )

    async def _add_message(
        self, comparison_id: int, *, channel_id: str, message_id: str, role: Role | None,
        part: int, kind: str,
    ) -> None:  # fmt: skip
        await self._store.add_message(
            comparison_id, self._platform, channel_id, message_id, role=role, part=part, kind=kind
        )


class _Delivering:
    """The surface's view as the core runs it: the vote choices are seeded once the outputs are
    up, and the final text is tried again (with backoff) while the platform fails transiently."""

    def __init__(
        self, surface: ChatSurface, inner: CompareView, service: ChatService, journal: Journal
    ) -> None:
        self._surface = surface
        self._inner = inner
        self._service = service
        self._journal = journal
        self.seeding: asyncio.Task[None] | None = None

    @property
    def update_interval(self) -> float:
        return self._inner.update_interval

    async def start(self, snapshot: CompareSnapshot) -> None:
        await self._inner.start(snapshot)
        self.seeding = asyncio.create_task(self._seed(), name="seed the votes")

    async def _seed(self) -> None:
        # The messages first, so a reaction on them maps to the comparison (a locked
        # database delays the choices, not the comparison).
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(SEED_WAIT):
                await self._journal.settle()
        await self._surface.seed_votes()

    async def update(self, snapshot: CompareSnapshot) -> None:
        await self._inner.update(snapshot)

    async def finish(self, snapshot: CompareSnapshot) -> None:
        self._record_safety(snapshot)
        deadline = self._service.final_deadline()
        loop = asyncio.get_running_loop()
        attempt = 0
        while True:
            attempt += 1
            try:
                await self._inner.finish(snapshot)
                return
            except NotDelivered as exc:
                pause = FINAL_BACKOFF[min(attempt, len(FINAL_BACKOFF)) - 1]
                if loop.time() + pause > deadline:
                    log.error(
                        "comparison #%d: the final text was not delivered after %d attempts: %s",
                        snapshot.comparison_id,
                        attempt,
                        exc,
                    )
                    raise
                log.warning(
                    "comparison #%d: final text not delivered (%s); again in %g s",
                    snapshot.comparison_id,
                    exc,
                    pause,
                )
                await asyncio.sleep(pause)

    def _record_safety(self, snapshot: CompareSnapshot) -> None:
        """The gate's verdict on each side, as shown: an export leaves out withheld text."""
        store = self._service.runtime.store
        for side in snapshot.sides:
            if side.safety is not None:
                self._journal.write(
                    f"the {side.role} safety verdict",
                    partial(store.save_safety, role=side.role, note=side.safety),
                )
