"""A small write-behind buffer in front of the reaction log: many events, few transactions.

Two ways in. `write` returns once its event is committed, so an adapter that acknowledges
after it never acknowledges an event that is not on disk (Slack). `submit` takes an event at
once and calls back once it is committed: a platform reader that must not stop per event
(Discord's gateway) hands events over in order, with no task per event, and waits in `room`
between events.

Events are written in batches of up to `batch` or after `interval` seconds, whichever comes
first, in one transaction each, in the order they came. The buffer is bounded: with
`capacity` events waiting, `write` waits for room and a reader waits in `room` before it reads
the next event (backpressure), so a burst waits upstream (in the socket) and costs a fixed
amount of memory here. `close` returns once every event received before it (taken, or a
`write` waiting for room) is committed; events that come later are still written, in
batches, and `idle` waits for them too.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Callable

from bot.store.sqlite import ReactionInput, ReactionOutcome, Store, StoreError

log = logging.getLogger(__name__)

BATCH = 256  # events per transaction at most
INTERVAL = 0.02  # seconds the first event of a batch waits for company
CAPACITY = 1024  # events waiting at most; callers past that wait for room
STORE_ATTEMPTS = 4
STORE_BACKOFF = 0.5  # seconds, times the attempt number


class ReactionLost(Exception):
    """The event could not be logged after every attempt (the operator log has it in full)."""


Result = ReactionOutcome | None | ReactionLost
# Called once the event's batch is committed (or given up): with what it did, None if it was
# not on a comparison's message, or ReactionLost.
Done = Callable[[Result], None]


class ReactionWriter:
    def __init__(
        self,
        store: Store,
        *,
        batch: int = BATCH,
        interval: float = INTERVAL,
        capacity: int = CAPACITY,
    ) -> None:
        self._store = store
        self._batch = batch
        self._interval = interval
        self.capacity = capacity
        self._queue: deque[tuple[ReactionInput, Done]] = deque()
        self._arrived = asyncio.Event()  # something new: an event, or the close
        self._waiters: deque[asyncio.Future[None]] = deque()  # callers waiting for room
        self._progress = asyncio.Event()  # a batch was written
        self._task: asyncio.Task[None] | None = None
        self._closed = False
        self._writes: set[asyncio.Future[Result]] = set()  # callers of `write`, not yet done
        self._taken = 0  # events queued so far
        self._written = 0  # of those, committed or given up (in queue order)
        self._pending = 0  # events taken or waiting for room, not yet committed
        self._idle = asyncio.Event()
        self._idle.set()
        self.batches = 0  # transactions written (for the benchmark and the operator)

    def __len__(self) -> int:
        """Events waiting for their batch."""
        return len(self._queue)

    @property
    def waiting_for_room(self) -> int:
        """Callers (readers, writes) waiting in `room`."""
        return len(self._waiters)

    async def room(self) -> None:
        """Until fewer than `capacity` events wait: a reader calls it before it reads the
        next event, so a burst waits in the socket instead of in memory. Callers get room in
        the order they asked, woken one per free place (not all at every batch). Once
        closing, no wait: what already reached the socket is read and logged before it
        closes (a platform that does not send an event again must not lose what it sent)."""
        if self._closed or (len(self._queue) < self.capacity and not self._waiters):
            return
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters.append(waiter)
        try:
            await waiter
        except asyncio.CancelledError:
            if waiter.done() and not waiter.cancelled():
                self._wake()  # woken, then cancelled: its place goes to the next caller
            else:
                self._waiters.remove(waiter)
            raise

    def _wake(self) -> None:
        free = len(self._waiters) if self._closed else self.capacity - len(self._queue)
        while self._waiters and free > 0:
            self._waiters.popleft().set_result(None)
            free -= 1

    async def write(self, reaction: ReactionInput) -> ReactionOutcome | None:
        """Log `reaction`; returns once it is committed. None: not a comparison's message.
        Raises ReactionLost if the store refused it every time."""
        done: asyncio.Future[Result] = asyncio.get_running_loop().create_future()
        self._writes.add(done)
        done.add_done_callback(self._writes.discard)
        self._count()  # while it waits for room too: `idle` waits for it
        try:
            await self.room()  # once closing, a caller waiting comes in: it was received
        except BaseException:
            self._writes.discard(done)
            self._finished(1)
            raise
        self._take(reaction, done.set_result)
        # Shielded: a cancelled caller's event is logged anyway, and its future still set.
        result = await asyncio.shield(done)
        if isinstance(result, ReactionLost):
            raise result
        return result

    def submit(self, reaction: ReactionInput, done: Done) -> None:
        """Take `reaction` now, after those taken before it; `done` is called once it is
        committed. The caller keeps to the bound by waiting in `room` between events."""
        self._count()
        self._take(reaction, done)

    async def idle(self) -> None:
        """Until every event taken so far (or waiting for room) is committed."""
        await self._idle.wait()

    async def close(self) -> None:
        """Until every event taken so far is committed, without waiting for a steady stream
        of later ones: those are written too, in batches, while the store is open."""
        self._closed = True  # no more waiting for company: write what is there
        self._arrived.set()
        self._wake()  # callers waiting for room come in: they were received
        target, writes = self._taken, set(self._writes)
        while self._written < target:
            if self._queue:
                self._start()  # a writer stopped mid-way leaves the rest to a new one
            self._progress.clear()
            await self._progress.wait()
        if writes:
            await asyncio.wait(writes)

    def _count(self) -> None:
        self._pending += 1
        self._idle.clear()

    def _finished(self, count: int) -> None:
        self._pending -= count
        if not self._pending:
            self._idle.set()

    def _take(self, reaction: ReactionInput, done: Done) -> None:
        self._queue.append((reaction, done))
        self._taken += 1
        self._arrived.set()
        self._start()

    def _start(self) -> None:
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(
                self._run(), name="reaction log writer"
            )

    async def _run(self) -> None:
        """Batches until the queue is empty; started again by the next event."""
        loop = asyncio.get_running_loop()
        try:
            while self._queue:
                deadline = loop.time() + self._interval
                while len(self._queue) < self._batch and not self._closed:
                    left = deadline - loop.time()
                    if left <= 0:
                        break
                    self._arrived.clear()
                    try:
                        await asyncio.wait_for(self._arrived.wait(), left)
                    except TimeoutError:
                        break
                count = min(self._batch, len(self._queue))
                items = [self._queue.popleft() for _ in range(count)]
                self._wake()
                try:
                    try:
                        results = await self._write_batch([reaction for reaction, _ in items])
                    except asyncio.CancelledError:
                        # Stopped mid-batch (a forced shutdown): its callers hear it was not
                        # logged rather than wait forever (on Slack: answered 500, sent again).
                        for _, done in items:
                            _call(done, ReactionLost("the reaction log writer was stopped"))
                        raise
                    for (_, done), result in zip(items, results, strict=True):
                        _call(done, result)
                finally:
                    self._written += count
                    self._progress.set()
                    self._finished(count)
        finally:
            self._task = None

    async def _write_batch(self, reactions: list[ReactionInput]) -> list[Result]:
        """One transaction; a locked database gets a few more chances. A batch that fails
        otherwise is written one event at a time, so one bad event costs only itself."""
        for attempt in range(1, STORE_ATTEMPTS + 1):
            try:
                outcomes = await self._store.record_reactions(reactions)
                self.batches += 1
                return list(outcomes)
            except StoreError as exc:
                if attempt < STORE_ATTEMPTS:
                    await asyncio.sleep(STORE_BACKOFF * attempt)
                    continue
                for reaction in reactions:
                    log.error("a reaction was NOT logged (%s): %s", describe(reaction), exc)
                return [ReactionLost(str(exc)) for _ in reactions]
            except Exception:
                if len(reactions) == 1:
                    log.exception("a reaction was NOT logged (%s)", describe(reactions[0]))
                    return [ReactionLost("unexpected failure")]
                break
        results: list[Result] = []
        for reaction in reactions:
            results.extend(await self._write_batch([reaction]))
        return results


def _call(done: Done, result: Result) -> None:
    try:
        done(result)
    except Exception:
        log.exception("handling a logged reaction failed")


def describe(reaction: ReactionInput) -> str:
    """The event for the operator's log (no user id: those stay hashed)."""
    action = "add" if reaction.added else "remove"
    return (
        f"{reaction.platform} {action} {reaction.emoji!r} on message {reaction.message_id} "
        f"in channel {reaction.channel_id} at {reaction.occurred_at}"
    )
