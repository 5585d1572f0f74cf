"""A reaction on a comparison's message becomes a logged vote, the same way on every platform.

The adapter says what happened (`ReactionEvent`, with whether the reactor is a bot, which only
the platform knows); the store keeps the append-only reaction log and derives the vote. Events
go through a bounded write-behind buffer (`ReactionWriter`): written in batches, one
transaction each. `on_reaction` returns only once its event is committed, so an adapter
acknowledges nothing that is not on disk (Slack); `accept` takes an event without waiting, for
a reader that waits in `room` between events instead (Discord's gateway: no task per event,
memory bounded by the buffer). A locked database gets a few more chances before the event is
given up (and logged in full, so an operator can replay it). The first vote on a blind
comparison reveals the names, in the background. `close` (at shutdown) logs everything
received.
"""

from __future__ import annotations

import dataclasses
import logging
from datetime import UTC, datetime

from bot.chat.keeper import TaskKeeper
from bot.chat.reaction_writer import ReactionLost, ReactionWriter
from bot.chat.reveal import AFTER_VOTE, Revealer
from bot.ops.metrics import Metrics
from bot.store.sqlite import ReactionInput, ReactionOutcome, Store

log = logging.getLogger(__name__)


# What an adapter hands over is what the log takes: the platform's ids, the emoji as the
# platform names it (the adapters' vocabularies say what it means), added or removed, and
# whether the reactor is a bot (only the platform knows).
ReactionEvent = ReactionInput


class VoteService:
    """Reaction events into the log, in batches, before the adapter acknowledges them."""

    def __init__(
        self,
        store: Store,
        revealer: Revealer,
        metrics: Metrics | None = None,
        writer: ReactionWriter | None = None,
    ) -> None:
        self._store = store
        self._revealer = revealer
        self._metrics = metrics
        self.writer = writer if writer is not None else ReactionWriter(store)
        self._reveals = TaskKeeper()  # a reveal posts a message: never before an ack

    async def is_ours(self, event: ReactionEvent) -> bool:
        """Whether the message belongs to a comparison (to skip platform look-ups otherwise)."""
        ref = await self._store.message_ref(event.platform, event.channel_id, event.message_id)
        return ref is not None

    async def on_reaction(self, event: ReactionEvent) -> ReactionOutcome | None:
        """Log the reaction and update the vote; returns once both are committed (so the
        adapter may acknowledge the event then). None if not a comparison's message. Raises
        ReactionLost if it could not be logged (logged in full for the operator), so the
        adapter can leave it unacknowledged for the platform to send again. A first vote on a
        blind comparison starts its reveal in the background."""
        event = _stamped(event)
        try:
            outcome = await self.writer.write(event)
        except ReactionLost:
            self._lost()
            raise
        self._logged(outcome, event)
        return outcome

    def accept(self, event: ReactionEvent) -> None:
        """Take the reaction now, without waiting: it is logged in its batch, in the order
        taken, and its vote updated then. For a platform reader that must not stop per event;
        it waits in `room` before it reads the next one."""
        event = _stamped(event)

        def done(result: ReactionOutcome | ReactionLost | None) -> None:
            if isinstance(result, ReactionLost):
                self._lost()
            else:
                self._logged(result, event)

        self.writer.submit(event, done)

    async def mark_bot(self, platform: str, user_id: str) -> None:
        """A reactor found to be a bot after its reactions were logged: they stop counting
        (the votes they made are derived again)."""
        marked = await self._store.mark_bot(platform, user_id)
        if marked:
            log.info(
                "%d reaction(s) of a %s user found to be a bot no longer count", marked, platform
            )

    async def room(self) -> None:
        """Until the buffer has room for another event (backpressure for a reader)."""
        await self.writer.room()

    def _lost(self) -> None:
        # The writer has logged the event in full, for the operator to replay it.
        if self._metrics is not None:
            self._metrics.errors.labels("reaction_lost").inc()

    def _logged(self, outcome: ReactionOutcome | None, event: ReactionEvent) -> None:
        if outcome is None:
            return
        if outcome.changed:
            choice = outcome.vote.choice.value if outcome.vote else "retracted"
            if self._metrics is not None:
                self._metrics.votes.labels(choice).inc()
            log.info(
                "comparison #%d: a %s's vote is now %s",
                outcome.comparison_id,
                "requester" if outcome.by_requester else "user",
                choice,
            )
        if outcome.vote is not None and not event.by_bot:
            self._reveals.spawn(
                self._reveal(outcome.comparison_id), name=f"reveal #{outcome.comparison_id}"
            )

    async def _reveal(self, comparison_id: int) -> None:
        await self._revealer.reveal(comparison_id, AFTER_VOTE)

    async def settled(self) -> None:
        """Until every reaction received so far is logged and its reveal done (for tests)."""
        await self.writer.idle()
        await self._reveals.wait()

    async def close(self, grace: float = 5.0) -> None:
        """Shutdown: log every reaction received so far, then give started reveals `grace`
        seconds. Reactions arriving after this are still logged while the store is open
        (`settled` waits for them)."""
        await self.writer.close()
        await self._reveals.close(grace)


def _stamped(event: ReactionEvent) -> ReactionEvent:
    """Stamped on arrival, not when its batch is written."""
    if event.occurred_at is not None:
        return event
    return dataclasses.replace(event, occurred_at=datetime.now(UTC))
