"""What the Slack listeners share: the core's runtime and chat service, and Slack's lanes.

`SlackBot` (app.py) is one; the listener modules take a `SlackContext`, so none of them imports
the app that imports them.
"""

from __future__ import annotations

from slack_sdk.web.async_client import AsyncWebClient

from adapters.slack_app.pacing import Budget
from adapters.slack_app.posting import PostPacer
from adapters.slack_app.scheduler import UpdateScheduler
from adapters.slack_app.seeding import ReactionSeeder
from adapters.slack_app.streams import StreamLane
from bot.chat.keeper import TaskKeeper
from bot.chat.limits import TokenBuckets
from bot.chat.service import ChatService
from bot.runtime import Runtime


class SlackContext:
    def __init__(
        self,
        runtime: Runtime,
        client: AsyncWebClient,
        chat: ChatService,
        posts: PostPacer,
        update_budget: Budget,
        bot_name: str,
        place_interval: float,
    ) -> None:
        self.runtime = runtime
        self.client = client
        self.chat = chat  # /compare and the votes, run by the core
        self.posts = posts  # chat.postMessage, paced per channel
        self.update_budget = update_budget
        self.bot_name = bot_name
        self.place_interval = place_interval  # seconds between two updates of a user's place
        self.leaderboard_limit = TokenBuckets(2.0, 2)  # per channel: tables are CPU work
        self.tasks = TaskKeeper()  # subcommands and /leaderboard after their ack
        self._schedulers: dict[str, UpdateScheduler] = {}
        self._seeders: dict[str, ReactionSeeder] = {}
        self._streams: dict[str, StreamLane] = {}

    def scheduler(self, team_id: str) -> UpdateScheduler:
        """The workspace's one chat.update scheduler (Tier 3 limits are per workspace)."""
        scheduler = self._schedulers.get(team_id)
        if scheduler is None:
            scheduler = UpdateScheduler(self.client, self.update_budget, name=team_id)
            self._schedulers[team_id] = scheduler
        return scheduler

    def streams(self, team_id: str) -> StreamLane | None:
        """The workspace's streaming lane, when TWINBOT_SLACK_STREAMS is on."""
        if not self.runtime.settings.slack_streams:
            return None
        lane = self._streams.get(team_id)
        if lane is None:
            lane = self._streams[team_id] = StreamLane(self.client, name=team_id)
        return lane

    def seeder(self, team_id: str) -> ReactionSeeder:
        """The workspace's reactions.add lane (Tier 3 as well, budgeted on its own)."""
        seeder = self._seeders.get(team_id)
        if seeder is None:
            seeder = ReactionSeeder(self.client, self.update_budget, name=team_id)
            self._seeders[team_id] = seeder
        return seeder

    async def start(self) -> None:
        await self.chat.start()

    async def aclose(self, grace: float = 0.0) -> None:
        """Let running comparisons finish for `grace` seconds, then stop them (each still
        shows and stores its partial text), then the rest. Call after the app stopped taking
        commands."""
        await self.chat.drain(grace)
        await self.chat.close()
        await self.tasks.close(0.0)
        for scheduler in self._schedulers.values():
            await scheduler.close()
        for seeder in self._seeders.values():
            await seeder.close()
        for lane in self._streams.values():
            await lane.close()
