"""Whether a `/compare` runs: every check, once, cheapest first, before any acknowledgement.

Order matters: a typo, a channel outside the allowlist or a full queue never costs a
rate-limit token, and once a command is admitted its place in the queue is already taken,
so it is never refused after the platform showed it. Nothing here waits on I/O.
"""

from __future__ import annotations

import dataclasses
import logging
import random
from collections.abc import Collection
from dataclasses import dataclass

from bot.chat.command import ChatCommand
from bot.chat.keeper import Intake
from bot.chat.limits import RateLimiter, refusal_message
from bot.chat.queue import FairQueue, Place, PositionCallback
from bot.config import Settings
from bot.domain import CompareRequest, Requester, Role
from bot.engine.catalog import Catalog
from bot.engine.demos import Demo, find_demo
from bot.engine.inline_options import CompareArgs
from bot.engine.requests import build_request
from bot.errors import InputError, PromptsError

log = logging.getLogger(__name__)

CHANNEL_NOT_ALLOWED = (
    "twinbot does not run comparisons in this channel. "
    "Ask whoever runs it to allow this channel, or use one where it is enabled."
)
SERVERS_ONLY = "twinbot runs comparisons in server channels only, not in direct messages."
RESTARTING = "twinbot is restarting and takes no new comparisons right now. Try again in a minute."
NEEDS_PROMPT = "Give a `prompt`, or choose a `demo` (one of the classic experiments)."
PROMPT_AND_DEMO = "Choose a `prompt` or a `demo`, not both: a demo brings its own prompt."


@dataclass(frozen=True, slots=True)
class Refusal:
    """Why a command was not run: `message` for the user, `reason` for the operator's log."""

    reason: str  # "bad_input", "channel", "rate_limited", "queue_full", "restarting", ...
    message: str


@dataclass(frozen=True, slots=True)
class Admitted:
    request: CompareRequest
    place: Place  # taken already: waiting or running
    demo: Demo | None = None


def channel_allowed(places: Collection[str], allowed: Collection[str]) -> bool:
    """An empty allowlist allows every channel; a thread counts as its channel."""
    return not allowed or any(place in allowed for place in places)


def limiter_keys(requester: Requester) -> tuple[str, str, str]:
    """Rate-limit keys (user, channel, workspace): ids are only unique within a platform (and a
    Slack workspace). The user key also names the user's place in the fair queue."""
    scope = f"{requester.platform}:{requester.workspace_id or '-'}"
    return f"{scope}:{requester.user_id}", f"{scope}:{requester.channel_id or '-'}", scope


def with_demo(
    demos: dict[str, Demo] | PromptsError, settings: Settings, command: ChatCommand
) -> tuple[CompareArgs, Demo | None] | Refusal:
    """The arguments to run: the user's, or a demo's with the user's own options on top
    (its max tokens clamped to what this server allows)."""
    args = command.args
    if command.demo is None:
        return (args, None) if args.prompt else Refusal("bad_input", NEEDS_PROMPT)
    if args.prompt:
        return Refusal("bad_input", PROMPT_AND_DEMO)
    if isinstance(demos, PromptsError):
        return Refusal("bad_input", f"The demos are not available: {demos}")
    try:
        demo = find_demo(demos, command.demo)
    except PromptsError as exc:
        return Refusal("bad_input", str(exc))
    merged = CompareArgs(
        prompt=demo.prompt,
        pair=args.pair,
        framing=args.framing or demo.framing,
        max_tokens=args.max_tokens or min(demo.max_tokens, settings.max_tokens_limit),
        temperature=demo.temperature if args.temperature is None else args.temperature,
        seed=args.seed,
    )
    return merged, demo


def blind_wanted(settings: Settings, command: ChatCommand) -> bool:
    """Asked for or opted out of; else the server's default or the channel's."""
    if command.blind is not None:
        return command.blind
    return settings.blind_default or bool(set(command.places) & set(settings.blind_channels))


def blinded(request: CompareRequest, blind: bool) -> CompareRequest:
    """Chatbot Arena's way: which side is A is a coin toss, stored with the comparison."""
    if not blind:
        return request
    return dataclasses.replace(request, blind=True, shown_first=random.choice(list(Role)))


class Admission:
    def __init__(
        self,
        settings: Settings,
        catalog: Catalog,
        limiter: RateLimiter,
        queue: FairQueue,
        intake: Intake,
        demos: dict[str, Demo] | PromptsError,
        allowed_channels: Collection[str],
    ) -> None:
        self._settings = settings
        self._catalog = catalog
        self._limiter = limiter
        self._queue = queue
        self._intake = intake
        self._demos = demos
        self._allowed = allowed_channels

    def admit(self, command: ChatCommand, on_position: PositionCallback) -> Admitted | Refusal:
        if not self._intake.open:
            return Refusal("restarting", RESTARTING)
        if not command.in_server:
            return Refusal("direct_message", SERVERS_ONLY)
        if not channel_allowed(command.places, self._allowed):
            return Refusal("channel", CHANNEL_NOT_ALLOWED)
        prepared = with_demo(self._demos, self._settings, command)
        if isinstance(prepared, Refusal):
            return prepared
        args, demo = prepared
        try:
            request = build_request(
                self._settings, self._catalog, command.requester, args.prompt,
                **args.request_options(),
            )  # fmt: skip
        except InputError as exc:
            return Refusal("bad_input", str(exc))
        # Before the rate limit: a comparison that cannot run must not cost a token.
        full = None if command.exempt else self._queue.refusal()
        if full is not None:
            return Refusal("queue_full", str(full))
        keys = limiter_keys(command.requester)
        decision = self._limiter.check(*keys, exempt=command.exempt)
        if not decision.allowed:
            return Refusal("rate_limited", refusal_message(decision))
        # Cannot refuse now: `refusal()` said there is room, and nothing ran in between. The
        # user's rate-limit key is the fair queue's idea of one user.
        place = self._queue.reserve(keys[0], on_position, exempt=command.exempt)
        request = blinded(request, blind_wanted(self._settings, command))
        return Admitted(request, place, demo)
