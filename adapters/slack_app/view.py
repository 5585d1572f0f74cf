"""The Slack CompareView: a parent message in the channel, each side's output in its thread.

Live text goes through the workspace's UpdateScheduler (never straight to chat.update), new
messages through the channel's PostPacer. Every message's ts is stored for the votes.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from adapters.slack_app.posting import PostPacer
from adapters.slack_app.scheduler import UpdateScheduler
from adapters.slack_app.texts import parent_text, side_messages
from bot.domain import CompareSnapshot, Role, SideSnapshot
from bot.store import Store

log = logging.getLogger(__name__)

PLATFORM = "slack"


class SlackCompareView:
    def __init__(
        self,
        *,
        posts: PostPacer,
        updates: UpdateScheduler,
        store: Store,
        channel_id: str,
        asked_by: str = "",
    ) -> None:
        self._posts = posts
        self._updates = updates
        self._store = store
        self.channel_id = channel_id
        self._asked_by = asked_by
        self.comparison_id: int | None = None
        self.parent_ts: str | None = None
        self.replies: dict[Role, list[str]] = {Role.BASE: [], Role.INSTRUCT: []}
        self._shown: dict[str, str] = {}  # ts -> the text last posted or submitted
        self._syncing: asyncio.Task[None] | None = None

    @property
    def update_interval(self) -> float:
        # Handing text to the scheduler is cheap; it decides when Slack sees it. Offering a
        # frame per budget slot keeps the text it sends as fresh as the budget allows.
        return self._updates.budget.spacing

    async def start(self, snapshot: CompareSnapshot) -> None:
        self.comparison_id = snapshot.comparison_id
        text = parent_text(snapshot, self._asked_by)
        self.parent_ts = await self._posts.post(self.channel_id, text)
        await self._remember(self.parent_ts, None, 0, "parent")
        try:
            await self._store.set_thread(snapshot.comparison_id, self.parent_ts)
        except Exception:
            log.exception("comparison #%d: storing the thread failed", snapshot.comparison_id)
        await self._sync(snapshot)

    async def update(self, snapshot: CompareSnapshot) -> None:
        # Shielded: when the core cancels a live update because both sides ended, a post
        # that is half done still completes (and is stored) before finish() runs.
        self._syncing = asyncio.ensure_future(self._sync(snapshot))
        await asyncio.shield(self._syncing)

    async def finish(self, snapshot: CompareSnapshot) -> None:
        if self.parent_ts is None or self.comparison_id is None:
            return  # start() failed: nothing to show (the caller tells the user why)
        if self._syncing is not None:
            with contextlib.suppress(Exception):
                await self._syncing  # its failure was already logged by the throttle
        try:
            await self._sync(snapshot)
        finally:
            # Even if a new part could not be posted, the edits already queued are delivered.
            await self._updates.settle(self.comparison_id)

    async def _sync(self, snapshot: CompareSnapshot) -> None:
        """Make the thread show `snapshot`: edit changed parts, post new ones."""
        for side in snapshot.sides:
            await self._sync_side(side)

    async def _sync_side(self, side: SideSnapshot) -> None:
        assert self.parent_ts is not None and self.comparison_id is not None
        replies = self.replies[side.role]
        for part, text in enumerate(side_messages(side)):
            if part < len(replies):
                ts = replies[part]
                if self._shown.get(ts) != text:
                    self._updates.submit(self.comparison_id, self.channel_id, ts, text)
                    self._shown[ts] = text
                continue
            ts = await self._posts.post(self.channel_id, text, thread_ts=self.parent_ts)
            replies.append(ts)
            self._shown[ts] = text
            await self._remember(ts, side.role, part, "output")

    async def _remember(self, ts: str, role: Role | None, part: int, kind: str) -> None:
        assert self.comparison_id is not None
        try:
            await self._store.add_message(
                self.comparison_id, PLATFORM, self.channel_id, ts, role=role, part=part, kind=kind
            )
        except Exception:
            # The message is up and the comparison is stored; only its vote link is lost.
            log.exception("comparison #%d: storing message %s failed", self.comparison_id, ts)
