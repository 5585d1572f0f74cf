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
    chat: ChatService | None = None  # set once the client exists (it announces reveals)

    @property
    def service(self) -> ChatService:
        assert self.chat is not None, "the chat service is made with the client"
        return self.chat
