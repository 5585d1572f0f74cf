"""What the Discord handlers share: the core's runtime and chat service, and Discord's pacers."""

from __future__ import annotations

from dataclasses import dataclass

from adapters.discord_bot.pacing import Pacers
from bot.chat.service import ChatService
from bot.runtime import Runtime


@dataclass(slots=True)
class BotContext:
    runtime: Runtime
    pacers: Pacers  # one per channel or thread: sends and edits share Discord's budget
    chat: ChatService  # /compare and the votes, run by the core
