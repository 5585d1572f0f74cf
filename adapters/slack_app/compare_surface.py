"""`/compare` on Slack: the surface the core shows one comparison on.

The acknowledgement is a bare `ack()` (a refusal before it is the ack's own ephemeral text).
While the comparison waits for a place, its place is an ephemeral message replaced as it
moves (`PlaceNotice`); once it starts, a parent message in the channel opens the thread the
outputs stream into (`SlackCompareView`), and the vote choices go on that parent.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from slack_bolt.context.ack.async_ack import AsyncAck
from slack_sdk.errors import SlackApiError

from adapters.slack_app.context import SlackContext
from adapters.slack_app.invocation import Invocation, notify, respond
from adapters.slack_app.lens_post import post_lens
from adapters.slack_app.mrkdwn import escape
from adapters.slack_app.posting import slack_error
from adapters.slack_app.queueing import STARTING_TEXT, PlaceNotice
from adapters.slack_app.texts import invite_message, slack_refused_message
from adapters.slack_app.view import SlackCompareView
from bot.chat.command import Parent
from bot.chat.keeper import TaskKeeper
from bot.chat.surface import LensShown, MessageBook, ShowFailed
from bot.domain import CompareSnapshot, SafetyMode
from bot.engine.compare import CompareView
from bot.engine.demos import Demo

log = logging.getLogger(__name__)

NOT_A_MEMBER = {"not_in_channel", "channel_not_found"}


def demo_intro(demo: Demo | None) -> str | None:
    """A demo's story under the parent's first line (escaped mrkdwn)."""
    if demo is None:
        return None
    return f":bulb: *Demo: {escape(demo.title)}.* {escape(demo.explain)}"


class CommandSurface:
    """The core's `ChatSurface` for one `/compare` slash command."""

    def __init__(self, bot: SlackContext, call: Invocation, ack: AsyncAck) -> None:
        self._bot = bot
        self._call = call
        self._ack = ack
        self._acked = False
        self._notice = PlaceNotice(self._respond, bot.place_interval)
        self._notes = TaskKeeper()  # place updates and their last word
        self._view: SlackCompareView | None = None

    async def _respond(self, text: str, replace: bool) -> bool:
        return await respond(self._call, text, replace=replace)

    async def refuse(self, message: str) -> None:
        if self._acked:
            await notify(self._bot.client, self._call, message)
            return
        self._acked = True
        try:
            await self._ack(text=escape(message), response_type="ephemeral")
        except Exception as exc:
            log.error("could not refuse %s: %r", self._call.context(), exc)

    async def acknowledge(self, parent: Parent) -> None:
        self._acked = True
        await self._ack()
        if parent.queued:
            self.show_parent(parent)  # the place, privately, as the ack cannot carry it

    def show_parent(self, parent: Parent) -> None:
        if parent.outcome is not None:
            self._notes.spawn(self._last_word(parent.outcome), name="slack-place-outcome")
        elif parent.queued and parent.ahead is not None:
            self._notes.spawn(self._notice.on_position(parent.ahead), name="slack-place")
        elif not parent.queued and self._notice.told:
            self._notes.spawn(self._notice.finish(STARTING_TEXT), name="slack-place-started")

    async def _last_word(self, text: str) -> None:
        if self._notice.told:
            await self._notice.finish(text)
        else:
            await notify(self._bot.client, self._call, text)

    def output_view(self, parent: Parent, book: MessageBook) -> CompareView:
        bot, call = self._bot, self._call
        self._view = SlackCompareView(
            posts=bot.posts,
            updates=bot.scheduler(call.team_id),
            book=book,
            channel_id=call.channel_id,
            asked_by=call.user_name,
            intro=demo_intro(parent.demo),
            # Streamed text cannot be taken back: only where the safety gate conceals nothing.
            streams=bot.streams(call.team_id) if parent.mode is SafetyMode.OFF else None,
            recipient=(call.user_id, call.team_id),
        )
        return _Started(self._view, bot, call)

    async def seed_votes(self) -> None:
        view = self._view
        if view is not None and view.parent_ts is not None:
            self._bot.seeder(self._call.team_id).seed(self._call.channel_id, view.parent_ts)

    async def tell(self, message: str) -> None:
        await notify(self._bot.client, self._call, message)

    async def show_lens(self, shown: LensShown) -> None:
        view = self._view
        if view is None or view.parent_ts is None:
            log.warning("no thread to put the lens in %s", self._call.context())
            return
        await post_lens(self._bot, self._call, view.parent_ts, shown)

    async def settle(self, within: float) -> None:
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(within):
                await self._notes.wait()


class _Started:
    """The view, with Slack's refusal to post the parent told to the user in Slack's words."""

    def __init__(self, inner: SlackCompareView, bot: SlackContext, call: Invocation) -> None:
        self._inner = inner
        self._bot = bot
        self._call = call
        self.update_interval = inner.update_interval

    async def start(self, snapshot: CompareSnapshot) -> None:
        try:
            await self._inner.start(snapshot)
        except SlackApiError as exc:
            if self._inner.parent_ts is not None:
                raise  # the thread exists: the core shows what failed there
            error = slack_error(exc)
            if error in NOT_A_MEMBER:
                text = invite_message(self._bot.bot_name, self._call.channel_id)
            else:
                text = slack_refused_message(error)
            await notify(self._bot.client, self._call, text)
            raise ShowFailed(f"Slack refused the parent message ({error})") from exc

    async def update(self, snapshot: CompareSnapshot) -> None:
        await self._inner.update(snapshot)

    async def finish(self, snapshot: CompareSnapshot) -> None:
        await self._inner.finish(snapshot)
