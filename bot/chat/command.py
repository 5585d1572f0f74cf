"""What a platform hands the core for one `/compare`, and the parent message's state.

Both are neutral: ids are opaque strings, and nothing here says how a platform shows them.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from bot.domain import CompareRequest, Requester, SafetyMode, SafetyNote
from bot.engine.demos import Demo
from bot.engine.inline_options import CompareArgs
from bot.engine.lens_record import LensKind
from bot.errors import InputError

CHAT_SAMPLES = 10  # generations per twin when `samples` is asked for without a count
MAX_CHAT_SAMPLES = 20  # per twin: each is a whole answer, run inside the comparison's place
# LensKind lives with the views it names (bot/engine/lens_record.py); the chat takes it here.
__all__ = [
    "CHAT_SAMPLES", "MAX_CHAT_SAMPLES", "ChatCommand", "LensAsk", "LensKind", "Parent", "lens_ask",
]  # fmt: skip


@dataclass(frozen=True, slots=True)
class LensAsk:
    kind: LensKind = LensKind.ODDS
    samples: int = CHAT_SAMPLES  # generations per twin, for SAMPLES


def lens_ask(kind: str | None, samples: int | None = None) -> LensAsk:
    """The view a platform's words name: `odds` (the default), `shift` or `samples`; a count
    alone means samples. InputError (a short sentence for the user) for anything else."""
    if kind is None and samples is None:
        return LensAsk()
    try:
        chosen = LensKind((kind or LensKind.SAMPLES.value).strip().lower())
    except ValueError:
        names = ", ".join(k.value for k in LensKind)
        raise InputError(f"The lens shows one of: {names} (not `{kind}`).") from None
    if samples is not None and chosen is not LensKind.SAMPLES:
        raise InputError("A sample count goes with the `samples` lens only.")
    count = CHAT_SAMPLES if samples is None else samples
    if not 2 <= count <= MAX_CHAT_SAMPLES:
        raise InputError(f"The lens runs between 2 and {MAX_CHAT_SAMPLES} samples a twin.")
    return LensAsk(chosen, count)


@dataclass(frozen=True, slots=True)
class ChatCommand:
    """A parsed `/compare`: who asked where, with what. The adapter fills it in; the core
    decides everything else (admission, blinding, queueing, the gate, votes)."""

    requester: Requester
    args: CompareArgs
    blind: bool | None = None  # asked for (True), opted out (False), or the channel's default
    demo: str | None = None  # a demo's name: it brings its own prompt and settings
    exempt: bool = False  # an admin, as the platform decides: no rate limit, no queue refusal
    # The channel and, for a thread, the channel above it: a setting naming a channel covers
    # its threads too. The first is where the command was typed.
    places: tuple[str, ...] = ()
    nsfw: bool = False  # the channel is marked age-restricted (its own safety default)
    in_server: bool = True  # False for a direct message: twinbot runs in servers only
    lens: LensAsk | None = None  # a lens view after the outputs (bot/chat/lens_step.py)

    @property
    def home(self) -> str:
        """The channel whose settings apply (a thread's parent channel)."""
        return self.places[-1] if self.places else (self.requester.channel_id or "")

    def context(self) -> str:
        """Who, where and what, for the operator's log."""
        who = self.requester
        return (
            f"/compare platform={who.platform} user={who.user_id} "
            f"channel={who.channel_id} workspace={who.workspace_id}"
        )


@dataclass(frozen=True, slots=True)
class Parent:
    """The parent message of one comparison: what never changes, then what does."""

    request: CompareRequest
    demo: Demo | None = None  # the demo it runs: its title and one-line story
    mode: SafetyMode = SafetyMode.OFF
    queued: bool = False  # waits for a free place
    ahead: int | None = None  # comparisons served first; None until the queue says
    prompt: SafetyNote | None = None  # the guard's verdict on the prompt
    outcome: str | None = None  # a last line when the comparison did not run
    notice: str | None = None  # something the requester should know (e.g. not saved)

    def waiting(self, ahead: int) -> Parent:
        return dataclasses.replace(self, queued=True, ahead=ahead)

    def started(self) -> Parent:
        return dataclasses.replace(self, queued=False, ahead=None)

    def ended(self, line: str) -> Parent:
        return dataclasses.replace(self, queued=False, ahead=None, outcome=line)
