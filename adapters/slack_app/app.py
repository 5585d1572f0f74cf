"""The bolt AsyncApp and what its listeners share: pacing, schedulers, background tasks.

`SlackBot(runtime, client, ...)` is the factory: tests build it with a client pointed at the
fake Slack and a Runtime on the fake Ollama; `runner.serve` builds it for real. Its `app` is
served either by bolt's aiohttp adapter (HTTP mode) or by Socket Mode.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_bolt.context.ack.async_ack import AsyncAck
from slack_bolt.context.async_context import AsyncBoltContext
from slack_bolt.context.respond.async_respond import AsyncRespond
from slack_bolt.response import BoltResponse
from slack_sdk.web.async_client import AsyncWebClient

from adapters.slack_app.command import COMMAND, on_compare
from adapters.slack_app.context import SlackContext
from adapters.slack_app.health import count_rate_limits
from adapters.slack_app.invocation import Invocation
from adapters.slack_app.leaderboard import (
    LEADERBOARD_COMMAND,
    decide_leaderboard,
    post_leaderboard,
)
from adapters.slack_app.mrkdwn import escape
from adapters.slack_app.pacing import Budget
from adapters.slack_app.posting import PostBudget, PostPacer
from adapters.slack_app.queueing import PLACE_INTERVAL
from adapters.slack_app.reactions import ReactionRecorder, ThreadAnnouncer
from adapters.slack_app.replays import ReplayGuard
from adapters.slack_app.safety_texts import REVEAL_ACTION
from adapters.slack_app.spoilers import on_reveal
from adapters.slack_app.texts import INTERNAL_ERROR
from adapters.slack_app.view import PLATFORM
from bot.chat.limits import RateLimiter
from bot.chat.reaction_writer import ReactionLost
from bot.chat.service import ChatService
from bot.runtime import Runtime

log = logging.getLogger(__name__)

EVENTS_PATH = "/slack/events"
CLEANUP = 30.0  # seconds a stopped comparison gets to deliver its final text (Tier 3 paced)


class SlackBot(SlackContext):
    """What `twinbot run slack` serves: the listeners' shared parts, and the bolt app."""

    def __init__(
        self,
        runtime: Runtime,
        client: AsyncWebClient,
        *,
        signing_secret: str | None = None,
        update_budget: Budget | None = None,
        post_budget: PostBudget | None = None,
        limiter: RateLimiter | None = None,
        bot_name: str = "twinbot",
        place_interval: float = PLACE_INTERVAL,
        cleanup: float = CLEANUP,
    ) -> None:
        settings = runtime.settings
        posts = PostPacer(client, post_budget)
        chat = ChatService(
            runtime,
            PLATFORM,
            ThreadAnnouncer(posts),
            allowed_channels=settings.slack_channels,
            limiter=limiter,
            # Final texts wait for Tier 3 slots: a stopped comparison gets time to show.
            cleanup=cleanup,
        )
        # chat.update and reactions.add are both Tier 3, each with its own budget of this size.
        budget = update_budget or Budget(settings.slack_updates_per_minute, 60.0)
        super().__init__(runtime, client, chat, posts, budget, bot_name, place_interval)
        self.recorder = ReactionRecorder(client, chat.votes, self.tasks)
        self.replays = ReplayGuard()
        count_rate_limits(client, runtime.metrics)
        # process_before_response=False: bolt acks first and runs the rest as a task, and
        # our listeners ack before any I/O. In Socket Mode the secret is unused. Our own
        # events are not ignored: twinbot's seeded reactions are logged (as a bot's).
        self.app = AsyncApp(
            name="twinbot",
            client=client,
            signing_secret=signing_secret or "",
            process_before_response=False,
            ignoring_self_events_enabled=False,
        )
        self._register()

    def _register(self) -> None:
        async def compare(ack: AsyncAck, command: dict[str, Any]) -> None:
            await on_compare(self, ack, command)

        async def leaderboard(ack: AsyncAck, command: dict[str, Any]) -> None:
            call = Invocation.of(command)
            try:
                outcome = decide_leaderboard(self, call)
            except Exception:
                log.exception("/leaderboard failed before the ack %s", call.context())
                outcome = INTERNAL_ERROR
            if isinstance(outcome, str):
                await ack(text=escape(outcome), response_type="ephemeral")
                return
            await ack()
            self.tasks.spawn(post_leaderboard(self, call, outcome), name="slack-leaderboard")

        async def log_before_ack(
            body: dict[str, Any],
            event: dict[str, Any],
            context: AsyncBoltContext,
            next_: Callable[[], Awaitable[None]],
        ) -> BoltResponse | None:
            # A listener middleware runs before bolt's listener runner, which acks an event at
            # once (process_before_response=False): so the reaction is in the log (the core
            # returns once its batch is committed) before Slack hears "200 OK", and an event
            # acked is never one lost at a restart. One that could not be logged is answered
            # 500 instead (no ack): Slack sends it again, and the replay guard lets that in.
            try:
                with self.replays.acting_on(body):
                    await self.recorder.handle(event, context.bot_user_id)
            except ReactionLost:
                return BoltResponse(status=500, body="")
            await next_()
            return None

        async def reaction() -> None:
            """Logged already, by `log_before_ack`."""

        async def reveal(ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond) -> None:
            await ack()
            try:
                await on_reveal(self, body)
            except Exception:
                log.exception("spoiler click failed (user=%s)", body.get("user", {}).get("id"))
                await respond(
                    text=INTERNAL_ERROR, response_type="ephemeral", replace_original=False
                )

        async def error(error: Exception, body: dict[str, Any]) -> None:
            log.error(
                "slack listener failed (team=%s): %r",
                body.get("team_id") or (body.get("team") or {}).get("id"),
                error,
                exc_info=error,
            )

        self.app.command(COMMAND)(compare)
        self.app.command(LEADERBOARD_COMMAND)(leaderboard)
        self.app.event("reaction_added", middleware=[log_before_ack])(reaction)
        self.app.event("reaction_removed", middleware=[log_before_ack])(reaction)
        self.app.action(REVEAL_ACTION)(reveal)
        self.app.error(error)
        self.app.use(self.replays)
