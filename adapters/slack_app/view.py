"""The Slack CompareView: a parent message in the channel, each side's output in its thread.

Live text goes through the workspace's UpdateScheduler (never straight to chat.update), new
messages through the channel's PostPacer. With a StreamLane, a side whose reply fits one
message streams instead (chat.startStream, escaped appends through the lane's own scheduler)
when that gives it more calls than chat.update would; at the end, or as soon as a stream
cannot go on, its stream is stopped. At the end a stream whose side still fits one message
takes the rest of the text and the footer by chat.stopStream (no Tier 3 call); any other
stream's message takes the side's usual reply by chat.update.
When the workspace's chat.update queue is already long (a first edit would wait more than
DEFER_AFTER seconds), a new comparison shows no live text at all: its replies are posted
once, with the final text, at the end (chat.postMessage has a budget per channel, so this
costs the shared Tier 3 budget nothing). Every message's ts is stored for the votes.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from adapters.slack_app.posting import PostPacer, transient
from adapters.slack_app.safety_texts import reveal_value
from adapters.slack_app.scheduler import UpdateScheduler
from adapters.slack_app.streams import StreamLane, closing_blocks, stream_title
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

# Past this many seconds of chat.update queue, live text would show late anyway: a comparison
# starting then posts its replies only at the end, complete, and takes no Tier 3 call.
DEFER_AFTER = 10.0


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
        streams: StreamLane | None = None,
        recipient: tuple[str, str] = ("", ""),  # the requester's user and team ids
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
        self._streams = streams
        self._recipient = recipient
        self._streamed: dict[Role, str] = {}  # sides whose reply is a live stream: its ts
        self._edited_live = 0  # sides the lane counts as edited live (released at the end)
        self._ended_by_stream: set[Role] = set()  # complete by chat.stopStream: never edited

    @property
    def update_interval(self) -> float:
        # Handing text to the scheduler is cheap; it decides when Slack sees it. Offering a
        # frame per budget slot keeps the text it sends as fresh as the budget allows.
        spacing = self._updates.budget.spacing
        if self._streams is not None:
            spacing = min(spacing, self._streams.appends.budget.spacing)
        return spacing

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
            await self._end_streams(snapshot)
            await self._sync(snapshot, final=True)
            # The parent changes only for what is known at the end: a flagged prompt, or a
            # notice from the core (say, the comparison could not be saved).
            self._edit(self.parent_ts, Reply(parent_text(snapshot, self._asked_by, self._intro)))
        except Exception as exc:
            if transient(exc):
                raise NotDelivered(repr(exc)) from exc
            raise
        finally:
            self._release_lane()
            # Even if a new part could not be posted, the edits already queued are delivered.
            given_up = await self._updates.settle(self.comparison_id)
        if given_up:
            for _, ts in given_up:
                self._shown.pop(ts, None)  # submitted again on the next try
            raise NotDelivered(f"{len(given_up)} message(s) not updated")

    async def _sync(self, snapshot: CompareSnapshot, *, final: bool = False) -> None:
        """Make the thread show `snapshot`: edit changed parts, post new ones. Live, a side
        not posted yet waits while the chat.update queue is long (decided once for both
        sides, so a blind thread still shows A first)."""
        late = not final and self._updates.backlog() > DEFER_AFTER
        # In shown order (A first), so a blind comparison's thread does not give it away.
        sides = {side.role: side for side in snapshot.sides}
        for role in shown_order(snapshot.request):
            if (late and not self.replies[role]) or role in self._ended_by_stream:
                continue
            await self._sync_side(snapshot.request, sides[role])

    def _release_lane(self) -> None:
        """The sides edited live are live no more: their share of the budgets is free."""
        if self._streams is not None:
            for _ in range(self._edited_live):
                self._streams.release()
        self._edited_live = 0

    def _wanted(self, request: CompareRequest, side: SideSnapshot) -> list[Reply]:
        """The replies `side` should show now."""
        assert self.comparison_id is not None
        blind_letter = letter(request, side.role)
        wanted = side_replies(
            side,
            blind_letter=blind_letter,
            reveal_value=reveal_value(self.comparison_id, side.role),
        )
        # A side concealed after its text ran into further parts: those are hidden too.
        return wanted + [
            Reply(hidden_part_text(side, part, blind_letter))
            for part in range(len(wanted), len(self.replies[side.role]))
        ]

    async def _sync_side(self, request: CompareRequest, side: SideSnapshot) -> None:
        assert self.parent_ts is not None and self.comparison_id is not None
        replies = self.replies[side.role]
        blind_letter = letter(request, side.role)
        wanted = self._wanted(request, side)
        if self._streams is not None and not replies and len(wanted) == 1 and not side.finished:
            await self._open_stream(side, blind_letter)
        if side.role in self._streamed:
            if self._stream_goes_on(side, wanted):
                return
            await self._end_streams()  # from here on, chat.update with the whole text
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

    async def _open_stream(self, side: SideSnapshot, blind_letter: str | None) -> None:
        assert self._streams is not None and self.parent_ts is not None
        assert self.comparison_id is not None
        user, team = self._recipient
        title = stream_title(side, blind_letter)
        ts = await self._streams.start(
            self.channel_id,
            self.parent_ts,
            title,
            user=user,
            team=team,
            updates=self._updates.budget,
        )
        if ts is None:
            self._edited_live += 1
            return  # chat.update serves it better, no room, or refused: it posts as usual
        self.replies[side.role].append(ts)
        self._streamed[side.role] = ts
        await self._book.message(self.channel_id, ts, side.role, 0, "output")

    def _stream_goes_on(self, side: SideSnapshot, wanted: list[Reply]) -> bool:
        """Hand the side's newest text to the stream, unless it cannot take it."""
        assert self._streams is not None and self.comparison_id is not None
        ts = self._streamed[side.role]
        appends = self._streams.appends
        if len(wanted) > 1 or (self.channel_id, ts) in appends.broken:
            return False
        if side.text:
            # Owned by the side, not the comparison: the appends go round the streams, so a
            # comparison with both sides streamed gets no smaller share per side.
            appends.submit((self.comparison_id, side.role), self.channel_id, ts, side.text)
        return True

    async def _end_streams(self, final: CompareSnapshot | None = None) -> None:
        """Deliver what the streams were given and stop them. At the end (`final`), a side
        that still fits one message gets the rest of its text and its footer by
        chat.stopStream; any other stream's message takes the side's usual reply by
        chat.update."""
        if not self._streamed:
            return
        assert self._streams is not None and self.comparison_id is not None
        for role in self._streamed:
            await self._streams.appends.settle((self.comparison_id, role))
        sides = {side.role: side for side in final.sides} if final is not None else {}
        for role, ts in list(self._streamed.items()):
            del self._streamed[role]
            side = sides.get(role)
            if (
                final is not None
                and side is not None
                and len(self._wanted(final.request, side)) == 1
            ):
                if await self._streams.finish(self.channel_id, ts, side.text, closing_blocks(side)):
                    self._ended_by_stream.add(role)
                    continue
            else:
                await self._streams.stop(self.channel_id, ts)
            self._shown.pop(ts, None)  # unknown to chat.update: the next _edit sends it all

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
