"""The bolt AsyncApp and what it shares between commands: pacing, schedulers, background tasks.

`SlackBot(runtime, client, ...)` is the factory: tests build it with a client pointed at the
fake Slack and a Runtime on the fake Ollama; `runner.serve` builds it for real. Its `app` is
served either by bolt's aiohttp adapter (HTTP mode) or by Socket Mode.
"""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_bolt.context.ack.async_ack import AsyncAck
from slack_sdk.web.async_client import AsyncWebClient

from adapters.slack_app.command import COMMAND, on_compare
from adapters.slack_app.posting import PostBudget, PostPacer
from adapters.slack_app.scheduler import Budget, UpdateScheduler
from bot.chat_flow import TaskKeeper
from bot.limits import RateLimiter, limiter_from_settings
from bot.runtime import Runtime

log = logging.getLogger(__name__)

EVENTS_PATH = "/slack/events"


class SlackBot:
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
    ) -> None:
        self.runtime = runtime
        self.client = client
        self.bot_name = bot_name
        settings = runtime.settings
        self.update_budget = update_budget or Budget(settings.slack_updates_per_minute, 60.0)
        self.posts = PostPacer(client, post_budget)
        self.limiter = limiter or limiter_from_settings(settings)
        self.tasks = TaskKeeper()
        self._schedulers: dict[str, UpdateScheduler] = {}
        # process_before_response=False: bolt acks first and runs the rest as a task, and
        # our listener acks before any I/O. In Socket Mode the secret is unused.
        self.app = AsyncApp(
            name="twinbot",
            client=client,
            signing_secret=signing_secret or "",
            process_before_response=False,
        )
        self._register()

    def scheduler(self, team_id: str) -> UpdateScheduler:
        """The workspace's one chat.update scheduler (Tier 3 limits are per workspace)."""
        scheduler = self._schedulers.get(team_id)
        if scheduler is None:
            scheduler = UpdateScheduler(self.client, self.update_budget, name=team_id)
            self._schedulers[team_id] = scheduler
        return scheduler

    def _register(self) -> None:
        async def compare(ack: AsyncAck, command: dict[str, Any]) -> None:
            await on_compare(self, ack, command)

        async def reaction(event: dict[str, Any]) -> None:
            # Answered (so Slack does not retry or disable the subscription); votes come in
            # the votes issue, which reads the message ids stored for every comparison.
            log.debug("slack %s on %s", event.get("type"), event.get("item"))

        async def error(error: Exception, body: dict[str, Any]) -> None:
            log.error(
                "slack listener failed (team=%s): %r",
                body.get("team_id") or body.get("team", {}).get("id"),
                error,
                exc_info=error,
            )

        self.app.command(COMMAND)(compare)
        self.app.event("reaction_added")(reaction)
        self.app.event("reaction_removed")(reaction)
        self.app.error(error)

    async def aclose(self, grace: float = 0.0, cleanup: float = 5.0) -> None:
        """Let running comparisons finish for `grace` seconds, then stop them (each still
        shows and stores its partial text, within `cleanup` seconds), then the schedulers.
        Call after the app stopped taking commands."""
        await self.tasks.close(grace, cleanup)
        for scheduler in self._schedulers.values():
            await scheduler.close()
