"""The safety gate: a CompareView wrapper that lets only judged text through.

In `spoiler` and `withhold` modes the guard runs ahead of what is shown: each side's text is
judged on growing chunks, and the wrapped view sees only the prefix already judged safe, so
no unsafe text is ever visible, not even mid-stream. Once a side is judged unsafe (or the
guard fails: closed), `withhold` passes no text at all and `spoiler` passes it marked as
concealed for the platform to hide. `label` shows everything and adds the verdict.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from dataclasses import dataclass, field

from bot.domain import (
    CompareSnapshot,
    Role,
    SafetyMode,
    SafetyNote,
    SafetyStatus,
    SideSnapshot,
)
from bot.engine.compare import CompareView
from bot.errors import TwinbotError
from bot.safety.guard import Guard, Verdict

log = logging.getLogger(__name__)

DEFAULT_CHUNK_CHARS = 240


@dataclass(slots=True)
class _SideGate:
    cleared: int = 0  # characters judged safe, from the start
    verdict: Verdict | None = None  # set once unsafe: the side stays unsafe
    failure: str | None = None
    checking: asyncio.Task[None] | None = None
    # For the lag figure: when each text length was first seen, until it is cleared.
    seen_at: dict[int, float] = field(default_factory=dict)
    lags: list[float] = field(default_factory=list)


class GatedView:
    def __init__(
        self,
        inner: CompareView,
        guard: Guard,
        mode: SafetyMode,
        chunk_chars: int = DEFAULT_CHUNK_CHARS,
    ) -> None:
        if mode is SafetyMode.OFF:
            raise ValueError("mode off needs no gate")
        self._inner = inner
        self._guard = guard
        self.mode = mode
        self._chunk = chunk_chars
        self._sides = {role: _SideGate() for role in Role}
        self._prompt_note: SafetyNote = SafetyNote(mode, SafetyStatus.PENDING)
        self._prompt_task: asyncio.Task[None] | None = None

    @property
    def update_interval(self) -> float:
        return self._inner.update_interval

    @property
    def lags(self) -> list[float]:
        """Per check: seconds from the oldest text it cleared being generated to its clearing."""
        return [lag for gate in self._sides.values() for lag in gate.lags]

    async def start(self, snapshot: CompareSnapshot) -> None:
        self._prompt_task = asyncio.create_task(self._judge_prompt(snapshot.request.prompt))
        await self._inner.start(self._shown(snapshot))

    async def update(self, snapshot: CompareSnapshot) -> None:
        for side in snapshot.sides:
            self._maybe_check(snapshot.request.prompt, side)
        await self._inner.update(self._shown(snapshot))

    async def finish(self, snapshot: CompareSnapshot) -> None:
        # Judge whatever is left of each side before anything final is shown.
        for side in snapshot.sides:
            gate = self._sides[side.role]
            if gate.checking is not None:
                await asyncio.gather(gate.checking, return_exceptions=True)
            if gate.verdict is None and gate.failure is None and gate.cleared < len(side.text):
                await self._check(snapshot.request.prompt, side.role, side.text)
        if self._prompt_task is not None:
            await asyncio.gather(self._prompt_task, return_exceptions=True)
        await self._inner.finish(self._shown(snapshot))

    def _maybe_check(self, prompt: str, side: SideSnapshot) -> None:
        gate = self._sides[side.role]
        loop = asyncio.get_running_loop()
        gate.seen_at.setdefault(len(side.text), loop.time())
        if gate.verdict or gate.failure or (gate.checking and not gate.checking.done()):
            return
        grown = len(side.text) - gate.cleared
        if grown >= self._chunk or (side.finished and grown > 0):
            gate.checking = asyncio.create_task(self._check(prompt, side.role, side.text))

    async def _check(self, prompt: str, role: Role, text: str) -> None:
        gate = self._sides[role]
        try:
            verdict = await self._guard.judge(prompt, text)
        except TwinbotError as exc:
            gate.failure = str(exc)
            log.warning("safety check of the %s side failed; gate closed: %s", role, exc)
            return
        if verdict.safe:
            # The oldest text this check cleared waited longest: from when it was first seen.
            waiting = [t for n, t in gate.seen_at.items() if gate.cleared < n <= len(text)]
            if waiting:
                gate.lags.append(asyncio.get_running_loop().time() - min(waiting))
            gate.cleared = max(gate.cleared, len(text))
            gate.seen_at = {n: t for n, t in gate.seen_at.items() if n > gate.cleared}
        else:
            gate.verdict = verdict
            log.info("the %s side was judged unsafe: %s", role, verdict.describe())

    async def _judge_prompt(self, prompt: str) -> None:
        try:
            verdict = await self._guard.judge(prompt)
        except TwinbotError as exc:
            self._prompt_note = SafetyNote(self.mode, SafetyStatus.UNAVAILABLE, detail=str(exc))
            return
        if verdict.safe:
            self._prompt_note = SafetyNote(self.mode, SafetyStatus.CLEAR)
        else:
            self._prompt_note = SafetyNote(self.mode, SafetyStatus.UNSAFE, verdict.describe())

    def _note(self, side: SideSnapshot) -> SafetyNote:
        gate = self._sides[side.role]
        if gate.verdict is not None:
            return SafetyNote(self.mode, SafetyStatus.UNSAFE, gate.verdict.describe())
        if gate.failure is not None:
            return SafetyNote(self.mode, SafetyStatus.UNAVAILABLE, detail=gate.failure)
        done = side.finished and gate.cleared >= len(side.text)
        return SafetyNote(self.mode, SafetyStatus.CLEAR if done else SafetyStatus.PENDING)

    def _shown_side(self, side: SideSnapshot) -> SideSnapshot:
        note = self._note(side)
        text = side.text
        if self.mode is not SafetyMode.LABEL:
            if note.concealed:
                # withhold: the text never leaves the core; spoiler: the platform hides it.
                text = "" if self.mode is SafetyMode.WITHHOLD else text
            else:
                text = text[: self._sides[side.role].cleared]
        return dataclasses.replace(side, text=text, safety=note)

    def _shown(self, snapshot: CompareSnapshot) -> CompareSnapshot:
        return dataclasses.replace(
            snapshot,
            base=self._shown_side(snapshot.base),
            instruct=self._shown_side(snapshot.instruct),
            prompt_safety=self._prompt_note,
        )
