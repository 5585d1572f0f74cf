"""What the Discord handlers share: the core's runtime plus the adapter's own long-lived parts."""

from __future__ import annotations

from dataclasses import dataclass

from adapters.discord_bot.pacing import Pacers
from adapters.discord_bot.reactions import Revealer
from bot.chat_flow import TaskKeeper
from bot.limits import RateLimiter
from bot.runtime import Runtime


@dataclass(slots=True)
class BotContext:
    runtime: Runtime
    limiter: RateLimiter
    keeper: TaskKeeper  # every running comparison: held, and cancelled on close
    pacers: Pacers  # one per channel or thread: sends and edits share Discord's budget
    revealer: Revealer
