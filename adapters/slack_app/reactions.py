"""Reactions become votes: `reaction_added` / `reaction_removed` on a comparison's message go
to the store's append-only log, and the first vote on a blind comparison reveals the names.

The store maps (channel, ts) to a comparison, so reactions on messages posted before a
restart count too. twinbot's own reactions (the seeded choices) and other bots' are logged as
`by_bot` and never counted; whether a user is a bot is asked once (users.info) and remembered.
"""

from __future__ import annotations

import asyncio
import logging
from collections import OrderedDict
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from slack_sdk.web.async_client import AsyncWebClient

from adapters.slack_app.posting import PostPacer
from adapters.slack_app.view import PLATFORM
from adapters.slack_app.vote_texts import reveal_text
from bot.chat_flow import TaskKeeper
from bot.domain import Role
from bot.metrics import Metrics
from bot.store import ReactionOutcome, Store, StoreError

log = logging.getLogger(__name__)

_MEMORY = 4096  # users and comparisons remembered, to skip needless calls and writes
_STORE_ATTEMPTS = 3  # a locked database gets a second and third chance: a vote is not lost
SLACKBOT = "USLACKBOT"


class _Remembered(OrderedDict[str, bool]):
    """A bounded map: the oldest entries are forgotten first."""

    def remember(self, key: str, value: bool) -> None:
        self[key] = value
        self.move_to_end(key)
        if len(self) > _MEMORY:
            self.popitem(last=False)


class Revealer:
    """Names the models of a blind comparison once, in its thread: after the first vote, or
    when it closes. Timers live in memory: after a restart the next vote reveals."""

    def __init__(self, store: Store, posts: PostPacer) -> None:
        self._store = store
        self._posts = posts
        self.timers = TaskKeeper()
        self._settled = _Remembered()  # revealed already, or never blind

    async def reveal(self, comparison_id: int, why: str) -> bool:
        key = str(comparison_id)
        if key in self._settled:
            return False
        try:
            if not await self._store.mark_revealed(comparison_id):
                self._settled.remember(key, True)
                return False
            row = await self._store.comparison(comparison_id)
        except Exception:
            log.exception("comparison #%d: revealing the blind names failed", comparison_id)
            return False
        self._settled.remember(key, True)
        assert row is not None  # mark_revealed just updated it
        text = reveal_text(Role(row["shown_first"]), row["base_model"], row["instruct_model"], why)
        channel, thread = row["channel_id"], row["thread_id"]
        try:
            await self._posts.post(str(channel), text, thread_ts=thread and str(thread))
        except Exception as exc:
            log.error(
                "comparison #%d revealed, but posting it in %s failed: %r",
                comparison_id, channel, exc,
            )  # fmt: skip
        log.info("comparison #%d: blind names revealed (%s)", comparison_id, why)
        return True

    def reveal_later(self, comparison_id: int, delay: float) -> None:
        async def later() -> None:
            await asyncio.sleep(max(0.0, delay))
            await self.reveal(comparison_id, "the vote closed")

        self.timers.spawn(later(), name=f"slack-reveal-{comparison_id}")


def event_time(event: Mapping[str, Any]) -> datetime | None:
    """When the reaction happened: Slack's `event_ts` (epoch seconds as a string)."""
    try:
        return datetime.fromtimestamp(float(str(event.get("event_ts"))), UTC)
    except (TypeError, ValueError, OverflowError):
        return None


class ReactionRecorder:
    def __init__(
        self, client: AsyncWebClient, store: Store, metrics: Metrics, revealer: Revealer
    ) -> None:
        self._client = client
        self._store = store
        self._metrics = metrics
        self._revealer = revealer
        self._bots = _Remembered()  # user id -> is a bot

    async def handle(self, event: Mapping[str, Any], bot_user_id: str | None) -> None:
        item = event.get("item") or {}
        if not isinstance(item, Mapping) or item.get("type") != "message":
            return  # a reaction on a file or a file comment: never a twinbot message
        channel, ts = str(item.get("channel") or ""), str(item.get("ts") or "")
        user, emoji = str(event.get("user") or ""), str(event.get("reaction") or "")
        added = event.get("type") == "reaction_added"
        if not (channel and ts and user and emoji):
            log.warning("slack reaction event without channel, ts, user or emoji: %s", event)
            return
        if await self._store.message_ref(PLATFORM, channel, ts) is None:
            return  # not a comparison's message
        by_bot = await self._is_bot(user, bot_user_id)
        outcome = await self._record(channel, ts, user, emoji, added, by_bot, event_time(event))
        if outcome is None:
            return
        if outcome.changed:
            choice = outcome.vote.choice.value if outcome.vote else "retracted"
            self._metrics.votes.labels(choice).inc()
            log.info("comparison #%d: a vote is now %s", outcome.comparison_id, choice)
        if outcome.vote is not None and not by_bot:
            await self._revealer.reveal(outcome.comparison_id, "after the first vote")

    async def _record(
        self,
        channel: str,
        ts: str,
        user: str,
        emoji: str,
        added: bool,
        by_bot: bool,
        when: datetime | None,
    ) -> ReactionOutcome | None:
        for attempt in range(1, _STORE_ATTEMPTS + 1):
            try:
                return await self._store.record_reaction(
                    platform=PLATFORM, channel_id=channel, message_id=ts, user_id=user,
                    emoji=emoji, added=added, by_bot=by_bot, occurred_at=when,
                )  # fmt: skip
            except StoreError as exc:
                if attempt == _STORE_ATTEMPTS:
                    log.error(
                        "a reaction was NOT logged (%s :%s: on %s in %s by %s): %s",
                        "add" if added else "remove", emoji, ts, channel, user, exc,
                    )  # fmt: skip
                    return None
                await asyncio.sleep(0.5 * attempt)
        return None

    async def _is_bot(self, user: str, bot_user_id: str | None) -> bool:
        if user in (bot_user_id, SLACKBOT):
            return True
        known = self._bots.get(user)
        if known is not None:
            return known
        try:
            answer = await self._client.users_info(user=user)
        except Exception as exc:
            # Counted as a person's (not remembered, so asked again next time): a bot's
            # reaction that counts is rarer and less harmful than a person's vote lost.
            log.warning("users.info %s failed (%r); treating the reaction as a person's", user, exc)
            return False
        profile = answer.get("user") or {}
        is_bot = bool(profile.get("is_bot"))
        self._bots.remember(user, is_bot)
        return is_bot
