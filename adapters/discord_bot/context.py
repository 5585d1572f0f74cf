"""What the Discord handlers share: the core's runtime plus the adapter's own long-lived parts."""

from __future__ import annotations

from dataclasses import dataclass

from adapters.discord_bot.pacing import Pacers
from adapters.discord_bot.queueing import Intake
from adapters.discord_bot.reactions import Revealer
from bot.chat_flow import TaskKeeper
from bot.demos import Demo
from bot.guard import Guard
from bot.limits import RateLimiter
from bot.runtime import Runtime


@dataclass(slots=True)
class BotContext:
    runtime: Runtime
    limiter: RateLimiter
    keeper: TaskKeeper  # every running comparison: held, and cancelled on close
    pacers: Pacers  # one per channel or thread: sends and edits share Discord's budget
    revealer: Revealer
    guard: Guard  # the safety gate's judge, for channels whose mode is not off
    demos: dict[str, Demo]  # empty when prompts/demos.toml is missing or broken
    intake: Intake  # closed on shutdown: new commands get a polite "restarting"
