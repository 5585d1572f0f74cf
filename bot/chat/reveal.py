"""Blind comparisons name their models once: after the first vote, or when the vote closes.

The close time is `TWINBOT_BLIND_REVEAL_AFTER` after the comparison was created. Timers live in
memory and are re-armed from the store at start-up, so a restart never leaves a comparison
blind for good. The platform only says it (`RevealAnnouncer`); the decision is made here.
"""

from __future__ import annotations

import asyncio
import logging
from collections import OrderedDict
from datetime import UTC, datetime

from bot.chat.keeper import TaskKeeper
from bot.chat.surface import Reveal, RevealAnnouncer
from bot.domain import Role
from bot.store.sqlite import Store

log = logging.getLogger(__name__)

MEMORY = 4096  # comparisons remembered as settled, to skip needless database writes
AFTER_VOTE = "after the first vote"
VOTE_CLOSED = "the vote closed"


class Remembered:
    """A bounded set: the oldest entries are forgotten first."""

    def __init__(self, size: int = MEMORY) -> None:
        self._items: OrderedDict[object, None] = OrderedDict()
        self._size = size

    def __contains__(self, item: object) -> bool:
        return item in self._items

    def add(self, item: object) -> None:
        self._items[item] = None
        self._items.move_to_end(item)
        if len(self._items) > self._size:
            self._items.popitem(last=False)


class Revealer:
    def __init__(
        self, store: Store, announcer: RevealAnnouncer, platform: str, reveal_after: float
    ) -> None:
        self._store = store
        self._announcer = announcer
        self._platform = platform
        self._reveal_after = reveal_after
        self.timers = TaskKeeper()  # close-time reveals: cancelled on close
        self._settled = Remembered()  # revealed already, or never blind

    async def reveal(self, comparison_id: int, why: str) -> bool:
        """Mark the comparison revealed and say so in its thread; False if there was nothing
        to reveal (not blind, or revealed already)."""
        if comparison_id in self._settled:
            return False
        try:
            if not await self._store.mark_revealed(comparison_id):
                self._settled.add(comparison_id)
                return False
            row = await self._store.comparison(comparison_id)
        except Exception:
            # Not settled: the next vote or the timer tries again.
            log.exception("comparison #%d: revealing the blind names failed", comparison_id)
            return False
        self._settled.add(comparison_id)
        if row is None:
            return True
        try:
            await self._announcer.announce_reveal(
                Reveal(
                    row["channel_id"],
                    row["thread_id"],
                    Role(row["shown_first"]),
                    row["base_model"],
                    row["instruct_model"],
                    why,
                )
            )
        except Exception:
            log.exception("comparison #%d revealed, but saying so failed", comparison_id)
        log.info("comparison #%d: blind names revealed (%s)", comparison_id, why)
        return True

    def reveal_at(self, comparison_id: int, created: datetime) -> None:
        """Reveal when the vote closes (`reveal_after` past `created`)."""
        delay = self._reveal_after - (datetime.now(UTC) - created).total_seconds()

        async def later() -> None:
            await asyncio.sleep(max(0.0, delay))
            await self.reveal(comparison_id, VOTE_CLOSED)

        self.timers.spawn(later(), name=f"reveal comparison #{comparison_id}")

    async def rearm(self) -> int:
        """Start the timers of every blind comparison still hidden (after a restart)."""
        try:
            pending = await self._store.unrevealed_blind(self._platform)
        except Exception:
            log.exception("re-arming the blind reveal timers failed; votes still reveal")
            return 0
        for comparison_id, created in pending:
            self.reveal_at(comparison_id, created)
        if pending:
            log.info("re-armed %d blind reveal timer(s)", len(pending))
        return len(pending)

    async def close(self) -> None:
        await self.timers.close(0.0, 1.0)  # timers only sleep: they end at once
