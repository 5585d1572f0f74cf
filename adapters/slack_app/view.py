"""The Slack CompareView: a parent message in the channel, each side's output in its thread.

Live text goes through the workspace's UpdateScheduler (never straight to chat.update), new
messages through the channel's PostPacer. Every message's ts is stored for the votes.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from adapters.slack_app.posting import PostPacer, transient
from adapters.slack_app.safety_texts import reveal_value
from adapters.slack_app.scheduler import UpdateScheduler
from adapters.slack_app.texts import (
    Reply,
    hidden_part_text,
    letter,
    parent_text,
    shown_order,
    side_replies,
)
from bot.chat.surface import MessageBook, NotDelivered
from bot.domain import CompareRequest, CompareSnapshot, Role, SideSnapshot

log = logging.getLogger(__name__)

PLATFORM = "slack"  # how the store names this platform


class SlackCompareView:
    def __init__(
        self,
        *,
        posts: PostPacer,
        updates: UpdateScheduler,
        book: MessageBook,
        channel_id: str,
        asked_by: str = "",
        intro: str | None = None,
    ) -> None:
        self._posts = posts
        self._updates = updates
        self._book = book
        self.channel_id = channel_id
        self._asked_by = asked_by
        self._intro = intro  # escaped mrkdwn under the parent's first line (a demo's story)
        self.comparison_id: int | None = None
        self.parent_ts: str | None = None
        self.replies: dict[Role, list[str]] = {Role.BASE: [], Role.INSTRUCT: []}
        self._shown: dict[str, Reply] = {}  # ts -> what was last posted or submitted
        self._syncing: asyncio.Task[None] | None = None

    @property
    def update_interval(self) -> float:
        # Handing text to the scheduler is cheap; it decides when Slack sees it. Offering a
        # frame per budget slot keeps the text it sends as fresh as the budget allows.
        return self._updates.budget.spacing

    async def start(self, snapshot: CompareSnapshot) -> None:
        # Shielded like `update`: stopped mid-post, the parent and replies Slack already made
        # are still recorded, so `finish` edits them instead of posting them twice.
        self._syncing = asyncio.ensure_future(self._start(snapshot))
        await asyncio.shield(self._syncing)

    async def _start(self, snapshot: CompareSnapshot) -> None:
        self.comparison_id = snapshot.comparison_id
        text = parent_text(snapshot, self._asked_by, self._intro)
        self.parent_ts = await self._posts.post(self.channel_id, text)
        self._shown[self.parent_ts] = Reply(text)
        await self._book.message(self.channel_id, self.parent_ts, None, 0, "parent")
        await self._book.thread(self.parent_ts)
        await self._sync(snapshot)

    async def update(self, snapshot: CompareSnapshot) -> None:
        # Shielded: when the core cancels a live update because both sides ended, a post
        # that is half done still completes (and is stored) before finish() runs.
        self._syncing = asyncio.ensure_future(self._sync(snapshot))
        await asyncio.shield(self._syncing)

    async def finish(self, snapshot: CompareSnapshot) -> None:
        if self._syncing is not None:
            with contextlib.suppress(Exception):
                await self._syncing  # its failure was already logged by the throttle
        if self.parent_ts is None or self.comparison_id is None:
            return  # start() failed: nothing to show (the caller tells the user why)
        try:
            await self._sync(snapshot)
            # The parent changes only for what is known at the end: a flagged prompt, or a
            # notice from the core (say, the comparison could not be saved).
            self._edit(self.parent_ts, Reply(parent_text(snapshot, self._asked_by, self._intro)))
        except Exception as exc:
            if transient(exc):
                raise NotDelivered(repr(exc)) from exc
            raise
        finally:
            # Even if a new part could not be posted, the edits already queued are delivered.
            given_up = await self._updates.settle(self.comparison_id)
        if given_up:
            for _, ts in given_up:
                self._shown.pop(ts, None)  # submitted again on the next try
            raise NotDelivered(f"{len(given_up)} message(s) not updated")

    async def _sync(self, snapshot: CompareSnapshot) -> None:
        """Make the thread show `snapshot`: edit changed parts, post new ones."""
        # In shown order (A first), so a blind comparison's thread does not give it away.
        sides = {side.role: side for side in snapshot.sides}
        for role in shown_order(snapshot.request):
            await self._sync_side(snapshot.request, sides[role])

    async def _sync_side(self, request: CompareRequest, side: SideSnapshot) -> None:
        assert self.parent_ts is not None and self.comparison_id is not None
        replies = self.replies[side.role]
        blind_letter = letter(request, side.role)
        wanted = side_replies(
            side,
            blind_letter=blind_letter,
            reveal_value=reveal_value(self.comparison_id, side.role),
        )
        # A side concealed after its text ran into further parts: those are hidden too.
        wanted += [
            Reply(hidden_part_text(side, part, blind_letter))
            for part in range(len(wanted), len(replies))
        ]
        for part, reply in enumerate(wanted):
            if part < len(replies):
                self._edit(replies[part], reply)
                continue
            ts = await self._posts.post(
                self.channel_id, reply.text, thread_ts=self.parent_ts, blocks=reply.blocks
            )
            replies.append(ts)
            self._shown[ts] = reply
            await self._book.message(self.channel_id, ts, side.role, part, "output")

    def _edit(self, ts: str, reply: Reply) -> None:
        """Hand a changed message to the scheduler (it sends the latest when the budget allows)."""
        assert self.comparison_id is not None
        old = self._shown.get(ts)
        if old == reply:
            return
        blocks = reply.blocks
        if blocks is None and old is not None and old.blocks:
            blocks = []  # an empty list removes blocks; leaving it out would keep them
        self._updates.submit(self.comparison_id, self.channel_id, ts, reply.text, blocks)
        self._shown[ts] = reply
