"""A small write-behind buffer in front of the reaction log: many events, few transactions.

Each caller waits until its event is committed, so an adapter that acknowledges after
`write` returns never acknowledges an event that is not on disk. Events are written in
batches of up to `batch` or after `interval` seconds, whichever comes first, in one
transaction each. The queue is bounded: past `capacity` waiting events a caller waits for
room (backpressure), so a burst costs a fixed amount of memory in here. `close` writes what
was received; anything arriving later is written on its own, at once.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence

from bot.store.sqlite import ReactionInput, ReactionOutcome, Store, StoreError

log = logging.getLogger(__name__)

BATCH = 256  # events per transaction at most
INTERVAL = 0.02  # seconds the first event of a batch waits for company
CAPACITY = 1024  # events waiting at most; callers past that wait for room
STORE_ATTEMPTS = 4
STORE_BACKOFF = 0.5  # seconds, times the attempt number

_Item = tuple[ReactionInput, "asyncio.Future[ReactionOutcome | None]"]


class ReactionLost(Exception):
    """The event could not be logged after every attempt (the operator log has it in full)."""


_Result = ReactionOutcome | None | ReactionLost


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
        self._queue: asyncio.Queue[_Item] = asyncio.Queue(capacity)
        self._task: asyncio.Task[None] | None = None
        self._closed = False
        self._waiting = 0  # callers in the buffered path: queued, or waiting for room
        self._idle = asyncio.Event()
        self._idle.set()
        self.batches = 0  # transactions written (for the benchmark and the operator)

    def __len__(self) -> int:
        return self._queue.qsize()

    async def write(self, reaction: ReactionInput) -> ReactionOutcome | None:
        """Log `reaction`; returns once it is committed. None: not a comparison's message.
        Raises ReactionLost if the store refused it every time."""
        if self._closed:
            [result] = await self._write_batch([reaction])
            if isinstance(result, ReactionLost):
                raise result
            return result
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="reaction log writer")
        done: asyncio.Future[ReactionOutcome | None] = asyncio.get_running_loop().create_future()
        self._waiting += 1
        self._idle.clear()
        try:
            await self._queue.put((reaction, done))
            return await done
        finally:
            self._waiting -= 1
            if not self._waiting:
                self._idle.set()

    async def idle(self) -> None:
        """Until every event in the buffered path so far is committed."""
        await self._idle.wait()

    async def close(self) -> None:
        """Write everything received so far (also events still waiting for room); events
        arriving from now on are written one by one at once, so a steady stream cannot hold
        the shutdown up."""
        self._closed = True
        if self._task is None:
            return
        await self._idle.wait()
        self._task.cancel()
        await asyncio.gather(self._task, return_exceptions=True)
        self._task = None

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            items = [await self._queue.get()]
            deadline = loop.time() + self._interval
            while len(items) < self._batch:
                while len(items) < self._batch and not self._queue.empty():
                    items.append(self._queue.get_nowait())
                left = deadline - loop.time()
                if len(items) >= self._batch or left <= 0:
                    break
                try:
                    items.append(await asyncio.wait_for(self._queue.get(), left))
                except TimeoutError:
                    break
            try:
                await self._flush(items)
            finally:
                for _ in items:
                    self._queue.task_done()

    async def _flush(self, items: Sequence[_Item]) -> None:
        results = await self._write_batch([reaction for reaction, _ in items])
        for (_, done), result in zip(items, results, strict=True):
            if done.done():  # its caller was cancelled meanwhile; the event is logged anyway
                continue
            if isinstance(result, ReactionLost):
                done.set_exception(result)
            else:
                done.set_result(result)

    async def _write_batch(self, reactions: list[ReactionInput]) -> list[_Result]:
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
        results: list[_Result] = []
        for reaction in reactions:
            results.extend(await self._write_batch([reaction]))
        return results


def describe(reaction: ReactionInput) -> str:
    """The event for the operator's log (no user id: those stay hashed)."""
    action = "add" if reaction.added else "remove"
    return (
        f"{reaction.platform} {action} {reaction.emoji!r} on message {reaction.message_id} "
        f"in channel {reaction.channel_id} at {reaction.occurred_at}"
    )
