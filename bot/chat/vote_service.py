"""A reaction on a comparison's message becomes a logged vote, the same way on every platform.

The adapter says what happened (`ReactionEvent`, with whether the reactor is a bot, which only
the platform knows); the store keeps the append-only reaction log and derives the vote; a
locked database gets a few more chances before the event is given up (and logged in full, so
an operator can replay it). The first vote on a blind comparison reveals the names.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import datetime

from bot.chat.reveal import AFTER_VOTE, Revealer
from bot.ops.metrics import Metrics
from bot.store.sqlite import ReactionOutcome, Store, StoreError

log = logging.getLogger(__name__)

STORE_ATTEMPTS = 4
STORE_BACKOFF = 0.5  # seconds, times the attempt number


@dataclass(frozen=True, slots=True)
class ReactionEvent:
    platform: str
    channel_id: str
    message_id: str
    user_id: str
    emoji: str  # as the platform names it (the store's mapping knows both kinds)
    added: bool
    by_bot: bool = False  # twinbot itself or another bot: logged, never counted
    occurred_at: datetime | None = None


class VoteService:
    def __init__(self, store: Store, revealer: Revealer, metrics: Metrics | None = None) -> None:
        self._store = store
        self._revealer = revealer
        self._metrics = metrics

    async def is_ours(self, event: ReactionEvent) -> bool:
        """Whether the message belongs to a comparison (to skip platform look-ups otherwise)."""
        ref = await self._store.message_ref(event.platform, event.channel_id, event.message_id)
        return ref is not None

    async def on_reaction(self, event: ReactionEvent) -> ReactionOutcome | None:
        """Log the reaction and update the vote; None if not a comparison's message or lost."""
        outcome = await self._record(event)
        if outcome is None:
            return None
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
            await self._revealer.reveal(outcome.comparison_id, AFTER_VOTE)
        return outcome

    async def _record(self, event: ReactionEvent) -> ReactionOutcome | None:
        for attempt in range(1, STORE_ATTEMPTS + 1):
            try:
                return await self._store.record_reaction(
                    platform=event.platform, channel_id=event.channel_id,
                    message_id=event.message_id, user_id=event.user_id, emoji=event.emoji,
                    added=event.added, by_bot=event.by_bot, occurred_at=event.occurred_at,
                )  # fmt: skip
            except StoreError as exc:
                if attempt < STORE_ATTEMPTS:
                    await asyncio.sleep(STORE_BACKOFF * attempt)
                    continue
                log.error("a reaction was NOT logged (%s): %s", describe(event), exc)
            except Exception:
                log.exception("a reaction was NOT logged (%s)", describe(event))
                break
        if self._metrics is not None:
            self._metrics.errors.labels("reaction_lost").inc()
        return None


def describe(event: ReactionEvent) -> str:
    """The event for the operator's log (no user id: those stay hashed)."""
    action = "add" if event.added else "remove"
    return (
        f"{event.platform} {action} {event.emoji!r} on message {event.message_id} "
        f"in channel {event.channel_id} at {event.occurred_at}"
    )
