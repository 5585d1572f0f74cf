"""The core's vocabulary: what a comparison asks for and what each side produced."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any


class Role(enum.StrEnum):
    BASE = "base"
    INSTRUCT = "instruct"


class BackendKind(enum.StrEnum):
    """Which protocol a pair's server speaks."""

    OLLAMA = "ollama"
    OPENAI = "openai"  # any OpenAI-compatible server: vLLM, SGLang, llama.cpp, LiteLLM


class SideStatus(enum.StrEnum):
    WAITING = "waiting"
    STREAMING = "streaming"
    DONE = "done"
    FAILED = "failed"
    CANCELLED = "cancelled"


class SafetyMode(enum.StrEnum):
    """What a channel does with output the guard model calls unsafe."""

    OFF = "off"  # no checks
    LABEL = "label"  # show it, with a content warning naming the categories
    SPOILER = "spoiler"  # show it hidden behind a spoiler (Discord) or a reveal button (Slack)
    WITHHOLD = "withhold"  # replace it by a one-line notice


class SafetyStatus(enum.StrEnum):
    PENDING = "pending"  # not judged yet (or only a prefix so far)
    CLEAR = "clear"
    UNSAFE = "unsafe"
    UNAVAILABLE = "unavailable"  # the guard failed: spoiler and withhold fail closed


@dataclass(frozen=True, slots=True)
class SafetyNote:
    mode: SafetyMode
    status: SafetyStatus
    categories: str = ""  # in words, e.g. "violent crimes, hate"
    detail: str = ""  # why the guard was unavailable

    @property
    def concealed(self) -> bool:
        """True when the text must not be shown plainly (spoiler it, or withhold it)."""
        hiding = self.mode in (SafetyMode.SPOILER, SafetyMode.WITHHOLD)
        return hiding and self.status in (SafetyStatus.UNSAFE, SafetyStatus.UNAVAILABLE)


@dataclass(frozen=True, slots=True)
class ModelPair:
    """A base tag and an instruct tag from the same pre-trained checkpoint."""

    name: str
    base: str
    instruct: str
    description: str = ""
    # Sent on the instruct side only: instruct siblings that think must be told not to.
    instruct_think: bool | None = False
    backend: BackendKind = BackendKind.OLLAMA
    # OpenAI-compatible pairs only: each side's base URL (ending in /v1; one engine process
    # often serves one model) and the name of the environment variable holding the API key.
    base_endpoint: str | None = None
    instruct_endpoint: str | None = None
    api_key_env: str | None = None
    # Ollama's `num_thread` for both sides of this pair (None: TWINBOT_NUM_THREAD, or Ollama's).
    num_thread: int | None = None

    def tag(self, role: Role) -> str:
        return self.base if role is Role.BASE else self.instruct

    def endpoint(self, role: Role) -> str | None:
        return self.base_endpoint if role is Role.BASE else self.instruct_endpoint


@dataclass(frozen=True, slots=True)
class Framing:
    """How the user's prompt is turned into the text a base model continues."""

    name: str
    template: str
    stop: tuple[str, ...]
    description: str = ""

    def frame(self, prompt: str) -> str:
        # str.replace rather than str.format: prompts may contain braces.
        return self.template.replace("{prompt}", prompt)


@dataclass(frozen=True, slots=True)
class GenerationOptions:
    max_tokens: int
    temperature: float
    seed: int | None = None
    # CPU threads per side on Ollama. Two runners with Ollama's default (every core) on the
    # same CPU spin against each other; about cores/2 each keeps both at full speed.
    num_thread: int | None = None

    def to_ollama(self, stop: tuple[str, ...]) -> dict[str, Any]:
        options: dict[str, Any] = {"num_predict": self.max_tokens, "temperature": self.temperature}
        if self.seed is not None:
            options["seed"] = self.seed
        if self.num_thread is not None:
            options["num_thread"] = self.num_thread
        if stop:
            options["stop"] = list(stop)
        return options

    def to_openai(self, stop: tuple[str, ...]) -> dict[str, Any]:
        """The same options in the OpenAI API's request fields."""
        options: dict[str, Any] = {"max_tokens": self.max_tokens, "temperature": self.temperature}
        if self.seed is not None:
            options["seed"] = self.seed
        if stop:
            options["stop"] = list(stop)
        return options

    def as_dict(self) -> dict[str, Any]:
        return {"max_tokens": self.max_tokens, "temperature": self.temperature, "seed": self.seed}


@dataclass(frozen=True, slots=True)
class Requester:
    """Who asked, and where: platform ids stay opaque strings to the core."""

    platform: str
    user_id: str
    user_name: str = ""
    workspace_id: str | None = None
    channel_id: str | None = None


@dataclass(frozen=True, slots=True)
class CompareRequest:
    prompt: str
    pair: ModelPair
    framing: Framing
    options: GenerationOptions
    requester: Requester
    # Blind mode shows the sides as A and B; `shown_first` is the role shown as A.
    blind: bool = False
    shown_first: Role = Role.BASE

    @property
    def framed_prompt(self) -> str:
        return self.framing.frame(self.prompt)


@dataclass(frozen=True, slots=True)
class SideStats:
    """Figures from Ollama's own final chunk, plus the time to first token we measured."""

    done_reason: str | None = None
    eval_count: int | None = None
    eval_duration_ns: int | None = None
    prompt_eval_count: int | None = None
    total_duration_ns: int | None = None
    load_duration_ns: int | None = None
    first_token_s: float | None = None
    wall_s: float | None = None
    unshown_chars: int = 0  # lone surrogates from the server, shown as U+FFFD (line_safe.py)

    @property
    def tokens_per_s(self) -> float | None:
        if not self.eval_count or not self.eval_duration_ns:
            return None
        return self.eval_count / (self.eval_duration_ns / 1e9)


@dataclass(slots=True)
class SideState:
    """One side of a comparison as it stands right now; the renderer reads it."""

    role: Role
    model: str
    text: str = ""
    status: SideStatus = SideStatus.WAITING
    stats: SideStats = field(default_factory=SideStats)
    error_kind: str | None = None
    error: str | None = None

    @property
    def finished(self) -> bool:
        return self.status in (SideStatus.DONE, SideStatus.FAILED, SideStatus.CANCELLED)


@dataclass(frozen=True, slots=True)
class SideSnapshot:
    role: Role
    model: str
    text: str
    status: SideStatus
    stats: SideStats
    error_kind: str | None
    error: str | None
    safety: SafetyNote | None = None  # set by the safety gate when the channel has one

    @property
    def finished(self) -> bool:
        return self.status in (SideStatus.DONE, SideStatus.FAILED, SideStatus.CANCELLED)


@dataclass(frozen=True, slots=True)
class CompareSnapshot:
    """Both sides at one instant: what a view draws. Frozen, so a slow view never sees it move."""

    comparison_id: int
    request: CompareRequest
    base: SideSnapshot
    instruct: SideSnapshot
    prompt_safety: SafetyNote | None = None
    # Something the user should know that belongs to neither side (e.g. it was not saved).
    notice: str | None = None

    @property
    def sides(self) -> tuple[SideSnapshot, SideSnapshot]:
        return (self.base, self.instruct)

    @property
    def finished(self) -> bool:
        return self.base.finished and self.instruct.finished


def snapshot_of(state: SideState) -> SideSnapshot:
    return SideSnapshot(
        role=state.role,
        model=state.model,
        text=state.text,
        status=state.status,
        stats=state.stats,
        error_kind=state.error_kind,
        error=state.error,
    )
