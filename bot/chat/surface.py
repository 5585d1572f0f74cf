"""What the core asks of a platform: the surfaces one comparison is shown on.

An adapter implements these in its platform's terms (messages, threads, ephemeral replies,
reactions, budgets). It decides how things look and where they go; the core decides what
happens and when.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from bot.chat.command import Parent
from bot.domain import Role
from bot.engine.compare import CompareView
from bot.votes.mapping import other


class NotDelivered(Exception):
    """A surface could not get its latest text onto the platform for a transient reason
    (5xx, 429, a timeout): the core tries again with backoff."""


class ShowFailed(Exception):
    """The surface could not show the comparison at all and has told the requester why
    (for example twinbot is not a member of the channel); nothing more to say."""


@dataclass(frozen=True, slots=True)
class LensShown:
    """What the lens puts in a comparison's thread: a headline, the bars as monospace text
    (beside the picture, or instead of it where a platform cannot take one), and the picture.
    A note (the lens could not run) is a headline alone. All plain text: each platform
    escapes it for itself."""

    headline: str
    table: str = ""
    png: bytes | None = None
    alt: str = ""  # the picture in one line, for screen readers
    filename: str = "twinbot-lens.png"


class MessageBook(Protocol):
    """Where a view reports what it posted, so reactions map back to the comparison.
    The core stores it; a failure to store never stops the view."""

    async def message(
        self, channel_id: str, message_id: str, role: Role | None, part: int, kind: str
    ) -> None: ...

    async def thread(self, thread_id: str) -> None: ...


class ChatSurface(Protocol):
    """One `/compare` on one platform."""

    async def refuse(self, message: str) -> None:
        """Tell only the requester why nothing runs; before the acknowledgement, this is it.
        Never raises (a failure is logged)."""
        ...

    async def acknowledge(self, parent: Parent) -> None:
        """Answer the platform in time, showing `parent` where the platform shows it at once.
        Raises if the platform refused: then nothing more happens."""
        ...

    def show_parent(self, parent: Parent) -> None:
        """The parent changed (place in the queue, the prompt's verdict, an outcome): show the
        latest when the platform allows. Never blocks, never raises."""
        ...

    def output_view(self, parent: Parent, book: MessageBook) -> CompareView:
        """The view drawing both outputs (in a thread). Its `finish` raises `NotDelivered` when
        the final text did not land for a transient reason; the core calls it again."""
        ...

    async def seed_votes(self) -> None:
        """Add the vote choices as twinbot's own reactions where people vote."""
        ...

    async def tell(self, message: str) -> None:
        """A private line to the requester. Never raises."""
        ...

    async def show_lens(self, shown: LensShown) -> None:
        """Post the lens into the comparison's thread, after its outputs: the picture with its
        headline, else the headline and the table as text. Never raises (a failure is logged)."""
        ...

    async def settle(self, within: float) -> None:
        """Until what was shown is on the platform, at most `within` seconds. Never raises."""
        ...


@dataclass(frozen=True, slots=True)
class Reveal:
    """A blind comparison's names, once revealed: where to say it, and which was which."""

    channel_id: str | None
    thread_id: str | None
    shown_first: Role
    base_model: str
    instruct_model: str
    why: str

    def in_shown_order(self) -> tuple[tuple[Role, str], tuple[Role, str]]:
        """(role, model tag) of the side shown as A, then of B."""
        tags = {Role.BASE: self.base_model, Role.INSTRUCT: self.instruct_model}
        second = other(self.shown_first)
        return (self.shown_first, tags[self.shown_first]), (second, tags[second])


class RevealAnnouncer(Protocol):
    """Says in a comparison's thread which model was which, once it is revealed."""

    async def announce_reveal(self, reveal: Reveal) -> None: ...
