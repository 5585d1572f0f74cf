"""Reactions into the core's vote service, and blind reveals said in the comparison's thread.

The core maps (channel, ts) to a comparison, so reactions on messages posted before a restart
count too. Only Slack knows whether a reactor is a bot: twinbot's own reactions (the seeded
choices) and other bots' are marked so and never counted. users.info is asked once a user and
remembered, after the ack: a slow or failing Web API never holds an event unacknowledged.
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from slack_sdk.web.async_client import AsyncWebClient

from adapters.slack_app.posting import PostPacer
from adapters.slack_app.view import PLATFORM
from adapters.slack_app.vote_texts import reveal_text
from bot.chat.keeper import TaskKeeper
from bot.chat.surface import Reveal
from bot.chat.vote_service import ReactionEvent, VoteService

log = logging.getLogger(__name__)

_MEMORY = 4096  # users remembered, to skip needless users.info calls
SLACKBOT = "USLACKBOT"


class _Remembered(OrderedDict[str, bool]):
    """A bounded map: the oldest entries are forgotten first."""

    def remember(self, key: str, value: bool) -> None:
        self[key] = value
        self.move_to_end(key)
        if len(self) > _MEMORY:
            self.popitem(last=False)


class ThreadAnnouncer:
    """The core's `RevealAnnouncer`: the names, posted in the comparison's thread."""

    def __init__(self, posts: PostPacer) -> None:
        self._posts = posts

    async def announce_reveal(self, reveal: Reveal) -> None:
        if not reveal.channel_id:
            log.warning("a blind comparison was revealed, but there is no channel to say so")
            return
        await self._posts.post(reveal.channel_id, reveal_text(reveal), thread_ts=reveal.thread_id)


def event_time(event: Mapping[str, Any]) -> datetime | None:
    """When the reaction happened: Slack's `event_ts` (epoch seconds as a string)."""
    try:
        return datetime.fromtimestamp(float(str(event.get("event_ts"))), UTC)
    except (TypeError, ValueError, OverflowError):
        return None


class ReactionRecorder:
    """Reaction events into the vote log before their ack, with no Web API call on the way:
    a reactor not known yet is logged as a person and looked up (users.info) after the ack;
    one found to be a bot then stops counting."""

    def __init__(self, client: AsyncWebClient, votes: VoteService, tasks: TaskKeeper) -> None:
        self._client = client
        self._votes = votes
        self._tasks = tasks  # the look-ups, after the ack
        self._bots = _Remembered()  # user id -> is a bot
        self._asking: set[str] = set()  # users with a look-up under way

    async def handle(self, event: Mapping[str, Any], bot_user_id: str | None) -> None:
        """Log the reaction; returns once it is committed, so the ack may follow. Raises
        ReactionLost if it could not be logged: it must go unacknowledged, for Slack to
        send it again."""
        item = event.get("item") or {}
        if not isinstance(item, Mapping) or item.get("type") != "message":
            return  # a reaction on a file or a file comment: never a twinbot message
        channel, ts = str(item.get("channel") or ""), str(item.get("ts") or "")
        user, emoji = str(event.get("user") or ""), str(event.get("reaction") or "")
        if not (channel and ts and user and emoji):
            log.warning("slack reaction event without channel, ts, user or emoji: %s", event)
            return
        known = self._known_bot(user, bot_user_id)
        outcome = await self._votes.on_reaction(
            ReactionEvent(
                platform=PLATFORM,
                channel_id=channel,
                message_id=ts,
                user_id=user,
                emoji=emoji,
                added=event.get("type") == "reaction_added",
                by_bot=bool(known),
                occurred_at=event_time(event),
            )
        )
        if outcome is not None and known is None and user not in self._asking:
            self._asking.add(user)  # one look-up a user, however many reactions
            self._tasks.spawn(self._look_up(user), name="slack users.info")

    def _known_bot(self, user: str, bot_user_id: str | None) -> bool | None:
        """Whether `user` is a bot, if known without asking Slack."""
        if user in (bot_user_id, SLACKBOT):
            return True
        return self._bots.get(user)

    async def _look_up(self, user: str) -> None:
        try:
            answer = await self._client.users_info(user=user)
            is_bot = bool((answer.get("user") or {}).get("is_bot"))
            self._bots.remember(user, is_bot)
            if is_bot:
                await self._votes.mark_bot(PLATFORM, user)
        except Exception as exc:
            # Not remembered, so asked again at the user's next reaction; meanwhile the
            # reaction counts as a person's (a bot's that counts is rarer and less harmful
            # than a person's vote lost).
            log.warning("users.info %s failed (%r); the reaction counts as a person's", user, exc)
        finally:
            self._asking.discard(user)
